import Foundation
import XCTest

/// Paths of the committed fixtures (Fixtures/generate_media_fixtures.py) and of the fetched photos.
enum MediaFixtures {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
  /// scripts/fetch-test-data puts the scikit-image photos here; scripts/test runs it first.
  static let photos = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Data/skimage")

  static func json(_ name: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent(name))) as? [String: Any])
  }

  static func data(_ path: String) throws -> Data {
    try Data(contentsOf: directory.appendingPathComponent(path))
  }
}
