import ChorusAPI
import GRPCCore
import XCTest

/// The public API through the real daemon, with the Swift client.
final class APITests: XCTestCase {
  var daemon: DaemonProcess!

  override func setUp() async throws {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("MediaTests/Fixtures").path
    daemon = DaemonProcess(arguments: ["--max-request-bytes", "65536", "--file-root", NSTemporaryDirectory(), "--file-root", fixtures])
    try await daemon.startServing()
  }

  override func tearDown() {
    daemon.stop()
  }

  func testHealthIsServingForServerAndEachService() async throws {
    try await daemon.withClient { client in
      let health = Grpc_Health_V1_Health.Client(wrapping: client)
      for service in ["", "chorus.v1.EmbeddingService", "chorus.v1.CollectionService", "chorus.v1.SystemService"] {
        let status = try await health.check(.with { $0.service = service }).status
        XCTAssertEqual(status, .serving, service)
      }
      do {
        _ = try await health.check(.with { $0.service = "no.such.Service" })
        XCTFail("unknown service must be NOT_FOUND")
      } catch let error as RPCError {
        XCTAssertEqual(error.code, .notFound)
      }
    }
  }

  func testInfoDescribesThisDaemon() async throws {
    let info = try await daemon.withClient { try await Chorus_V1_SystemService.Client(wrapping: $0).getInfo(.init()) }
    XCTAssertEqual(info.version, "0.1.0")
    XCTAssertEqual(info.socket, daemon.socketPath)
    XCTAssertEqual(info.dataDir, daemon.dataDirectory)
    XCTAssertEqual(info.pid, UInt32(daemon.process.processIdentifier))
    XCTAssertEqual(info.maxRequestBytes, 65536)
    XCTAssertGreaterThan(info.uptimeSeconds, 0)
    XCTAssertLessThan(info.uptimeSeconds, 120)
  }

  func testStarterSpaceIsServedByDefault() async throws {
    let spaces = try await daemon.withClient { try await Chorus_V1_EmbeddingService.Client(wrapping: $0).listSpaces(.init()) }
    XCTAssertEqual(spaces.defaultSpace, "starter")
    let starter = try XCTUnwrap(spaces.spaces.first { $0.name == "starter" })
    XCTAssertEqual(starter.dimension, 384)
    XCTAssertEqual(starter.encoders.map(\.modality), [.text, .image, .audio])
    XCTAssertEqual(starter.encoders[2].architecture, "whisper_encoder+projection")
    XCTAssertEqual(starter.encoders[2].modelID, "whisper-base-encoder")
    XCTAssertEqual(starter.encoders[0].architecture, "bert")
    XCTAssertEqual(starter.encoders[1].architecture, "efficientnet_lite+conse")
    XCTAssertEqual(starter.encoders[1].modelID, "efficientnet-lite0")
    XCTAssertEqual(starter.encoders[0].modelID, "all-MiniLM-L6-v2")
    XCTAssertEqual(starter.encoders[0].fingerprint.count, 64)
    XCTAssertEqual(starter.encoders[0].maxInput, 256)
  }

  /// The starter's audio (Whisper base + its trained head) lands near the text of what is said: espeak-ng speaks
  /// twelve held-out sentences, sent as server-side files, and each clip ranks the twelve texts.
  func testStarterPutsSpeechNearItsCaption() async throws {
    // Held-out everyday sentences (never used to train or choose the audio head), in espeak-ng's default voice.
    let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Models/eval/heldout_sentences.txt")
    let sentences = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map(String.init)
      .filter { !$0.isEmpty && !$0.hasPrefix("#") }.prefix(12)
    // Sent as server-side files: the clips together are over this daemon's 64 KiB request limit.
    var paths: [String] = []
    defer { for path in paths { try? FileManager.default.removeItem(atPath: path) } }
    for (index, sentence) in sentences.enumerated() {
      let path = NSTemporaryDirectory() + "speech-\(UUID().uuidString.prefix(6))-\(index).wav"
      let espeak = Process()
      espeak.executableURL = URL(fileURLWithPath: "/usr/bin/espeak-ng")
      espeak.arguments = ["-w", path, sentence]
      try espeak.run()
      espeak.waitUntilExit()
      paths.append(path)
    }
    let response = try await daemon.withClient { client in
      try await Chorus_V1_EmbeddingService.Client(wrapping: client).embed(.with {
        $0.inputs = paths.map { path in .with { $0.file = .with { $0.path = path } } } + sentences.map { text in .with { $0.text = text } }
      })
    }
    let vectors = response.results.map(\.embedding.vector)
    XCTAssertEqual(vectors.map(\.count), Array(repeating: 384, count: 24), "\(response.results.map(\.error.message))")
    // Each clip ranks the 12 sentences; its own one's rank (0 = first). Measured: mean 2.6, 6 of 12 in the top
    // three; chance: mean 5.5, 3 of 12.
    let ranks = (0..<12).map { clip in
      let scores = (0..<12).map { text in zip(vectors[clip], vectors[12 + text]).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
      return scores.filter { $0 > scores[clip] }.count
    }
    XCTAssertLessThan(Double(ranks.reduce(0, +)) / 12, 4, "ranks \(ranks)")
    XCTAssertGreaterThanOrEqual(ranks.filter { $0 < 3 }.count, 5, "ranks \(ranks)")
  }

  /// Through the socket, the starter's vectors equal sentence-transformers' (fixture from the reference).
  func testStarterEmbeddingsEqualReference() async throws {
    let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("EncodersTests/Fixtures/minilm.expected.json")
    let reference = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: fixture)) as? [String: Any])
    let texts = try XCTUnwrap(reference["texts"] as? [String])
    let expected = try XCTUnwrap(reference["vectors"] as? [[Double]])
    let response = try await daemon.withClient {
      try await Chorus_V1_EmbeddingService.Client(wrapping: $0).embed(.with { $0.inputs = texts.map { text in .with { $0.text = text } } })
    }
    XCTAssertEqual(response.space, "starter")
    XCTAssertEqual(response.dimension, 384)
    XCTAssertEqual(response.results.count, texts.count)
    for (index, (result, reference)) in zip(response.results, expected).enumerated() {
      let vector = result.embedding.vector
      XCTAssertEqual(vector.count, 384, "text \(index)")
      let difference = zip(vector, reference).map { abs(Double($0) - $1) }.max() ?? 1
      XCTAssertLessThanOrEqual(difference, 1e-4, "text \(index)")
    }
    XCTAssertTrue(response.results[47].embedding.truncated, "the 300-word text is cut to 256 tokens")
    XCTAssertFalse(response.results[0].embedding.truncated)
  }

  /// The second request for the same text is answered from the cache, and the counters say so.
  func testRepeatedTextIsServedFromTheCache() async throws {
    // The warm start has already put the starter's ConSE class prompts through the cache.
    let before = try await daemon.withClient { try await Chorus_V1_SystemService.Client(wrapping: $0).getCacheStats(.init()) }
    let request = Chorus_V1_EmbedRequest.with { $0.inputs = [.with { $0.text = "a cached sentence" }] }
    let first = try await daemon.withClient { try await Chorus_V1_EmbeddingService.Client(wrapping: $0).embed(request) }
    let second = try await daemon.withClient { try await Chorus_V1_EmbeddingService.Client(wrapping: $0).embed(request) }
    XCTAssertFalse(first.results[0].embedding.cached)
    XCTAssertTrue(second.results[0].embedding.cached)
    XCTAssertEqual(first.results[0].embedding.vector, second.results[0].embedding.vector)
    let bypass = try await daemon.withClient {
      try await Chorus_V1_EmbeddingService.Client(wrapping: $0).embed(.with {
        $0.inputs = request.inputs
        $0.options.bypassCache = true
      })
    }
    XCTAssertFalse(bypass.results[0].embedding.cached)
    let stats = try await daemon.withClient { try await Chorus_V1_SystemService.Client(wrapping: $0).getCacheStats(.init()) }
    XCTAssertEqual(stats.hits - before.hits, 1)
    XCTAssertEqual(stats.misses - before.misses, 1)
    XCTAssertEqual(stats.entries - before.entries, 1)
    XCTAssertGreaterThan(stats.diskBytes, 0)
  }

  func testEachInputGetsItsOwnResultInOrder() async throws {
    let response = try await daemon.withClient {
      try await Chorus_V1_EmbeddingService.Client(wrapping: $0).embed(.with {
        $0.inputs = [.with { $0.text = "a cat" }, Chorus_V1_Input(), .with { $0.image = Data([0xFF, 0xD8, 0xFF]) }, .with { $0.text = "a dog" }]
      })
    }
    XCTAssertEqual(response.results.count, 4)
    XCTAssertEqual(response.results[0].embedding.vector.count, 384)
    XCTAssertEqual(response.results[1].error.code, 3)
    XCTAssertTrue(response.results[1].error.message.contains("input 1 is empty"), response.results[1].error.message)
    XCTAssertEqual(response.results[2].error.code, 3)
    XCTAssertTrue(response.results[2].error.message.contains("cannot read the JPEG header"), response.results[2].error.message)
    XCTAssertEqual(response.results[3].embedding.vector.count, 384)
    // SHA-256 of the UTF-8 text, as `printf 'a dog' | sha256sum` gives it.
    XCTAssertEqual(response.results[3].embedding.contentHash, "7dbdf68ac0bb3482a281e2672b08773f99a4315d6e6fe02d3317d50a28d18401")
  }

  func testUnknownSpaceIsNotFoundNamingTheSpaces() async throws {
    await assertRPCError(.notFound, contains: "no space named 'nope' (available: starter)") {
      _ = try await self.daemon.withClient {
        try await Chorus_V1_EmbeddingService.Client(wrapping: $0).embed(.with {
          $0.space = "nope"
          $0.inputs = [.with { $0.text = "hello" }]
        })
      }
    }
  }

  func testServerSideFilesAreReadByTheDaemonAndEqualSendingTheirBytes() async throws {
    let photo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("MediaTests/Fixtures/formats/baseline.jpg").path
    let note = daemon.directory + "/note.txt"
    try "a note about the budget meeting".write(toFile: note, atomically: true, encoding: .utf8)
    let response = try await daemon.withClient {
      try await Chorus_V1_EmbeddingService.Client(wrapping: $0).embed(.with {
        $0.inputs = [
          .with { $0.file = .with { $0.path = photo } },
          .with { $0.file = .with { $0.path = note } },
          .with { $0.file = .with { $0.path = "/nonexistent/x.jpg" } },
          .with { $0.file = .with { $0.path = "relative.jpg" } },
          .with { $0.image = try! Data(contentsOf: URL(fileURLWithPath: photo)) },
          .with { $0.text = "a note about the budget meeting" },
        ]
      })
    }
    XCTAssertEqual(response.results[0].embedding.modality, .image)
    XCTAssertEqual(response.results[1].embedding.modality, .text)
    XCTAssertEqual(response.results[2].error.code, 5)
    XCTAssertTrue(response.results[2].error.message.contains("/nonexistent/x.jpg: no such file"), response.results[2].error.message)
    XCTAssertEqual(response.results[3].error.code, 3)
    XCTAssertEqual(response.results[0].embedding.vector, response.results[4].embedding.vector, "a file equals its bytes")
    XCTAssertEqual(response.results[1].embedding.vector, response.results[5].embedding.vector)
    XCTAssertEqual(response.results[0].embedding.contentHash, response.results[4].embedding.contentHash)
  }

  func testOversizedMessageIsResourceExhaustedStatingTheLimitAndDaemonKeepsServing() async throws {
    await assertRPCError(.resourceExhausted, contains: "65536") {
      _ = try await self.daemon.withClient {
        try await Chorus_V1_EmbeddingService.Client(wrapping: $0).embed(.with {
          $0.inputs = [.with { $0.image = Data(repeating: 0xFF, count: 100_000) }]
        })
      }
    }
    let status = try await daemon.withClient { try await Grpc_Health_V1_Health.Client(wrapping: $0).check(.init()).status }
    XCTAssertEqual(status, .serving)
  }

  private func assertRPCError(_ code: RPCError.Code, contains text: String, _ body: () async throws -> Void, line: UInt = #line) async {
    do {
      try await body()
      XCTFail("expected \(code)", line: line)
    } catch let error as RPCError {
      XCTAssertEqual(error.code, code, error.message, line: line)
      XCTAssertTrue(error.message.contains(text), "message: \(error.message)", line: line)
    } catch {
      XCTFail("unexpected \(error)", line: line)
    }
  }
}

import Foundation
