import Foundation
import Tensor
import XCTest

@testable import Encoders

/// CLIP's vision tower from pixel tensors vs transformers (Fixtures/generate_clip_vision_fixture.py).
final class VisionParityTests: XCTestCase {
  func testTinyCLIPVisionFromPixels() throws {
    let fixtures = TextParityTests.fixtures
    let reference = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("tiny-clip-vision.expected.json"))) as? [String: Any])
    let pixels = Tensor(shape: [2, 3, 32, 32], values: try XCTUnwrap(reference["pixels"] as? [Double]).map(Float.init))
    let raw = try XCTUnwrap(reference["raw"] as? [[Double]]).map { $0.map(Float.init) }
    let normalised = try XCTUnwrap(reference["vectors"] as? [[Double]]).map { $0.map(Float.init) }
    let directory = fixtures.appendingPathComponent("tiny-clip")
    let encoder = try CLIPVisionEncoder(
      config: ModelConfig(directory: directory), checkpoint: SafeTensorsFile(path: directory.appendingPathComponent("model.safetensors").path))
    XCTAssertEqual(encoder.dimension, 24)
    XCTAssertEqual(encoder.imageSize, 32)
    let ours = encoder.embed(pixels: pixels)
    for (index, (mine, theirs)) in zip(ours, raw).enumerated() {
      XCTAssertGreaterThanOrEqual(cosineSimilarity(mine, theirs), 0.99999, "image \(index)")
      XCTAssertLessThanOrEqual(maxAbsDifference(mine, theirs), 1e-4 * max(1, theirs.map(abs).max()!), "image \(index)")
    }
    for (index, (mine, theirs)) in zip(ours.map(l2Normalized), normalised).enumerated() {
      XCTAssertLessThanOrEqual(maxAbsDifference(mine, theirs), 1e-5, "image \(index): image_embeds")
    }
  }
}
