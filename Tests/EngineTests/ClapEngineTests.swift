import Encoders
import Foundation
import Logging
import SyntheticCheckpoints
import Tensor
import XCTest

@testable import Engine

/// A CLAP directory (clap-htsat-unfused's shape, synthetic weights) served end to end: audio files through the
/// audio pipeline equal transformers, zero-shot labels of sounds, long clips in windows, and clips CLAP cannot
/// describe refused on their own.
final class ClapEngineTests: XCTestCase {
  static let encoderFixtures = fixtures
  static let audio = fixtures.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("MediaTests/Fixtures/audio")

  func makeEngine() throws -> (Engine, [String: Any]) {
    let directory = try SyntheticCheckpoint.directory(for: Self.encoderFixtures.appendingPathComponent("clap-htsat-unfused"))
    let expected = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: Self.encoderFixtures.appendingPathComponent("clap-htsat-unfused.expected.json"))) as? [String: Any])
    return (try Engine(models: ["clap": directory.path], logger: Logger(label: "test")), expected)
  }

  static func wav(_ samples: [Int16], rate: Int) -> Data {
    func le32(_ value: Int) -> Data { withUnsafeBytes(of: UInt32(value).littleEndian) { Data($0) } }
    var data = Data("RIFF".utf8) + le32(36 + samples.count * 2) + Data("WAVEfmt ".utf8) + le32(16)
    data += Data([1, 0, 1, 0]) + le32(rate) + le32(rate * 2) + Data([2, 0, 16, 0]) + Data("data".utf8) + le32(samples.count * 2)
    samples.withUnsafeBytes { data += Data($0) }
    return data
  }

  func testAudioFilesAndClassifyEqualTransformers() async throws {
    let (engine, expected) = try makeEngine()
    let space = try engine.space(named: "clap")
    XCTAssertEqual(space.modalities, [.text, .audio])
    XCTAssertEqual(space.encoders.map(\.architecture), ["clap_text", "clap_htsat"])
    XCTAssertEqual(space.encoders[1].maxInput, 10)
    let files = try XCTUnwrap(expected["files"] as? [String])
    let reference = try XCTUnwrap(expected["audio_vectors"] as? [[Double]]).map { $0.map(Float.init) }
    let clips = try files.map { EmbedInput.audio(try Data(contentsOf: Self.audio.appendingPathComponent($0))) }
    let results = try await engine.embed(space: "clap", inputs: clips, options: EmbedOptions()).results
    for (index, result) in results.enumerated() {
      let vector = try result.get().vector
      XCTAssertGreaterThanOrEqual(cosineSimilarity(vector, reference[index]), 0.99999, files[index])
    }
    let labels = try XCTUnwrap(expected["labels"] as? [String]), template = try XCTUnwrap(expected["template"] as? String)
    let probabilities = try XCTUnwrap(expected["probabilities"] as? [[Double]])
    for (index, clip) in clips.enumerated() {
      let outcome = try await engine.classify(space: "clap", input: clip, labels: labels, template: template)
      XCTAssertEqual(outcome.modality, .audio)
      XCTAssertTrue(outcome.head.learned)
      XCTAssertEqual(outcome.head.rule, .softmax)
      for (score, probability) in zip(outcome.scores, probabilities[index]) {
        XCTAssertEqual(Double(score.probability), probability, accuracy: 1e-5, "\(files[index]) \(score.label)")
      }
    }
  }

  func testLongClipsAreWindowedAndUnusableClipsRefusedAlone() async throws {
    let (engine, _) = try makeEngine()
    let rate = 48000
    let tone = (0..<rate * 25).map { Int16(8000 * sin(2 * Double.pi * 440 * Double($0) / Double(rate))) }
    let inputs: [EmbedInput] = [
      .audio(Self.wav(tone, rate: rate)),
      .audio(Self.wav(Array(tone.prefix(500)), rate: rate)),
      .audio(Self.wav([Int16](repeating: 0, count: rate), rate: rate)),
      .audio(Self.wav(Array(tone.prefix(rate)), rate: rate)),
    ]
    let results = try await engine.embed(space: "clap", inputs: inputs, options: EmbedOptions(segments: true)).results
    let long = try results[0].get()
    // 10 s windows overlapping by the configured seconds, the last one shorter.
    let step = 10 - EngineConfiguration().audioWindowOverlapSeconds
    XCTAssertEqual(long.segments.count, Int(((25 - 10) / step).rounded(.up)) + 1, "25 s in 10 s windows")
    XCTAssertEqual(long.segments.first?.endSeconds ?? 0, 10, accuracy: 1e-6)
    XCTAssertEqual(long.segments.last?.endSeconds ?? 0, 25, accuracy: 1e-6)
    func message(_ index: Int) -> String? { if case .failure(let error) = results[index] { error.message } else { nil } }
    XCTAssertEqual(message(1), "audio: the clip is 500 samples at 48000 Hz, shorter than one 1024-sample FFT frame (21 ms)")
    XCTAssertEqual(message(2), "audio: the clip is silent (every sample is 0): there is no sound to describe")
    XCTAssertNoThrow(try results[3].get())
  }

  /// A CLAP or SigLIP directory without its preprocessor or tokenizer file stops start-up naming the file.
  func testMissingPreprocessorOrTokenizerFilesAreNamedAtStartUp() throws {
    for (fixture, missing, expected) in [
      ("clap-htsat-unfused", "preprocessor_config.json", "preprocessor_config.json: missing or unreadable"),
      ("clap-htsat-unfused", "tokenizer.json", "no tokenizer.json, vocab.txt, vocab.json + merges.txt, sentencepiece.bpe.model or spiece.model"),
      ("siglip-base", "preprocessor_config.json", "preprocessor_config.json: missing or unreadable"),
      ("siglip-base", "spiece.model", "no tokenizer.json, vocab.txt, vocab.json + merges.txt, sentencepiece.bpe.model or spiece.model"),
    ] {
      let complete = try SyntheticCheckpoint.directory(for: Self.encoderFixtures.appendingPathComponent(fixture))
      let partial = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-partial-\(UUID().uuidString)")
      try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(at: partial) }
      for name in try FileManager.default.contentsOfDirectory(atPath: complete.path) where name != missing {
        try FileManager.default.createSymbolicLink(at: partial.appendingPathComponent(name), withDestinationURL: complete.appendingPathComponent(name))
      }
      XCTAssertThrowsError(try Engine(models: ["broken": partial.path], logger: Logger(label: "test"))) { error in
        XCTAssertTrue("\(error)".contains(expected), "\(fixture) without \(missing): \(error)")
        XCTAssertTrue("\(error)".contains(partial.path), "the directory is named: \(error)")
      }
    }
  }
}
