import Foundation
import XCTest

@testable import Media

/// Every JPEG/PNG variant decodes to the pixels transformers' load_image gives (formats.json), and
/// every bad file gets its own clear error (bad.json).
final class DecoderTests: XCTestCase {
  func testEveryFormatEqualsPillow() throws {
    let expected = try MediaFixtures.json("formats.json")
    XCTAssertGreaterThanOrEqual(expected.count, 25)
    for (name, value) in expected.sorted(by: { $0.key < $1.key }) {
      let entry = try XCTUnwrap(value as? [String: Any])
      let reference = [UInt8](try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(entry["rgb"] as? String))))
      let image = try ImageDecoder().decode(try MediaFixtures.data("formats/\(name)"))
      XCTAssertEqual(image.width, entry["width"] as? Int, name)
      XCTAssertEqual(image.height, entry["height"] as? Int, name)
      guard image.pixels.count == reference.count else { continue }
      let differences = zip(image.pixels, reference).map { abs(Int($0) - Int($1)) }
      XCTAssertEqual(differences.max(), 0, "\(name): \(differences.filter { $0 > 0 }.count) of \(reference.count) samples differ")
    }
  }

  func testEXIFOrientationCanBeTurnedOff() throws {
    let rotated = try MediaFixtures.data("formats/exif-orientation-6.jpg")
    let upright = try ImageDecoder().decode(rotated)
    let asStored = try ImageDecoder(applyEXIFOrientation: false).decode(rotated)
    XCTAssertEqual([upright.width, upright.height], [asStored.height, asStored.width])
    XCTAssertEqual(asStored, try ImageDecoder().decode(try MediaFixtures.data("formats/exif-orientation-1.jpg")))
  }

  func testBadFilesGetTheirOwnClearErrors() throws {
    let cases = try MediaFixtures.json("bad.json")
    XCTAssertGreaterThanOrEqual(cases.count, 12)
    for (name, value) in cases.sorted(by: { $0.key < $1.key }) {
      let entry = try XCTUnwrap(value as? [String: String])
      XCTAssertThrowsError(try ImageDecoder().decode(try MediaFixtures.data("bad/\(name)")), name) { error in
        let failure = error as! MediaDecodeError
        XCTAssertEqual(failure.kind == .overLimit ? "RESOURCE_EXHAUSTED" : "INVALID_ARGUMENT", entry["code"], "\(name): \(failure)")
        XCTAssertTrue(failure.message.contains(entry["contains"]!), "\(name): '\(failure.message)' lacks '\(entry["contains"]!)'")
      }
    }
  }

  func testPixelLimitIsConfigurable() throws {
    let photo = try MediaFixtures.data("formats/rgb.png")  // 61x43
    XCTAssertNoThrow(try ImageDecoder(maxPixels: 61 * 43).decode(photo))
    XCTAssertThrowsError(try ImageDecoder(maxPixels: 61 * 43 - 1).decode(photo)) { error in
      XCTAssertEqual((error as! MediaDecodeError).kind, .overLimit)
    }
  }
}
