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
}
