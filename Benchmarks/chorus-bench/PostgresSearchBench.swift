import ChorusAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Store

/// `chorus-bench search --store postgresql://…`: the same vectors, queries and ground truth as the embedded store
/// and FAISS, through `PostgresCollectionStore` (what chorusd's `Search` runs with `--store`): load time through
/// the store's upserts (PostgreSQL keeps the HNSW index as rows arrive), recall@10 and p50/p99 per
/// `hnsw.ef_search`; then upsert throughput from one and from two daemons sharing the database.
enum PostgresSearchBench {
  static func measure(url: String, base: [Float], queries: [Float], truth: [Int], efs: [Int], dimension: Int) async throws {
    var logger = Logger(label: "chorus-bench")
    logger.logLevel = .warning
    let location = try PostgresLocation(url: url)
    let database = try await PostgresDatabase(
      location: location, password: try location.password(passwordFile: nil, environment: ProcessInfo.processInfo.environment), logger: logger)
    defer { database.close() }
    // The configured ef is a floor under every search (as in the embedded run); the sweep sets it. The threshold
    // is the daemon's default: a collection this size is searched through the index.
    let parameters = HNSWParameters(efSearch: 10)
    let store = try await PostgresCollectionStore(database: database, index: IndexSettings(hnsw: parameters))
    let name = "bench_search"
    _ = try? await store.delete(name)
    _ = try await store.create(name: name, space: "starter", dimension: dimension)
    let count = base.count / dimension
    let start = Date()
    for first in stride(from: 0, to: count, by: 1000) {
      let items = (first..<min(first + 1000, count)).map { i in
        StoredItem(id: "\(i)", modality: "text", vector: Array(base[i * dimension..<(i + 1) * dimension]), metadata: [:], source: "", contentHash: "")
      }
      try await store.upsert(name, items)
      if first % 100_000 == 0 && first > 0 {
        print(String(format: "    (postgresql: %d stored after %.0f s)", first, Date().timeIntervalSince(start)))
      }
    }
    let stored = Date().timeIntervalSince(start)
    print(String(format: "  postgresql (%@): stored through the store's upserts in %.1f s (committed, HNSW M %d, ef_construction %d kept by PostgreSQL as rows arrive)",
                 location.description, stored, parameters.m, parameters.efConstruction))
    let nQueries = queries.count / dimension
    for ef in efs {
      func search(_ q: Int) async throws -> [String] {
        try await store.search(name, query: SearchBench.query(queries, q), k: 10, filter: SearchFilter(), efSearch: ef).map(\.item.id)
      }
      for q in 0..<min(50, nQueries) { _ = try await search(q) }
      var latencies: [Double] = [], hits = 0
      for q in 0..<nQueries {
        let begin = DispatchTime.now().uptimeNanoseconds
        let found = try await search(q)
        latencies.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
        let expected = Set(truth[q * 10..<(q + 1) * 10])
        hits += found.filter { expected.contains(Int($0)!) }.count
      }
      latencies.sort()
      print(String(format: "    postgresql ef %4d: recall@10 %.3f, with items p50 %.3f ms, p99 %.3f ms", ef, Double(hits) / Double(10 * nQueries),
                   latencies[latencies.count / 2], latencies[Int(Double(latencies.count) * 0.99)]))
    }
    _ = try await store.delete(name)
  }

  /// Items/s of vector upserts (batches of 100) from `callers` callers per daemon, with one daemon and then two
  /// daemons on the same database writing into one collection at once.
  static func upsertThroughput(url: String, vectors: [Float], dimension: Int, seconds: Double, callers: Int = 4) async throws {
    let binDirectory = URL(fileURLWithPath: Bundle.main.executablePath!).deletingLastPathComponent().path
    let count = vectors.count / dimension
    for daemons in [1, 2] {
      let benches = try (0..<daemons).map { try BenchDaemon(name: "pg\($0)", binDirectory: binDirectory, extraArguments: ["--store", url, "--no-http"]) }
      defer { benches.forEach { $0.stop() } }
      let written = Shared(0)
      let collection = "bench_upsert_\(daemons)"
      try await withThrowingTaskGroup(of: Void.self) { group in
        for (index, bench) in benches.enumerated() {
          group.addTask {
            let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: bench.socket), transportSecurity: .plaintext)
            try await withGRPCClient(transport: transport) { client in
              try await bench.waitUntilServing(client)
              let collections = Chorus_V1_CollectionService.Client(wrapping: client)
              if index == 0 {
                _ = try? await collections.deleteCollection(.with { $0.name = collection })
                _ = try await collections.createCollection(.with { $0.name = collection })
              } else {
                while (try? await collections.getCollection(.with { $0.name = collection })) == nil { try await Task.sleep(for: .milliseconds(20)) }
              }
              let until = ContinuousClock.now + .seconds(seconds)
              try await withThrowingTaskGroup(of: Void.self) { callers_ in
                for caller in 0..<callers {
                  callers_.addTask {
                    var round = 0
                    while ContinuousClock.now < until {
                      let first = ((index * callers + caller) * 100_000 + round * 100) % max(1, count - 100)
                      _ = try await collections.upsert(.with {
                        $0.collection = collection
                        $0.items = (first..<first + 100).map { i in
                          .with {
                            $0.id = "d\(index)-c\(caller)-\(round)-\(i)"
                            $0.vector = .with { $0.values = Array(vectors[i * dimension..<(i + 1) * dimension]) }
                          }
                        }
                      })
                      written.withLock { $0 += 100 }
                      round += 1
                    }
                  }
                }
                try await callers_.waitForAll()
              }
            }
          }
        }
        try await group.waitForAll()
      }
      if let bench = benches.first {
        let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: bench.socket), transportSecurity: .plaintext)
        try await withGRPCClient(transport: transport) { client in
          _ = try await Chorus_V1_CollectionService.Client(wrapping: client).deleteCollection(.with { $0.name = collection })
        }
      }
      print(String(format: "  postgresql upserts, %d daemon(s) × %d callers, batches of 100 vectors: %.0f items/s", daemons, callers,
                   Double(written.withLock { $0 }) / seconds))
    }
  }
}
