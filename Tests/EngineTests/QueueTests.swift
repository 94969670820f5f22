import Encoders
import Tokenizers
import Foundation
import Synchronization
import XCTest

@testable import Engine

/// The real tiny encoder behind a gate: each batch waits until the test opens it, and every text it computes is
/// recorded, so a test can fill the queue and see exactly what ran.
final class GatedEncoder: TextEncoder, @unchecked Sendable {
  let base: any TextEncoder
  let computed = Mutex<[[Int32]]>([])
  private let gate = DispatchSemaphore(value: 0)
  let started = DispatchSemaphore(value: 0)
  let delay: Double
  init(_ base: any TextEncoder, delay: Double = 0) {
    self.base = base
    self.delay = delay
  }
  var architecture: String { base.architecture }
  var dimension: Int { base.dimension }
  var maxTokens: Int { base.maxTokens }
  var vocabularySize: Int { base.vocabularySize }
  var tokenizer: Tokenizer { base.tokenizer }
  func tokenize(_ text: String) -> TokenizedText { base.tokenize(text) }
  func embed(_ batch: [[Int32]]) -> [[Float]] {
    started.signal()
    gate.wait()
    if delay > 0 { Thread.sleep(forTimeInterval: delay) }
    computed.withLock { $0.append(contentsOf: batch) }
    return base.embed(batch)
  }
  func open(_ batches: Int = 1) { for _ in 0..<batches { gate.signal() } }
}

final class QueueTests: XCTestCase {
  func makePipeline(maxBatchSize: Int = 2, maxQueued: Int = 4, delay: Double = 0) throws -> (TextPipeline, GatedEncoder) {
    let model = try ModelDirectory.load(fixtures.appendingPathComponent("tiny-bert-st").path)
    let encoder = GatedEncoder(model.text!, delay: delay)
    let configuration = EngineConfiguration(maxBatchSize: maxBatchSize, maxQueuedInputs: maxQueued)
    return (TextPipeline(encoder: encoder, fingerprint: "f", label: "tiny", configuration: configuration), encoder)
  }

  func testAFullQueueRefusesAtOnceNamingTheLimitAndAdmittedWorkSucceeds() async throws {
    let (pipeline, encoder) = try makePipeline()
    let running = Task { try await pipeline.embed(["a", "b"], options: EmbedOptions()) }
    encoder.started.wait()  // a batch of two is running: the queue itself is empty
    let queued = Task { try await pipeline.embed(["c", "d", "e", "f"], options: EmbedOptions()) }
    try await Task.sleep(for: .milliseconds(100))
    let started = ContinuousClock.now
    do {
      _ = try await pipeline.embed(["g"], options: EmbedOptions())
      XCTFail("a fifth queued input must be refused")
    } catch let error as EngineError {
      guard case .overloaded(let queue, let limit, let retry) = error else { return XCTFail("\(error)") }
      XCTAssertEqual(queue, "tiny.text")
      XCTAssertEqual(limit, 4)
      XCTAssertGreaterThan(retry, 0)
      XCTAssertTrue(error.description.contains("max_queued_inputs"), error.description)
    }
    XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(50), "refused at once, not after waiting")
    encoder.open(3)
    let ran = try await running.value, waited = try await queued.value
    XCTAssertEqual(ran.count, 2)
    XCTAssertEqual(try waited.map { try $0.get().vector.count }.count, 4, "everything admitted is answered")
    XCTAssertEqual(encoder.computed.withLock { $0.count }, 6, "the refused text was never computed")
    // The queue has drained: a request is admitted again.
    encoder.open(1)
    let again = try await pipeline.embed(["g"], options: EmbedOptions())
    XCTAssertEqual(again.count, 1)
  }

  func testARequestLargerThanTheQueueRunsWhenTheQueueIsEmpty() async throws {
    let (pipeline, encoder) = try makePipeline(maxQueued: 4)
    encoder.open(4)
    let results = try await pipeline.embed((0..<7).map { "text \($0)" }, options: EmbedOptions())
    XCTAssertEqual(results.count, 7)
  }

  func testACancelledCallersQueuedInputsAreNeverComputed() async throws {
    let (pipeline, encoder) = try makePipeline()
    let running = Task { try await pipeline.embed(["a", "b"], options: EmbedOptions()) }
    encoder.started.wait()
    let leaving = Task { try await pipeline.embed(["left behind", "also left"], options: EmbedOptions()) }
    try await Task.sleep(for: .milliseconds(100))
    leaving.cancel()
    let started = ContinuousClock.now
    do {
      _ = try await leaving.value
      XCTFail("a cancelled call must not return vectors")
    } catch {
      XCTAssertTrue(error is CancellationError, "\(error)")
    }
    XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(500), "it leaves while the batch ahead still runs")
    encoder.open(2)
    _ = try await running.value
    let later = Task { try await pipeline.embed(["c"], options: EmbedOptions()) }
    _ = try await later.value
    let computed = encoder.computed.withLock { $0 }
    XCTAssertEqual(computed.count, 3, "only a, b and c ran")
    XCTAssertFalse(computed.contains(encoder.tokenize("left behind").ids))
  }

  func testAJoinedComputationGoesOnForTheCallerWhoStays() async throws {
    let (pipeline, encoder) = try makePipeline()
    let running = Task { try await pipeline.embed(["a", "b"], options: EmbedOptions()) }
    encoder.started.wait()
    let first = Task { try await pipeline.embed(["shared"], options: EmbedOptions()) }
    try await Task.sleep(for: .milliseconds(50))
    let second = Task { try await pipeline.embed(["shared"], options: EmbedOptions()) }
    try await Task.sleep(for: .milliseconds(50))
    first.cancel()
    encoder.open(2)
    _ = try await running.value
    let stayed = try await second.value
    XCTAssertEqual(try stayed[0].get().vector.count, encoder.dimension, "the caller who stayed gets its vector")
    XCTAssertEqual(encoder.computed.withLock { $0.count }, 3)
  }

  func testADeadlineTheQueueCannotMeetIsRefusedAtOnce() async throws {
    let (pipeline, encoder) = try makePipeline(maxBatchSize: 2, maxQueued: 64, delay: 0.2)
    // One batch teaches the queue what an input costs (~0.1 s each here).
    encoder.open(1)
    _ = try await pipeline.embed(["x", "y"], options: EmbedOptions())
    let running = Task { try await pipeline.embed(["a", "b"], options: EmbedOptions()) }
    encoder.started.wait()
    let queued = Task { try await pipeline.embed((0..<8).map { "queued \($0)" }, options: EmbedOptions()) }
    try await Task.sleep(for: .milliseconds(50))
    let started = ContinuousClock.now
    do {
      _ = try await pipeline.embed(["hurry"], options: EmbedOptions(), call: CallContext(deadline: .now + .milliseconds(300)))
      XCTFail("about a second of work is queued ahead of a 0.3 s deadline")
    } catch let error as EngineError {
      guard case .deadlineUnmeetable(_, let estimated, let remaining) = error else { return XCTFail("\(error)") }
      XCTAssertGreaterThan(estimated, remaining)
    }
    XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(50))
    // A generous deadline is admitted and met.
    let patient = Task { try await pipeline.embed(["patient"], options: EmbedOptions(), call: CallContext(deadline: .now + .seconds(30))) }
    encoder.open(7)
    _ = try await running.value
    _ = try await queued.value
    let met = try await patient.value
    XCTAssertEqual(met.count, 1)
  }
}
