import ChorusAPI
import Foundation
import GRPCCore
import Synchronization
import XCTest

/// A value shared by a test's client tasks.
final class Shared<Value: Sendable>: Sendable {
  private let mutex: Mutex<Value>
  init(_ value: Value) { mutex = Mutex(value) }
  func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}

/// Overload through the real daemon: a bounded queue refuses at once with a retry hint, a deadline the queue
/// cannot meet is refused without being started, and after a storm of impatient callers the daemon answers a
/// small request at once.
final class LoadTests: XCTestCase {
  static let photo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("MediaTests/Fixtures/formats/baseline.jpg")
  var daemon: DaemonProcess!

  override func setUp() async throws {
    daemon = DaemonProcess(arguments: ["--max-batch-size", "8", "--max-queued-inputs", "32"])
    try await daemon.startServing()
  }

  override func tearDown() {
    daemon.stop()
  }

  /// `count` copies of one photo, each made distinct by bytes after the JPEG's end (decoders ignore them), so
  /// neither the cache nor single-flight can share their work.
  func images(_ count: Int, tag: Int) throws -> [Chorus_V1_Input] {
    let jpeg = try Data(contentsOf: Self.photo)
    return (0..<count).map { index in .with { $0.image = jpeg + Data("\(tag)-\(index)".utf8) } }
  }

  func testAStormOfImpatientCallersEndsWithTheAdmittedAnsweredAndTheRestRefusedQuickly() async throws {
    let outcomes = Shared<[String: Int]>([:])
    let pushback = Shared<[String]>([])
    let slowest = Shared<Duration>(.zero)
    let requests = try (0..<48).map { client in try images(8, tag: client) }
    let started = ContinuousClock.now
    try await daemon.withClient { client in
      let embedding = Chorus_V1_EmbeddingService.Client(wrapping: client)
      await withTaskGroup(of: Void.self) { group in
        for inputs in requests {
          group.addTask {
            let began = ContinuousClock.now
            var options = CallOptions.defaults
            options.timeout = .seconds(2)
            let outcome: String
            do {
              let response = try await embedding.embed(.with { $0.inputs = inputs }, options: options)
              outcome = response.results.allSatisfy { $0.embedding.vector.count == 384 } ? "ok" : "item errors"
            } catch let error as RPCError {
              outcome = "\(error.code)"
              if error.code == .resourceExhausted {
                pushback.withLock { $0.append((error.metadata[stringValues: "grpc-retry-pushback-ms"].first(where: { _ in true }) ?? "none") + " " + error.message) }
              }
            } catch {
              outcome = "\(error)"
            }
            outcomes.withLock { $0[outcome, default: 0] += 1 }
            slowest.withLock { $0 = max($0, ContinuousClock.now - began) }
          }
        }
      }
    }
    let seen = outcomes.withLock { $0 }
    XCTAssertEqual(seen.values.reduce(0, +), 48)
    XCTAssertGreaterThanOrEqual(seen["ok", default: 0], 4, "at least the queue's worth (32 inputs = 4 requests) is answered: \(seen)")
    XCTAssertEqual(seen["internalError", default: 0] + seen["unavailable", default: 0] + seen["item errors", default: 0], 0, "\(seen)")
    XCTAssertEqual(Set(seen.keys).subtracting(["ok", "resourceExhausted", "deadlineExceeded"]), [], "\(seen)")
    for refusal in pushback.withLock({ $0 }) {
      XCTAssertFalse(refusal.hasPrefix("none"), "RESOURCE_EXHAUSTED carries grpc-retry-pushback-ms: \(refusal)")
      XCTAssertTrue(refusal.contains("max_queued_inputs"), refusal)
    }
    XCTAssertLessThan(slowest.withLock { $0 }, .seconds(3), "every call ended by its deadline")
    print("storm: \(seen) in \(ContinuousClock.now - started)")

    // Recovered: a small request is answered at once.
    let after = ContinuousClock.now
    let response = try await daemon.withClient {
      try await Chorus_V1_EmbeddingService.Client(wrapping: $0).embed(.with { $0.inputs = [.with { $0.text = "after the storm" }] })
    }
    XCTAssertEqual(response.results[0].embedding.vector.count, 384)
    XCTAssertLessThan(ContinuousClock.now - after, .seconds(1))
  }

  func testADeadlineTheQueueCannotMeetIsRefusedWithoutStarting() async throws {
    try await daemon.withClient { client in
      let embedding = Chorus_V1_EmbeddingService.Client(wrapping: client)
      // Teach the queue what an image costs, then fill it.
      _ = try await embedding.embed(.with { $0.inputs = try! images(8, tag: 1000) })
      let queued = try images(16, tag: 1001)
      let busy = Task { try await embedding.embed(.with { $0.inputs = queued }) }
      try await Task.sleep(for: .milliseconds(30))
      var options = CallOptions.defaults
      options.timeout = .milliseconds(60)
      let started = ContinuousClock.now
      do {
        _ = try await embedding.embed(.with { $0.inputs = try images(8, tag: 1002) }, options: options)
        XCTFail("eight images cannot follow a full queue within 60 ms")
      } catch let error as RPCError {
        XCTAssertEqual(error.code, .deadlineExceeded, error.message)
        XCTAssertTrue(error.message.contains("refused without starting it"), "the daemon refused it, not the client's timer: \(error.message)")
      }
      XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(500))
      _ = try await busy.value
    }
  }
}
