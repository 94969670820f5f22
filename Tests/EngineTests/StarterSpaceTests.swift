import Encoders
import Foundation
import Logging
import Tensor
import XCTest

@testable import Engine

/// The starter space as scripts/fetch-models builds it: MiniLM text plus EfficientNet-Lite0 images mapped into
/// MiniLM's space by the ConSE head. Real weights, real photos.
final class StarterSpaceTests: XCTestCase {
  static let models = fixtures.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Models")
  static let photos = fixtures.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Data/skimage")

  func testPhotosLandNearTheirCaptionsInTheTextSpace() async throws {
    let engine = try Engine(
      spaces: ["starter": [Self.models.appendingPathComponent("all-MiniLM-L6-v2").path, Self.models.appendingPathComponent("efficientnet-lite0").path]],
      logger: Logger(label: "test"))
    let space = try engine.space(named: "starter")
    XCTAssertEqual(space.dimension, 384)
    XCTAssertEqual(space.encoders.map(\.architecture), ["bert", "efficientnet_lite+conse"])
    let photos = ["chelsea.png", "coffee.png", "motorcycle_left.png"]
    let captions = ["a cat lying on a blanket", "a cup of coffee", "a motorcycle parked indoors"]
    let started = Date()
    let images = try await engine.embed(
      space: "starter", inputs: try photos.map { .image(try Data(contentsOf: Self.photos.appendingPathComponent($0))) }, options: EmbedOptions()
    ).results.map { try $0.get().vector }
    print("starter images: first call (class embeddings included) \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    let texts = try await engine.embed(space: "starter", inputs: captions.map { .text($0) }, options: EmbedOptions()).results.map { try $0.get().vector }
    for (index, image) in images.enumerated() {
      XCTAssertEqual(image.count, 384)
      XCTAssertEqual(sqrt(image.reduce(0) { $0 + $1 * $1 }), 1, accuracy: 1e-5)
      let scores = texts.map { zip(image, $0).reduce(0) { $0 + $1.0 * $1.1 } }
      XCTAssertEqual(scores.firstIndex(of: scores.max()!), index, "\(photos[index]): scores \(scores)")
    }
  }
}
