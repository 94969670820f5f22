import Foundation
import Tensor
import XCTest

@testable import Encoders

/// Swift vs the reference implementation: fixtures from Fixtures/generate_text_fixtures.py.
final class TextParityTests: XCTestCase {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
  static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Models")

  func testTinySentenceTransformerMeanNormalize() throws {
    try assertParity(directory: Self.fixtures.appendingPathComponent("tiny-bert-st"), expected: Self.fixtures.appendingPathComponent("tiny-bert-st.expected.json"))
  }

  func testTinyBertClsWithoutNormalize() throws {
    try assertParity(directory: Self.fixtures.appendingPathComponent("tiny-bert-cls"), expected: Self.fixtures.appendingPathComponent("tiny-bert-cls.expected.json"))
  }

  func testRealMiniLMOnFiftySentences() throws {
    try assertParity(directory: Self.models.appendingPathComponent("all-MiniLM-L6-v2"), expected: Self.fixtures.appendingPathComponent("minilm.expected.json"))
  }

  /// CLIP's text_embeds (normalised) and get_text_features (raw) of a tiny random CLIPModel.
  func testTinyCLIPText() throws {
    let expected = Self.fixtures.appendingPathComponent("tiny-clip.expected.json")
    let reference = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: expected)) as? [String: Any])
    let texts = try XCTUnwrap(reference["texts"] as? [String])
    let raw = try XCTUnwrap(reference["raw"] as? [[Double]]).map { $0.map(Float.init) }
    let encoder = try XCTUnwrap(ModelDirectory.load(Self.fixtures.appendingPathComponent("tiny-clip").path).text)
    XCTAssertEqual(encoder.architecture, "clip_text")
    XCTAssertEqual(encoder.dimension, 24)
    let ours = encoder.embed(texts.map { encoder.tokenize($0).ids })
    for (index, (mine, theirs)) in zip(ours, raw).enumerated() {
      XCTAssertGreaterThanOrEqual(cosineSimilarity(mine, theirs), 0.99999, "text \(index)")
      XCTAssertLessThanOrEqual(maxAbsDifference(mine, theirs), 1e-4 * max(1, theirs.map(abs).max()!), "text \(index)")
    }
    // Normalised, they are CLIPModel's text_embeds.
    try assertParity(directory: Self.fixtures.appendingPathComponent("tiny-clip"), expected: expected, normalize: true)
  }

  /// Batched together or one by one, the vectors are the same (padding must not leak into results).
  func testBatchingDoesNotChangeVectors() throws {
    let encoder = try XCTUnwrap(ModelDirectory.load(Self.fixtures.appendingPathComponent("tiny-bert-st").path).text)
    let texts = ["short", "a much longer sentence with many more tokens in it", "mid length text"]
    let batch = encoder.embed(texts.map { encoder.tokenize($0).ids })
    for (text, vector) in zip(texts, batch) {
      let single = encoder.embed([encoder.tokenize(text).ids])[0]
      XCTAssertEqual(maxAbsDifference(single, vector), 0, accuracy: 1e-6)
    }
  }

  func testUnknownModelTypeNamesItAndTheSupportedOnes() throws {
    let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("unknown-\(UUID().uuidString.prefix(6))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try #"{"model_type": "gpt2"}"#.write(to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    try FileManager.default.copyItem(
      at: Self.fixtures.appendingPathComponent("tiny-bert-st/model.safetensors"), to: directory.appendingPathComponent("model.safetensors"))
    XCTAssertThrowsError(try ModelDirectory.load(directory.path)) { error in
      XCTAssertTrue("\(error)".contains("model_type 'gpt2' is not supported (supported: \(ModelDirectory.supportedModelTypes.joined(separator: ", ")))"), "\(error)")
      XCTAssertTrue(["bert", "clip", "siglip", "whisper", "xlm-roberta"].allSatisfy(ModelDirectory.supportedModelTypes.contains))
    }
  }

  func testWrongShapeNamesTensorAndShapes() throws {
    let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("shape-\(UUID().uuidString.prefix(6))")
    try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("tiny-bert-st"), to: directory)
    defer { try? FileManager.default.removeItem(at: directory) }
    let config = directory.appendingPathComponent("config.json")
    var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: config)) as? [String: Any])
    object["intermediate_size"] = 128
    try JSONSerialization.data(withJSONObject: object).write(to: config)
    XCTAssertThrowsError(try ModelDirectory.load(directory.path)) { error in
      XCTAssertTrue("\(error)".contains("tensor 'encoder.layer.0.intermediate.dense.weight' has shape [64, 32], expected [128, 32]"), "\(error)")
    }
  }

  private func assertParity(directory: URL, expected: URL, normalize: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
    let reference = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: expected)) as? [String: Any])
    let texts = try XCTUnwrap(reference["texts"] as? [String])
    let vectors = try XCTUnwrap(reference["vectors"] as? [[Double]]).map { $0.map(Float.init) }
    let encoder = try XCTUnwrap(ModelDirectory.load(directory.path).text)
    let computed = encoder.embed(texts.map { encoder.tokenize($0).ids })
    let ours = normalize ? computed.map(l2Normalized) : computed
    var worstCosine: Float = 1, worstAbs: Float = 0
    for (index, (mine, theirs)) in zip(ours, vectors).enumerated() {
      let cosine = cosineSimilarity(mine, theirs), difference = maxAbsDifference(mine, theirs)
      worstCosine = min(worstCosine, cosine)
      worstAbs = max(worstAbs, difference)
      XCTAssertGreaterThanOrEqual(cosine, 0.99999, "text \(index) \(texts[index].prefix(30).debugDescription)", file: file, line: line)
      XCTAssertLessThanOrEqual(difference, 1e-4, "text \(index) \(texts[index].prefix(30).debugDescription)", file: file, line: line)
    }
    print("parity \(directory.lastPathComponent): \(texts.count) texts, worst cosine \(worstCosine), worst max-abs \(worstAbs)")
  }
}
