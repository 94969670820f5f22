import Foundation
import SyntheticCheckpoints
import Media
import Tensor
import XCTest

@testable import Encoders

/// SigLIP at siglip-base-patch16-224's full size on synthetic weights vs transformers
/// (Fixtures/generate_siglip_fixture.py): text features, image features from real JPEG/PNG files end to end, and
/// zero-shot probabilities.
final class SiglipParityTests: XCTestCase {
  static let fixtures = ArchitectureParityTests.fixtures
  static let tests = fixtures.deletingLastPathComponent().deletingLastPathComponent()

  func load() throws -> (LoadedModel, [String: Any]) {
    let directory = try SyntheticCheckpoint.directory(for: Self.fixtures.appendingPathComponent("siglip-base"))
    let expected = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("siglip-base.expected.json"))) as? [String: Any])
    return (try ModelDirectory.load(directory.path), expected)
  }

  func assertClose(_ ours: [[Float]], _ reference: [[Float]], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(ours.count, reference.count, file: file, line: line)
    var worst: Float = 1
    for (index, (mine, theirs)) in zip(ours, reference).enumerated() {
      worst = min(worst, cosineSimilarity(mine, theirs))
      XCTAssertGreaterThanOrEqual(cosineSimilarity(mine, theirs), 0.99999, "\(what) \(index)", file: file, line: line)
      XCTAssertLessThanOrEqual(maxAbsDifference(mine, theirs), 1e-4 * max(1, theirs.map(abs).max()!), "\(what) \(index)", file: file, line: line)
    }
    print("parity siglip-base \(what): worst cosine \(String(format: "%.8f", worst))")
  }

  func testTextAndImagesFromFilesAndZeroShotProbabilities() throws {
    let (model, expected) = try load()
    let text = try XCTUnwrap(model.text), image = try XCTUnwrap(model.image)
    XCTAssertEqual(text.architecture, "siglip_text")
    XCTAssertEqual(image.architecture, "siglip_vision")
    XCTAssertEqual(text.dimension, 768)
    XCTAssertEqual(image.dimension, 768)
    let texts = try XCTUnwrap(expected["texts"] as? [String])
    let textVectors = text.embed(texts.map { text.tokenize($0).ids })
    assertClose(textVectors, try XCTUnwrap(expected["text_vectors"] as? [[Double]]).map { $0.map(Float.init) }, "text")

    let preprocessor = try ImagePreprocessor(configFile: model.directory.appendingPathComponent("preprocessor_config.json"))
    let files = try XCTUnwrap(expected["files"] as? [String])
    let pixels = try files.flatMap { preprocessor.pixels(try ImageDecoder().decode(try Data(contentsOf: Self.tests.appendingPathComponent($0)))) }
    let imageVectors = image.embed(pixels: Tensor(shape: [files.count, 3, 224, 224], values: pixels))
    assertClose(imageVectors, try XCTUnwrap(expected["image_vectors"] as? [[Double]]).map { $0.map(Float.init) }, "image")

    let head = try XCTUnwrap(model.zeroShot)
    XCTAssertEqual(head.rule, .sigmoid)
    XCTAssertEqual(head.bias, Float(try XCTUnwrap(expected["logit_bias"] as? Double)), accuracy: 1e-7)
    let template = try XCTUnwrap(expected["template"] as? String)
    let labels = try XCTUnwrap(expected["labels"] as? [String])
    let labelVectors = text.embed(labels.map { text.tokenize(template.replacingOccurrences(of: "{}", with: $0)).ids })
    let reference = try XCTUnwrap(expected["probabilities"] as? [[Double]])
    for (index, vector) in imageVectors.enumerated() {
      let probabilities = head.probabilities(input: vector, labels: labelVectors)
      for (mine, theirs) in zip(probabilities, reference[index]) { XCTAssertEqual(Double(mine), theirs, accuracy: 1e-5, "image \(index)") }
    }
  }
}
