import Foundation
import XCTest

@testable import Media

/// Real photos through decode + preprocessing vs transformers' PIL image processors (photos.json, photos/).
final class PreprocessingParityTests: XCTestCase {
  func testRealPhotosEqualTheReferenceProcessors() throws {
    let fixture = try MediaFixtures.json("photos.json")
    let photos = try XCTUnwrap(fixture["photos"] as? [String])
    let configs = try XCTUnwrap(fixture["configs"] as? [String: [String: Any]])
    let tables = try XCTUnwrap(fixture["tables"] as? [String: [[Double]]])
    XCTAssertGreaterThanOrEqual(photos.count, 10)
    for (name, config) in configs.sorted(by: { $0.key < $1.key }) {
      let preprocessor = try ImagePreprocessor(values: config, origin: name)
      let table = try XCTUnwrap(tables[name]).map { $0.map(Float.init) }
      var worst: Float = 0
      for photo in photos {
        let source = try Data(contentsOf: MediaFixtures.photos.appendingPathComponent(photo))
        let reference = try ImageDecoder().decode(try MediaFixtures.data("photos/\(name)/\((photo as NSString).deletingPathExtension).png"))
        let ours = preprocessor.pixels(try ImageDecoder().decode(source))
        XCTAssertEqual(ours.count, reference.pixels.count, "\(name)/\(photo)")
        guard ours.count == reference.pixels.count else { continue }
        let plane = reference.width * reference.height
        var differing = 0
        for channel in 0..<3 {
          for index in 0..<plane {
            let expected = table[channel][Int(reference.pixels[index * 3 + channel])]
            let difference = abs(ours[channel * plane + index] - expected)
            if difference > 0 { differing += 1 }
            worst = max(worst, difference)
          }
        }
        XCTAssertEqual(differing, 0, "\(name)/\(photo): \(differing) of \(ours.count) values differ from the reference")
      }
      print("preprocessing parity \(name): \(photos.count) photos, max abs difference \(worst)")
    }
  }

  func testConfigErrorsNameTheKey() {
    // SigLIP 2's NaFlex processor resizes to a patch budget, not a size: not supported.
    XCTAssertThrowsError(try ImagePreprocessor(values: ["image_processor_type": "Siglip2ImageProcessor"], origin: "p.json")) {
      XCTAssertTrue(
        "\($0)".contains("'image_processor_type' 'Siglip2ImageProcessor' is not supported (supported: CLIPImageProcessor, ViTImageProcessor, SiglipImageProcessor)"),
        "\($0)")
    }
    XCTAssertThrowsError(try ImagePreprocessor(values: ["resample": 0], origin: "p.json")) {
      XCTAssertTrue("\($0)".contains("p.json: 'resample' 0 is not supported"), "\($0)")
    }
    XCTAssertThrowsError(try ImagePreprocessor(values: ["image_mean": [0.5]], origin: "p.json")) {
      XCTAssertTrue("\($0)".contains("'image_mean' must be a number or a list of 3 numbers"), "\($0)")
    }
  }
}
