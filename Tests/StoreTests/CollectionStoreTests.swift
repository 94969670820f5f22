import Foundation
import XCTest

@testable import Store

/// The collection store's promises, checked against both backends: the embedded store in a data dir and the
/// PostgreSQL store on a real PostgreSQL with pgvector (`TestPostgres`). "Reopening" is a new `CollectionStore` on
/// the same folder, or a new connection pool on the same database.
final class CollectionStoreTests: XCTestCase {
  var directory: String!

  override func setUp() {
    directory = NSTemporaryDirectory() + "collections-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDown() {
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// Each backend as a way to open (and reopen) one store.
  func backends() throws -> [(name: String, open: () async throws -> any CollectionBackend)] {
    let url = try TestPostgres.shared.get().newDatabase()
    let directory = self.directory!
    return [
      ("embedded", { try CollectionStore(directory: directory) }),
      ("postgresql", { try await TestPostgres.open(url) }),
    ]
  }

  func item(_ id: String, _ vector: [Float], modality: String = "text", metadata: [String: String] = [:]) -> StoredItem {
    StoredItem(id: id, modality: modality, vector: vector, metadata: metadata, source: "/src/\(id)", contentHash: "h-\(id)")
  }

  func testCollectionLifecycleAndErrors() async throws {
    for (name, open) in try backends() {
      let store = try await open()
      _ = try await store.create(name: "a", space: "starter", dimension: 3)
      await assertThrows(name, try await store.create(name: "a", space: "starter", dimension: 3)) { XCTAssertEqual($0 as? StoreError, .collectionExists("a")) }
      await assertThrows(name, try await store.info("b")) { XCTAssertEqual($0 as? StoreError, .collectionNotFound("b", available: ["a"])) }
      try await store.upsert("a", [item("x", [1, 0, 0]), item("y", [0, 1, 0])])
      let info = try await store.info("a")
      XCTAssertEqual(info.count, 2, name)
      let got1 = try await store.shape("a")
      XCTAssertEqual(got1, CollectionShape(space: "starter", dimension: 3), name)
      await assertThrows(name, try await store.upsert("a", [item("z", [1, 0])])) { XCTAssertTrue("\($0)".contains("dimension 2"), "\($0)") }
      await assertThrows(name, try await store.delete("b")) { XCTAssertEqual($0 as? StoreError, .collectionNotFound("b", available: ["a"])) }
      let got2 = try await store.delete("a")
      XCTAssertEqual(got2, 2, name)
      let got3 = try await store.list()
      XCTAssertEqual(got3, [], name)
    }
  }

  func testItemsPagesRemovalAndContent() async throws {
    for (name, open) in try backends() {
      let store = try await open()
      _ = try await store.create(name: "c", space: "s", dimension: 2)
      try await store.upsert("c", (0..<5).map { item("id\($0)", [Float($0), 1], metadata: ["n": "\($0)"]) })
      let got4 = try await store.items("c", ids: ["id3", "missing"]).map(\.metadata)
      XCTAssertEqual(got4, [["n": "3"]], name)
      let got5 = try await store.page("c", after: "", limit: 2).map(\.id)
      XCTAssertEqual(got5, ["id0", "id1"], name)
      let got6 = try await store.page("c", after: "id1", limit: 10).map(\.id)
      XCTAssertEqual(got6, ["id2", "id3", "id4"], name)
      let got7 = try await store.presentContent("c", hashes: ["h-id2", "h-nope"])
      XCTAssertEqual(got7, ["h-id2"], name)
      let got8 = try await store.remove("c", ids: ["id1", "nope"])
      XCTAssertEqual(got8, ["nope"], name)
      let hits = try await store.search("c", query: [1, 1], k: 10, filter: SearchFilter(), efSearch: nil)
      XCTAssertFalse(hits.map(\.item.id).contains("id1"), "\(name): removal takes effect at once")
      // The last version of an id in one upsert wins.
      try await store.upsert("c", [item("dup", [1, 0], metadata: ["v": "1"]), item("dup", [0, 1], metadata: ["v": "2"])])
      let got9 = try await store.items("c", ids: ["dup"]).map(\.metadata)
      XCTAssertEqual(got9, [["v": "2"]], name)
    }
  }

  /// Previews are written with their items, replaced or dropped with them, and survive reopening.
  func testPreviewsFollowTheirItems() async throws {
    let jpeg = ItemPreview(mediaType: "image/jpeg", data: Data([0xFF, 0xD8, 0xFF]))
    for (name, open) in try backends() {
      do {
        let store = try await open()
        _ = try await store.create(name: "p", space: "s", dimension: 2)
        var photo = item("photo", [1, 0], modality: "image")
        photo.preview = jpeg
        try await store.upsert("p", [photo, item("plain", [0, 1])])
        let got10 = try await store.preview("p", id: "photo")
        XCTAssertEqual(got10, jpeg, name)
        let got11 = try await store.preview("p", id: "plain")
        XCTAssertNil(got11, name)
        await assertThrows(name, try await store.preview("p", id: "missing")) {
          XCTAssertEqual($0 as? StoreError, .itemNotFound(collection: "p", id: "missing"))
        }
        let got12 = try await store.items("p", ids: ["photo"])[0].preview
        XCTAssertNil(got12, "\(name): reading items never loads previews")
      }
      let store = try await open()
      let got13 = try await store.preview("p", id: "photo")
      XCTAssertEqual(got13, jpeg, "\(name): durable")
      try await store.upsert("p", [item("photo", [1, 1])])
      let got14 = try await store.preview("p", id: "photo")
      XCTAssertNil(got14, "\(name): new content without a preview drops the old one")
      var again = item("photo", [1, 0])
      again.preview = jpeg
      try await store.upsert("p", [again])
      _ = try await store.remove("p", ids: ["photo"])
      try await store.upsert("p", [item("photo", [1, 0])])
      let got15 = try await store.preview("p", id: "photo")
      XCTAssertNil(got15, "\(name): removed with its item")
      again.id = "other"
      try await store.upsert("p", [again])
      _ = try await store.delete("p")
      _ = try await store.create(name: "p", space: "s", dimension: 2)
      try await store.upsert("p", [item("other", [1, 0])])
      let got16 = try await store.preview("p", id: "other")
      XCTAssertNil(got16, "\(name): deleted with its collection")
    }
  }

  /// Exact search with filters equals a brute-force ranking, after reopening (the embedded index rebuilt from
  /// disk; a new pool on the database).
  func testSearchEqualsBruteForce() async throws {
    var generator = SystemRandomNumberGenerator()
    let dimension = 16
    let items = (0..<300).map { i in
      item(
        "i\(i)", (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) }, modality: i % 3 == 0 ? "image" : "text",
        metadata: ["color": ["red", "green", "blue"][i % 3 == 1 ? 0 : i % 2], "even": i % 2 == 0 ? "yes" : "no"])
    }
    for (name, open) in try backends() {
      do {
        let store = try await open()
        _ = try await store.create(name: "v", space: "s", dimension: dimension)
        try await store.upsert("v", items)
      }
      let store = try await open()
      for _ in 0..<10 {
        let query = (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) }
        for filter in [SearchFilter(), SearchFilter(modalities: ["text"]), SearchFilter(metadataEquals: ["color": "red", "even": "no"])] {
          let hits = try await store.search("v", query: query, k: 7, filter: filter, efSearch: nil)
          let expected = items.filter { filter.accepts(IndexedItem(id: $0.id, modality: $0.modality, metadata: $0.metadata)) }
            .map { ($0.id, cosine($0.vector, query)) }
            .sorted { $0.1 > $1.1 }.prefix(7)
          XCTAssertEqual(hits.map(\.item.id), expected.map(\.0), name)
          for (hit, reference) in zip(hits, expected) { XCTAssertEqual(hit.score, reference.1, accuracy: 1e-5, name) }
        }
      }
    }
  }

  private func assertThrows<T>(_ name: String, _ body: @autoclosure () async throws -> T, _ check: (any Error) -> Void) async {
    do {
      _ = try await body()
      XCTFail("\(name): expected an error")
    } catch {
      check(error)
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
