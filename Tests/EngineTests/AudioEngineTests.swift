import Encoders
import Foundation
import Logging
import Tensor
import XCTest

@testable import Engine

/// Audio through the engine with a projection head: a copy of the tiny random Whisper directory given a
/// projection.safetensors lands in the head's space, joins a text model of that dimension, and changes the
/// fingerprint.
final class AudioEngineTests: XCTestCase {
  let logger = Logger(label: "test")
  let tests = fixtures.deletingLastPathComponent().deletingLastPathComponent()

  func testProjectionHeadMapsWindowsIntoTheTextSpace() async throws {
    let source = fixtures.appendingPathComponent("whisper-tiny-random")
    let directory = try Self.copyOfTinyWhisper()
    defer { try? FileManager.default.removeItem(at: directory) }
    // A head 64 → 24 (tiny-clip's text dimension) with known weights.
    let weight: [Float] = (0..<24 * 64).map { (index: Int) -> Float in Float((index * 37) % 17) / 17 - 0.5 }
    let bias: [Float] = (0..<24).map { (index: Int) -> Float in Float(index) / 100 }
    try Self.safetensors(["bias": ([24], bias), "weight": ([24, 64], weight)]).write(to: directory.appendingPathComponent("projection.safetensors"))
    try #"{"target": "tiny-clip"}"#.write(to: directory.appendingPathComponent("projection.json"), atomically: true, encoding: .utf8)

    let bare = try ModelDirectory.load(source.path), headed = try ModelDirectory.load(directory.path)
    XCTAssertNotEqual(bare.fingerprint, headed.fingerprint)
    let head = try XCTUnwrap(headed.audioProjection)
    XCTAssertEqual(head.outputDimension, 24)
    XCTAssertEqual(head.target, "tiny-clip")

    let engine = try Engine(
      spaces: ["both": [fixtures.appendingPathComponent("tiny-clip").path, directory.path], "whisper": [source.path]], configuration: EngineConfiguration(),
      cache: nil, logger: logger)
    let space = try engine.space(named: "both")
    XCTAssertEqual(space.dimension, 24)
    XCTAssertEqual(space.modalities, [.text, .image, .audio])
    XCTAssertEqual(space.encoders.last?.architecture, "whisper_encoder+projection")

    let clip = try Data(contentsOf: tests.appendingPathComponent("MediaTests/Fixtures/audio/speech.wav"))
    let projected = try await engine.embed(space: "both", inputs: [.audio(clip)], options: EmbedOptions()).results[0].get().vector
    let plain = try await engine.embed(space: "whisper", inputs: [.audio(clip)], options: EmbedOptions()).results[0].get().vector
    // By hand: W · normalise(encoder vector) + b, normalised.
    var expected = [Float](repeating: 0, count: 24)
    for row in 0..<24 {
      var sum = bias[row]
      for column in 0..<64 { sum += weight[row * 64 + column] * plain[column] }
      expected[row] = sum
    }
    XCTAssertLessThan(maxAbsDifference(projected, l2Normalized(expected)), 1e-5)
  }

  /// A two-layer head (Linear, GELU, Linear as nn.Sequential names them) computes W₂·GELU(W₁·x + b₁) + b₂.
  func testTwoLayerProjectionHead() async throws {
    let directory = try Self.copyOfTinyWhisper()
    defer { try? FileManager.default.removeItem(at: directory) }
    let w1: [Float] = (0..<32 * 64).map { Float(($0 * 37) % 23) / 23 - 0.5 }, b1: [Float] = (0..<32).map { Float($0 % 5) / 10 - 0.2 }
    let w2: [Float] = (0..<24 * 32).map { Float(($0 * 11) % 19) / 19 - 0.5 }, b2: [Float] = (0..<24).map { Float($0) / 50 }
    try Self.safetensors(["0.weight": ([32, 64], w1), "0.bias": ([32], b1), "2.weight": ([24, 32], w2), "2.bias": ([24], b2)])
      .write(to: directory.appendingPathComponent("projection.safetensors"))
    let head = try XCTUnwrap(try ModelDirectory.load(directory.path).audioProjection)
    XCTAssertEqual(head.layers.count, 2)
    XCTAssertEqual(head.outputDimension, 24)
    let input = l2Normalized((0..<64).map { Float(($0 * 13) % 7) - 3 })
    let hidden = (0..<32).map { row -> Float in
      let z = (0..<64).reduce(b1[row]) { $0 + w1[row * 64 + $1] * input[$1] }
      return 0.5 * z * (1 + Float(erf(Double(z) / 2.0.squareRoot())))
    }
    let expected = (0..<24).map { row in (0..<32).reduce(b2[row]) { $0 + w2[row * 32 + $1] * hidden[$1] } }
    XCTAssertLessThan(maxAbsDifference(head.apply([input.map { $0 * 3 }])[0], expected), 1e-5, "the input is normalised first")
  }

  /// A fresh copy of the tiny random Whisper directory (weights, config, preprocessing), to give a head.
  static func copyOfTinyWhisper() throws -> URL {
    let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("whisper-head-\(UUID().uuidString.prefix(6))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let source = fixtures.appendingPathComponent("whisper-tiny-random")
    for name in ["model.safetensors", "config.json", "preprocessor_config.json"] {
      try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: directory.appendingPathComponent(name))
    }
    return directory
  }

  /// A long clip stops between windows when its caller leaves: cancelled early, a 20-minute clip ends in a
  /// fraction of the time it takes whole.
  func testALongClipStopsBetweenWindowsWhenTheCallerLeaves() async throws {
    let engine = try Engine(models: ["whisper": fixtures.appendingPathComponent("whisper-tiny-random").path], logger: logger)
    let rate = 16000, seconds = 1200
    var wav = Data("RIFF".utf8) + Self.le32(36 + rate * seconds * 2) + Data("WAVEfmt ".utf8) + Self.le32(16)
    wav += Data([1, 0, 1, 0]) + Self.le32(rate) + Self.le32(rate * 2) + Data([2, 0, 16, 0]) + Data("data".utf8) + Self.le32(rate * seconds * 2)
    var samples = [Int16](repeating: 0, count: rate * seconds)
    for i in samples.indices { samples[i] = Int16(truncatingIfNeeded: (i * 7919) % 20000 - 10000) }
    samples.withUnsafeBytes { wav += Data($0) }
    let whole = ContinuousClock.now
    _ = try await engine.embed(space: "whisper", inputs: [.audio(wav)], options: EmbedOptions(bypassCache: true)).results[0].get()
    let full = ContinuousClock.now - whole
    let task = Task { try await engine.embed(space: "whisper", inputs: [.audio(wav)], options: EmbedOptions(bypassCache: true)) }
    try await Task.sleep(for: full / 8)
    let cancelled = ContinuousClock.now
    task.cancel()
    do {
      _ = try await task.value
      XCTFail("a cancelled clip must not return a vector")
    } catch {
      XCTAssertTrue(error is CancellationError, "\(error)")
    }
    XCTAssertLessThan(ContinuousClock.now - cancelled, full / 2, "whole clip: \(full)")
  }

  static func le32(_ value: Int) -> Data {
    withUnsafeBytes(of: UInt32(value).littleEndian) { Data($0) }
  }

  static func safetensors(_ tensors: [String: ([Int], [Float])]) -> Data {
    var header: [String: Any] = [:], blob = Data()
    for name in tensors.keys.sorted() {
      let (shape, values) = tensors[name]!
      header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [blob.count, blob.count + values.count * 4]]
      values.withUnsafeBytes { blob.append(contentsOf: $0) }
    }
    var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    while json.count % 8 != 0 { json.append(0x20) }
    var data = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
    return data + json + blob
  }
}
