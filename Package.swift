// swift-tools-version:6.1
// Chorus: a multimodal embedding daemon. Module map and data flow: README.md ("Architecture").
import PackageDescription

let package = Package(
  name: "Chorus",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "chorusd", targets: ["chorusd"]),
    .executable(name: "chorus", targets: ["chorus"]),
  ],
  dependencies: [
    .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
    .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    .package(url: "https://github.com/LebJe/TOMLKit.git", exact: "0.6.0"),
    .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
    .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
    .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
    .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
  ],
  targets: [
    // Generated from Protos/ by scripts/generate-protos; nothing hand-written.
    .target(
      name: "ChorusAPI",
      dependencies: [
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ]
    ),
    // Facts of an installation shared by daemon and client: version, default socket and data paths.
    .target(name: "ChorusEnvironment"),
    // OpenBLAS's CBLAS (Debian libopenblas-dev).
    .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
    // OpenSSL's libcrypto (Debian libssl-dev).
    .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
    // libjpeg-turbo's TurboJPEG API (Debian libturbojpeg0-dev).
    .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG"),
    // libpng (Debian libpng-dev) behind a small C reader: libpng reports errors by longjmp, which Swift cannot catch.
    .target(name: "CPNG", path: "Sources/CPNG", linkerSettings: [.linkedLibrary("png16")]),
    // libsndfile (Debian libsndfile1-dev) reading from memory through a small C reader (its virtual I/O callbacks).
    .target(name: "CAudio", path: "Sources/CAudio", linkerSettings: [.linkedLibrary("sndfile")]),
    // libsoxr (Debian libsoxr-dev) and FFTW single precision (Debian libfftw3-dev).
    .systemLibrary(name: "CSoxr", path: "Sources/CSoxr"),
    .systemLibrary(name: "CFFTW", path: "Sources/CFFTW"),
    // Bytes to pixels and samples: JPEG/PNG decoding, reference-exact resizing, cropping and normalisation; audio
    // decoding, resampling and the mel front ends.
    .target(name: "Media", dependencies: ["CTurboJPEG", "CPNG", "CKernels", "CAudio", "CSoxr", "CFFTW", "CBLAS"]),
    // The modality of a file told from its bytes (shared by the CLI and the daemon).
    .target(name: "ContentSniffing"),
    // SHA-256: model fingerprints, content hashes, cache keys.
    .target(name: "Hashing", dependencies: ["CCrypto"]),
    // Elementwise kernels in C, compiled for AVX-512, AVX2 and baseline x86-64 and chosen at load time.
    .target(name: "CKernels", path: "Sources/CKernels", cSettings: [.unsafeFlags(["-O3"])]),
    // oneDNN (Debian libdnnl-dev) behind a small C API: linear layers with weights packed once, fp32 or bf16.
    // Measured beside OpenBLAS by `chorus-bench gemm`; the faster-inference issue decides where it serves.
    .target(name: "CMatmul", path: "Sources/CMatmul", cSettings: [.unsafeFlags(["-O3"])], linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]),
    // Float32 tensors and the kernels transformers need; GEMM through BLAS.
    .target(name: "Tensor", dependencies: ["CBLAS", "CKernels", "CMatmul"]),
    // Tokenizers driven by a model directory's tokenizer files.
    .target(name: "Tokenizers"),
    // Checkpoint formats and one file per architecture.
    .target(name: "Encoders", dependencies: ["Tensor", "Tokenizers", "Hashing"]),
    // hnswlib (Debian libhnswlib-dev, header-only C++) behind a small C API; distances from CKernels.
    .target(name: "CHNSW", dependencies: ["CKernels"], path: "Sources/CHNSW", cxxSettings: [.unsafeFlags(["-O3"])]),
    // The persistent vector cache and collections behind one protocol, two backends: embedded (SQLite through GRDB,
    // exact and HNSW indexes in memory) and PostgreSQL with pgvector (postgres-nio's pooled client).
    .target(
      name: "Store",
      dependencies: [
        "CBLAS", "CHNSW", "Hashing", "Tensor", .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ]),
    // Spaces and the embed pipeline (encoders arrive with the engine issue).
    .target(
      name: "Engine",
      dependencies: ["ContentSniffing", "Encoders", "Hashing", "Media", "Store", "Tensor", "Tokenizers", .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
      ]
    ),
    // The service layer (validation, API <-> engine/store mapping, status codes, metrics) and its two front ends:
    // gRPC (the generated service protocols, interceptors) and HTTP (Server/HTTP: Hummingbird routes).
    .target(
      name: "Server",
      dependencies: [
        "ChorusAPI", "Engine", "Store", "ChorusEnvironment",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "NIOCore", package: "swift-nio"),
      ]
    ),
    // The daemon as a library: settings, config file, listening socket, systemd integration, lifecycle.
    .target(
      name: "Daemon",
      dependencies: [
        "Server", "Engine", "Store", "Tensor", "ChorusEnvironment",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "TOMLKit", package: "TOMLKit"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP2", package: "swift-nio-http2"),
        .product(name: "NIOHPACK", package: "swift-nio-http2"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "NIOExtras", package: "swift-nio-extras"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "CoreMetrics", package: "swift-metrics"),
      ]
    ),
    .executableTarget(
      name: "chorusd",
      dependencies: ["Daemon", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]),
    .executableTarget(
      name: "chorus",
      dependencies: [
        "ChorusAPI", "ChorusEnvironment", "ContentSniffing", "Hashing",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    // Benchmarks beside the reference implementation: swift run -c release chorus-bench text
    .executableTarget(
      name: "chorus-bench",
      dependencies: [
        "CBLAS", "CMatmul", "Encoders", "Engine", "Media", "Store", "Tensor", "Tokenizers", "ChorusAPI",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      ],
      path: "Benchmarks/chorus-bench"),
    .testTarget(name: "DaemonTests", dependencies: ["Daemon"]),
    .testTarget(name: "TensorTests", dependencies: ["Tensor", "CMatmul"]),
    .testTarget(name: "ServerTests", dependencies: ["Server", "Engine"]),
    .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"], exclude: ["Fixtures"]),
    // Full-size synthetic checkpoints written by the tests from committed manifests (bit-equal to numpy's values:
    // no fused multiply-add).
    .target(name: "CSyntheticWeights", path: "Tests/Support/CSyntheticWeights", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]),
    .target(name: "SyntheticCheckpoints", dependencies: ["CSyntheticWeights"], path: "Tests/Support/SyntheticCheckpoints"),
    .testTarget(name: "EncodersTests", dependencies: ["Encoders", "Media", "Tensor", "SyntheticCheckpoints"], exclude: ["Fixtures"]),
    .testTarget(name: "EngineTests", dependencies: ["Engine", "Encoders", "Store", "Tensor", "Tokenizers", "SyntheticCheckpoints"]),
    .testTarget(name: "StoreTests", dependencies: ["Store", .product(name: "Logging", package: "swift-log")]),
    .testTarget(name: "MediaTests", dependencies: ["Media"], exclude: ["Fixtures"]),
    .testTarget(
      name: "IntegrationTests",
      dependencies: [
        "ChorusAPI",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      ]
    ),
  ]
)
