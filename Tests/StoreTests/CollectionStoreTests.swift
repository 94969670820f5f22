import Foundation
import XCTest

@testable import Store

final class CollectionStoreTests: XCTestCase {
  var directory: String!

  override func setUp() {
    directory = NSTemporaryDirectory() + "collections-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDown() {
    try? FileManager.default.removeItem(atPath: directory)
  }

  func item(_ id: String, _ vector: [Float], modality: String = "text", metadata: [String: String] = [:]) -> StoredItem {
    StoredItem(id: id, modality: modality, vector: vector, metadata: metadata, source: "/src/\(id)", contentHash: "h-\(id)")
  }

  func testCollectionLifecycleAndErrors() throws {
    let store = try CollectionStore(directory: directory)
    _ = try store.create(name: "a", space: "starter", dimension: 3)
    XCTAssertThrowsError(try store.create(name: "a", space: "starter", dimension: 3)) { XCTAssertEqual($0 as? StoreError, .collectionExists("a")) }
    XCTAssertThrowsError(try store.info("b")) { XCTAssertEqual($0 as? StoreError, .collectionNotFound("b", available: ["a"])) }
    try store.upsert("a", [item("x", [1, 0, 0]), item("y", [0, 1, 0])])
    XCTAssertEqual(try store.info("a").count, 2)
    XCTAssertThrowsError(try store.upsert("a", [item("z", [1, 0])])) { XCTAssertTrue("\($0)".contains("dimension 2"), "\($0)") }
    XCTAssertEqual(try store.delete("a"), 2)
    XCTAssertEqual(try store.list(), [])
  }

  func testItemsPagesRemovalAndContent() throws {
    let store = try CollectionStore(directory: directory)
    _ = try store.create(name: "c", space: "s", dimension: 2)
    try store.upsert("c", (0..<5).map { item("id\($0)", [Float($0), 1], metadata: ["n": "\($0)"]) })
    XCTAssertEqual(try store.items("c", ids: ["id3", "missing"]).map(\.metadata), [["n": "3"]])
    XCTAssertEqual(try store.page("c", after: "", limit: 2).map(\.id), ["id0", "id1"])
    XCTAssertEqual(try store.page("c", after: "id1", limit: 10).map(\.id), ["id2", "id3", "id4"])
    XCTAssertEqual(try store.presentContent("c", hashes: ["h-id2", "h-nope"]), ["h-id2"])
    XCTAssertEqual(try store.remove("c", ids: ["id1", "nope"]), ["nope"])
    XCTAssertFalse(try store.search("c", query: [1, 1], k: 10, filter: SearchFilter()).map(\.item.id).contains("id1"), "removal takes effect at once")
  }

  /// Previews are written with their items, replaced or dropped with them, and survive reopening.
  func testPreviewsFollowTheirItems() throws {
    let jpeg = ItemPreview(mediaType: "image/jpeg", data: Data([0xFF, 0xD8, 0xFF]))
    do {
      let store = try CollectionStore(directory: directory)
      _ = try store.create(name: "p", space: "s", dimension: 2)
      var photo = item("photo", [1, 0], modality: "image")
      photo.preview = jpeg
      try store.upsert("p", [photo, item("plain", [0, 1])])
      XCTAssertEqual(try store.preview("p", id: "photo"), jpeg)
      XCTAssertNil(try store.preview("p", id: "plain"))
      XCTAssertThrowsError(try store.preview("p", id: "missing")) { XCTAssertEqual($0 as? StoreError, .itemNotFound(collection: "p", id: "missing")) }
      XCTAssertNil(try store.items("p", ids: ["photo"])[0].preview, "reading items never loads previews")
    }
    let store = try CollectionStore(directory: directory)
    XCTAssertEqual(try store.preview("p", id: "photo"), jpeg, "durable")
    try store.upsert("p", [item("photo", [1, 1])])
    XCTAssertNil(try store.preview("p", id: "photo"), "new content without a preview drops the old one")
    var again = item("photo", [1, 0])
    again.preview = jpeg
    try store.upsert("p", [again])
    _ = try store.remove("p", ids: ["photo"])
    try store.upsert("p", [item("photo", [1, 0])])
    XCTAssertNil(try store.preview("p", id: "photo"), "removed with its item")
    again.id = "other"
    try store.upsert("p", [again])
    _ = try store.delete("p")
    _ = try store.create(name: "p", space: "s", dimension: 2)
    try store.upsert("p", [item("other", [1, 0])])
    XCTAssertNil(try store.preview("p", id: "other"), "deleted with its collection")
  }

  /// Exact search with filters equals a brute-force ranking, before and after reopening (index rebuilt from disk).
  func testSearchEqualsBruteForce() throws {
    var generator = SystemRandomNumberGenerator()
    let dimension = 16
    let items = (0..<300).map { i in
      item(
        "i\(i)", (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) }, modality: i % 3 == 0 ? "image" : "text",
        metadata: ["color": ["red", "green", "blue"][i % 3 == 1 ? 0 : i % 2], "even": i % 2 == 0 ? "yes" : "no"])
    }
    do {
      let store = try CollectionStore(directory: directory)
      _ = try store.create(name: "v", space: "s", dimension: dimension)
      try store.upsert("v", items)
    }
    let store = try CollectionStore(directory: directory)
    for _ in 0..<10 {
      let query = (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) }
      for filter in [SearchFilter(), SearchFilter(modalities: ["text"]), SearchFilter(metadataEquals: ["color": "red", "even": "no"])] {
        let hits = try store.search("v", query: query, k: 7, filter: filter)
        let expected = items.filter { filter.accepts(IndexedItem(id: $0.id, modality: $0.modality, metadata: $0.metadata)) }
          .map { ($0.id, cosine($0.vector, query)) }
          .sorted { $0.1 > $1.1 }.prefix(7)
        XCTAssertEqual(hits.map(\.item.id), expected.map(\.0))
        for (hit, reference) in zip(hits, expected) { XCTAssertEqual(hit.score, reference.1, accuracy: 1e-5) }
      }
    }
  }

  private func cosine(_ a: [Float], _ b: [Float]) -> Float {
    var dot: Float = 0, na: Float = 0, nb: Float = 0
    for (x, y) in zip(a, b) {
      dot += x * y
      na += x * x
      nb += y * y
    }
    return dot / (na.squareRoot() * nb.squareRoot())
  }
}
