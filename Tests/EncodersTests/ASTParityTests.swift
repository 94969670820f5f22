import Foundation
import XCTest

@testable import Encoders
@testable import Media
import Tensor

/// The Audio Spectrogram Transformer vs transformers on a tiny random ASTModel (Fixtures/generate_ast_fixture.py),
/// from the reference's 16 kHz samples of real clips through Chorus's own Kaldi filter bank.
final class ASTParityTests: XCTestCase {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
  static let audio = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("MediaTests/Fixtures/audio")

  func testPoolerOutputsEqualTheReference() throws {
    let directory = Self.fixtures.appendingPathComponent("ast-tiny-random")
    let model = try ModelDirectory.load(directory.path)
    let encoder = try XCTUnwrap(model.audio)
    XCTAssertEqual(encoder.architecture, "audio_spectrogram_transformer")
    let frontEnd = try AudioFrontEnds.load(configFile: directory.appendingPathComponent("preprocessor_config.json"), fallback: "ast")
    XCTAssertEqual(frontEnd.featureShape, encoder.featureShape)
    let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("ast_expected.json"))) as? [String: Any])
    let names = expected.keys.sorted()
    XCTAssertEqual(names.count, 5)
    var features: [[Float]] = [], counts: [Int] = []
    for name in names {
      let data = try Data(contentsOf: Self.audio.appendingPathComponent(name + ".samples.f32"))
      let samples = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
      features.append(frontEnd.features(samples[...]))
      counts.append(samples.count)
    }
    let vectors = encoder.embed(features: features, samples: counts).map(l2Normalized)
    for (name, vector) in zip(names, vectors) {
      let reference = try XCTUnwrap((expected[name] as? [String: Any])?["embedding"] as? [Double]).map(Float.init)
      let cosine = cosineSimilarity(vector, reference)
      print("\(name): cosine \(cosine), max abs \(maxAbsDifference(vector, reference))")
      XCTAssertGreaterThanOrEqual(cosine, 0.99999, name)
    }
  }
}
