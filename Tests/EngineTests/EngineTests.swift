import Encoders
import Tokenizers
import Foundation
import Logging
import Synchronization
import Tensor
import XCTest

@testable import Engine

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("EncodersTests/Fixtures")

/// The real tiny encoder, counting the batches it is given.
final class CountingEncoder: TextEncoder, @unchecked Sendable {
  let base: any TextEncoder
  let batches = Mutex<[Int]>([])
  init(_ base: any TextEncoder) { self.base = base }
  var architecture: String { base.architecture }
  var dimension: Int { base.dimension }
  var maxTokens: Int { base.maxTokens }
  var vocabularySize: Int { base.vocabularySize }
  var tokenizer: Tokenizer { base.tokenizer }
  func tokenize(_ text: String) -> TokenizedText { base.tokenize(text) }
  func embed(_ batch: [[Int32]]) -> [[Float]] {
    batches.withLock { $0.append(batch.count) }
    return base.embed(batch)
  }
}

final class EngineTests: XCTestCase {
  let logger = Logger(label: "test")

  func makeEngine(_ configuration: EngineConfiguration = EngineConfiguration()) throws -> Engine {
    try Engine(models: ["tiny": fixtures.appendingPathComponent("tiny-bert-st").path], configuration: configuration, logger: logger)
  }

  func vectors(_ results: [Result<EmbeddingOutput, InputError>]) throws -> [[Float]] {
    try results.map { try $0.get().vector }
  }

  func testConcurrentRequestsShareBatchesAndEqualSequentialResults() async throws {
    let model = try ModelDirectory.load(fixtures.appendingPathComponent("tiny-bert-st").path)
    let encoder = CountingEncoder(model.text!)
    let pipeline = TextPipeline(encoder: encoder, fingerprint: "f", label: "t", configuration: EngineConfiguration(maxBatchSize: 32, maxBatchWaitMicroseconds: 200_000))
    let texts = (0..<12).map { "sentence number \($0) about a dog" }
    let concurrent = await withTaskGroup(of: (Int, [Float]).self) { group in
      for (index, text) in texts.enumerated() {
        group.addTask { (index, try! await pipeline.embed([text], options: EmbedOptions())[0].get().vector) }
      }
      var out = [[Float]](repeating: [], count: texts.count)
      for await (index, vector) in group { out[index] = vector }
      return out
    }
    XCTAssertEqual(encoder.batches.withLock { $0 }, [12], "12 concurrent calls within the wait window run as one batch")
    for (text, vector) in zip(texts, concurrent) {
      let alone = l2Normalized(model.text!.embed([model.text!.tokenize(text).ids])[0])
      XCTAssertEqual(zip(alone, vector).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-6)
    }
  }

  func testOneRequestsTextsRunAsOneBatchWithoutWaiting() async throws {
    let model = try ModelDirectory.load(fixtures.appendingPathComponent("tiny-bert-st").path)
    let encoder = CountingEncoder(model.text!)
    let pipeline = TextPipeline(encoder: encoder, fingerprint: "f", label: "t", configuration: EngineConfiguration(maxBatchSize: 8, maxBatchWaitMicroseconds: 0))
    let texts = (0..<12).map { "request text \($0)" } + ["request text 0"]
    let results = try await pipeline.embed(texts, options: EmbedOptions())
    XCTAssertEqual(encoder.batches.withLock { $0 }, [8, 4], "queued together: full batches, not one text first; the repeat is computed once")
    XCTAssertEqual(try results[12].get().vector, try results[0].get().vector)
  }

  func testServerSideFilesOverTheLimitOrUnreadableFailAlone() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-files-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let engine = try makeEngine(EngineConfiguration(maxFileBytes: 16, fileRoots: FileRoots([directory.path])))
    let small = directory.appendingPathComponent("small.txt").path, big = directory.appendingPathComponent("big.txt").path
    try "a cat".write(toFile: small, atomically: true, encoding: .utf8)
    try String(repeating: "x", count: 17).write(toFile: big, atomically: true, encoding: .utf8)
    let link = directory.appendingPathComponent("link.txt").path
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: small)
    let results = try await engine.embed(
      space: "tiny",
      inputs: [.file(path: small, modality: nil), .file(path: big, modality: nil), .file(path: small, modality: .image), .file(path: link, modality: nil)],
      options: EmbedOptions(), call: CallContext(caller: Caller(uid: getuid(), gid: getgid(), pid: getpid()))
    ).results
    XCTAssertEqual(try results[0].get().modality, .text)
    XCTAssertEqual(try results[3].get().vector, try results[0].get().vector, "a symbolic link is read as the file it points to")
    guard case .failure(let tooBig) = results[1], case .failure(let notServed) = results[2] else { return XCTFail("\(results)") }
    XCTAssertEqual(tooBig.kind, .resourceExhausted)
    XCTAssertTrue(tooBig.message.contains("17 bytes, over the limit of 16 bytes (max_file_bytes)"), tooBig.message)
    XCTAssertTrue(notServed.message.contains("cannot embed image"), notServed.message)
  }

  func testIdenticalInputsInFlightAreComputedOnce() async throws {
    let model = try ModelDirectory.load(fixtures.appendingPathComponent("tiny-bert-st").path)
    let encoder = CountingEncoder(model.text!)
    let pipeline = TextPipeline(encoder: encoder, fingerprint: "f", label: "t", configuration: EngineConfiguration(maxBatchWaitMicroseconds: 100_000))
    let results = try await pipeline.embed(Array(repeating: "the same text", count: 8), options: EmbedOptions())
    XCTAssertEqual(encoder.batches.withLock { $0 }, [1], "eight copies, one computation")
    let first = try results[0].get().vector
    for result in results { XCTAssertEqual(try result.get().vector, first) }
  }

  func testBatchesAreCappedAtMaxBatchSize() async throws {
    let model = try ModelDirectory.load(fixtures.appendingPathComponent("tiny-bert-st").path)
    let encoder = CountingEncoder(model.text!)
    let pipeline = TextPipeline(encoder: encoder, fingerprint: "f", label: "t", configuration: EngineConfiguration(maxBatchSize: 4, maxBatchWaitMicroseconds: 100_000))
    _ = try await pipeline.embed((0..<10).map { "text \($0)" }, options: EmbedOptions())
    let sizes = encoder.batches.withLock { $0 }
    XCTAssertEqual(sizes.reduce(0, +), 10)
    XCTAssertTrue(sizes.allSatisfy { $0 <= 4 }, "\(sizes)")
  }

  func testTruncationIsReportedOrRefused() async throws {
    let engine = try makeEngine()
    let long = String(repeating: "word ", count: 200)
    let (_, results) = try await engine.embed(space: "tiny", inputs: [.text(long), .text("short")], options: EmbedOptions())
    XCTAssertTrue(try results[0].get().truncated)
    XCTAssertFalse(try results[1].get().truncated)
    let (_, refused) = try await engine.embed(space: "tiny", inputs: [.text(long), .text("short")], options: EmbedOptions(failOnTruncation: true))
    guard case .failure(let error) = refused[0] else { return XCTFail("expected refusal") }
    XCTAssertEqual(error.kind, .invalidArgument)
    XCTAssertTrue(error.message.contains("48 tokens"), error.message)
    XCTAssertNoThrow(try refused[1].get())
  }

  func testTextOverByteLimitIsRefusedBeforeTokenizing() async throws {
    let engine = try makeEngine(EngineConfiguration(maxTextBytes: 10))
    let (_, results) = try await engine.embed(space: "tiny", inputs: [.text("this is longer than ten bytes"), .text("ok")], options: EmbedOptions())
    guard case .failure(let error) = results[0] else { return XCTFail("expected refusal") }
    XCTAssertEqual(error.kind, .invalidArgument)
    XCTAssertTrue(error.message.contains("limit of 10 bytes"), error.message)
    XCTAssertNoThrow(try results[1].get())
  }

  func testVectorsAreUnitLengthUnlessRaw() async throws {
    let engine = try makeEngine()
    let tinyCLS = try Engine(models: ["cls": fixtures.appendingPathComponent("tiny-bert-cls").path], logger: logger)
    let (_, normal) = try await tinyCLS.embed(space: "cls", inputs: [.text("hello")], options: EmbedOptions())
    let (_, raw) = try await tinyCLS.embed(space: "cls", inputs: [.text("hello")], options: EmbedOptions(raw: true))
    let norm = { (v: [Float]) in v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
    XCTAssertEqual(norm(try normal[0].get().vector), 1, accuracy: 1e-5)
    XCTAssertNotEqual(norm(try raw[0].get().vector), 1, accuracy: 1e-2)
    let (space, _) = try await engine.embed(space: "tiny", inputs: [], options: EmbedOptions())
    XCTAssertEqual(space.dimension, 32)
  }

  func testUnknownSpaceNamesTheLoadedOnes() async throws {
    let engine = try makeEngine()
    do {
      _ = try await engine.embed(space: "nope", inputs: [.text("x")], options: EmbedOptions())
      XCTFail("expected unknownSpace")
    } catch let error as EngineError {
      XCTAssertEqual(error, .unknownSpace("nope", available: ["tiny"]))
      XCTAssertEqual(error.description, "no space named 'nope' (available: tiny)")
    }
  }

  func testBadModelDirectoryIsAStartupErrorNamingIt() {
    XCTAssertThrowsError(try Engine(models: ["x": "/nonexistent/model"], logger: logger)) { error in
      XCTAssertTrue("\(error)".contains("cannot load space 'x' from /nonexistent/model: /nonexistent/model: not a directory"), "\(error)")
    }
  }
}
