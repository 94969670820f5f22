import Foundation
import Media
import Tensor
import XCTest

@testable import Encoders

/// The real EfficientNet-Lite0 (Models/efficientnet-lite0, converted by scripts/fetch-models) vs the reference
/// implementation, end to end from real photos (Fixtures/generate_efficientnet_fixture.py).
final class EfficientNetParityTests: XCTestCase {
  func testRealWeightsGiveTheReferenceLogits() throws {
    let reference = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: TextParityTests.fixtures.appendingPathComponent("efficientnet-lite0.expected.json")))
        as? [String: Any])
    let files = try XCTUnwrap(reference["files"] as? [String])
    let logits = try XCTUnwrap(reference["logits"] as? [[Double]]).map { $0.map(Float.init) }
    let top5 = try XCTUnwrap(reference["top5"] as? [[Int]])
    let directory = TextParityTests.models.appendingPathComponent("efficientnet-lite0")
    let model = try ModelDirectory.load(directory.path)
    let encoder = try XCTUnwrap(model.image)
    XCTAssertEqual(encoder.architecture, "efficientnet_lite")
    XCTAssertEqual(model.labelHead?.labels.count, 1000)
    let preprocessor = try ImagePreprocessor(configFile: directory.appendingPathComponent("preprocessor_config.json"))
    let photos = TextParityTests.fixtures.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Data/skimage")
    let pixels = try files.flatMap { preprocessor.pixels(try ImageDecoder().decode(try Data(contentsOf: photos.appendingPathComponent($0)))) }
    let ours = encoder.embed(pixels: Tensor(shape: [files.count, 3, 224, 224], values: pixels))
    var worst: Float = 0
    for (index, file) in files.enumerated() {
      XCTAssertGreaterThanOrEqual(cosineSimilarity(ours[index], logits[index]), 0.99999, file)
      XCTAssertLessThanOrEqual(maxAbsDifference(ours[index], logits[index]), 1e-3, file)
      let order = ours[index].indices.sorted { ours[index][$0] > ours[index][$1] }
      XCTAssertEqual(Array(order.prefix(5)), top5[index], "\(file): top-5 classes")
      worst = max(worst, maxAbsDifference(ours[index], logits[index]))
    }
    print("EfficientNet-Lite0 parity: \(files.count) photos, max abs logit difference \(worst)")
  }

  /// A broken ConSE head configuration stops loading with the file and what is expected.
  func testBadClassPromptsAreRefusedByName() throws {
    let source = TextParityTests.models.appendingPathComponent("efficientnet-lite0")
    let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("effnet-bad-\(UUID().uuidString.prefix(6))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    for name in ["model.safetensors", "labels.txt", "preprocessor_config.json"] {
      try FileManager.default.createSymbolicLink(at: directory.appendingPathComponent(name), withDestinationURL: source.appendingPathComponent(name))
    }
    var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json"))) as? [String: Any])
    let cases: [(prompts: String?, temperature: Double, expected: String)] = [
      (nil, 2, "missing, unreadable or without a \"prompts\" list"),
      (#"{"prompts": "not a list"}"#, 2, "missing, unreadable or without a \"prompts\" list"),
      (#"{"prompts": [["a"], ["b"]]}"#, 2, "2 prompt lists for 1000 classes"),
      (nil, 0, "'conse.temperature' must be a positive number"),
    ]
    for (prompts, temperature, expected) in cases {
      let file = directory.appendingPathComponent("class_prompts.json")
      try? FileManager.default.removeItem(at: file)
      if let prompts { try prompts.write(to: file, atomically: true, encoding: .utf8) }
      var conse = try XCTUnwrap(config["conse"] as? [String: Any])
      conse["temperature"] = temperature
      if temperature == 0 { conse["class_prompts"] = nil; conse["templates"] = ["a photo of a {}."] }
      config["conse"] = conse
      try JSONSerialization.data(withJSONObject: config).write(to: directory.appendingPathComponent("config.json"))
      XCTAssertThrowsError(try ModelDirectory.load(directory.path)) { error in
        XCTAssertTrue("\(error)".contains(expected), "\(error)")
      }
    }
  }
}
