import Foundation
import Synchronization
import XCTest

@testable import Store

/// The HNSW side of collections, with thresholds small enough that a few thousand vectors build, merge and
/// reload several graphs.
final class HNSWIndexTests: XCTestCase, @unchecked Sendable {
  var directory: String!
  let dimension = 32
  let settings = IndexSettings(hnswThreshold: 500, freshLimit: 256)

  override func setUp() {
    directory = NSTemporaryDirectory() + "hnsw-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDown() {
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// Vectors with the structure of embeddings: 40 clusters, each point its centre plus noise.
  func makeItems(_ count: Int, seed: UInt64, prefix: String = "i") -> [StoredItem] {
    var random = SeededRandom(seed: seed)
    let centres = (0..<40).map { _ in (0..<dimension).map { _ in Float.random(in: -1...1, using: &random) } }
    return (0..<count).map { i in
      let centre = centres[Int.random(in: 0..<40, using: &random)]
      let vector = centre.map { $0 + Float.random(in: -0.2...0.2, using: &random) }
      return StoredItem(
        id: "\(prefix)\(i)", modality: i % 2 == 0 ? "image" : "text", vector: vector, metadata: ["parity": i % 2 == 0 ? "even" : "odd"],
        source: "", contentHash: "h\(prefix)\(i)")
    }
  }

  /// Queries near the data (as real queries are): items of the same clusters that are not stored.
  func queries(_ count: Int, seed: UInt64) -> [[Float]] {
    makeItems(5000 + count, seed: seed).suffix(count).map(\.vector)
  }

  /// Mean recall@10 of the store's answers against brute force over `items`.
  func recall(_ store: CollectionStore, _ items: [StoredItem], queries: [[Float]], filter: SearchFilter = SearchFilter()) throws -> Double {
    let exact = ExactIndex(dimension: dimension)
    exact.upsert(items)
    var total = 0.0
    for query in queries {
      let truth = Set(exact.search(query, k: 10, filter: filter).map(\.id))
      let got = try store.search("c", query: query, k: 10, filter: filter)
      XCTAssertTrue(got.allSatisfy { filter.accepts(IndexedItem(id: $0.item.id, modality: $0.item.modality, metadata: $0.item.metadata)) })
      total += Double(got.filter { truth.contains($0.item.id) }.count) / Double(truth.count)
    }
    return total / Double(queries.count)
  }

  func testGraphsAreBuiltMergedAndAnswerWithHighRecall() throws {
    let store = try CollectionStore(directory: directory, index: settings)
    _ = try store.create(name: "c", space: "s", dimension: dimension)
    let items = makeItems(4000, seed: 1)
    for batch in stride(from: 0, to: items.count, by: 100) { try store.upsert("c", Array(items[batch..<batch + 100])) }
    try store.waitForIndexing()
    let status = try store.indexStatus("c")
    XCTAssertGreaterThanOrEqual(status.segments, 1)
    XCTAssertLessThanOrEqual(status.segments, 6, "merges keep the segment count near log2(n / freshLimit): \(status)")
    XCTAssertLessThan(status.fresh, settings.freshLimit)
    XCTAssertEqual(status.inGraphs + status.fresh, items.count)
    let recallAt10 = try recall(store, items, queries: queries(100, seed: 1))
    XCTAssertGreaterThanOrEqual(recallAt10, 0.95)
    let filtered = try recall(store, items, queries: queries(50, seed: 1), filter: SearchFilter(metadataEquals: ["parity": "odd"]))
    XCTAssertGreaterThanOrEqual(filtered, 0.9)
    // A filter no graph answer passes falls back to exact search and equals brute force.
    let rare = Array(items.prefix(3)).map { item -> StoredItem in
      var item = item
      item.metadata["rare"] = "yes"
      return item
    }
    try store.upsert("c", rare)
    try store.waitForIndexing()
    let rareHits = try store.search("c", query: items[1500].vector, k: 10, filter: SearchFilter(metadataEquals: ["rare": "yes"]))
    XCTAssertEqual(Set(rareHits.map(\.item.id)), Set(rare.map(\.id)))
  }

  func testRemovalsAndUpdatesTakeEffectAtOnceWhileBuildsRun() throws {
    let store = try CollectionStore(directory: directory, index: settings)
    _ = try store.create(name: "c", space: "s", dimension: dimension)
    let items = makeItems(3000, seed: 4)
    try store.upsert("c", items)
    try store.waitForIndexing()
    XCTAssertGreaterThanOrEqual(try store.indexStatus("c").segments, 1)
    let queryVectors = queries(20, seed: 4)
    let removed = Set(items.prefix(600).map(\.id))
    // Writers and searchers side by side while background builds run; a removed id must never come back
    // once its removal returned, and each updated item must be found at its new place.
    let failures = Mutex<[String]>([])
    DispatchQueue.concurrentPerform(iterations: 4) { worker in
      do {
        if worker == 0 {
          for chunk in stride(from: 0, to: 600, by: 50) {
            let ids = items[chunk..<chunk + 50].map(\.id)
            _ = try store.remove("c", ids: ids)
            for query in queryVectors.prefix(5) {
              let hits = try store.search("c", query: query, k: 50, filter: SearchFilter())
              if let stale = hits.first(where: { ids.contains($0.item.id) }) { failures.withLock { $0.append("removed \(stale.item.id) returned") } }
            }
          }
        } else if worker == 1 {
          for (n, query) in queryVectors.enumerated() {
            let id = items[2000 + n].id
            try store.upsert("c", [StoredItem(id: id, modality: "text", vector: query, metadata: [:], source: "", contentHash: "u\(n)")])
            let top = try store.search("c", query: query, k: 1, filter: SearchFilter())
            if top.first?.item.id != id { failures.withLock { $0.append("updated \(id) not first: \(top.map(\.item.id))") } }
          }
        } else {
          try store.upsert("c", makeItems(1000, seed: UInt64(10 + worker), prefix: "w\(worker)-"))
          for query in queryVectors { _ = try store.search("c", query: query, k: 10, filter: SearchFilter()) }
        }
      } catch {
        failures.withLock { $0.append("\(error)") }
      }
    }
    XCTAssertEqual(failures.withLock { $0 }, [])
    try store.waitForIndexing()
    let status = try store.indexStatus("c")
    XCTAssertEqual(status.inGraphs + status.fresh, 3000 - 600 + 2000)
    for query in queryVectors {
      XCTAssertTrue(try store.search("c", query: query, k: 100, filter: SearchFilter()).allSatisfy { !removed.contains($0.item.id) })
    }
  }

  /// The index is derived data: deleted, torn or stale files are rebuilt or corrected from the store.
  func testIndexFilesAreReloadedRebuiltAndCheckedAgainstTheStore() throws {
    let items = makeItems(2000, seed: 6)
    let queryVectors = queries(60, seed: 6)
    let indexFolder = SegmentFiles.directory(root: directory, collection: "c")
    do {
      let store = try CollectionStore(directory: directory, index: settings)
      _ = try store.create(name: "c", space: "s", dimension: dimension)
      try store.upsert("c", items)
      try store.waitForIndexing()
    }
    let saved = try FileManager.default.contentsOfDirectory(atPath: indexFolder).sorted()
    XCTAssertTrue(saved.contains("manifest.json") && saved.contains { $0.hasSuffix(".hnsw") }, "\(saved)")

    // Reopened: the saved graphs are loaded, nothing is rebuilt.
    do {
      let store = try CollectionStore(directory: directory, index: settings)
      XCTAssertGreaterThanOrEqual(try recall(store, items, queries: queryVectors), 0.95)
      try store.waitForIndexing()
      XCTAssertEqual(try store.indexStatus("c").inGraphs, items.count)
      XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: indexFolder).sorted(), saved)
    }

    // Deleted: searches are exact until the rebuild, which writes the files again.
    try FileManager.default.removeItem(atPath: indexFolder)
    do {
      let store = try CollectionStore(directory: directory, index: settings)
      XCTAssertGreaterThanOrEqual(try recall(store, items, queries: queryVectors), 0.95)
      try store.waitForIndexing()
      XCTAssertEqual(try store.indexStatus("c").inGraphs, items.count)
      XCTAssertTrue(FileManager.default.fileExists(atPath: indexFolder + "/manifest.json"))
    }

    // Torn: a graph file that does not match its checksum is dropped and rebuilt.
    let graphFile = indexFolder + "/" + (try FileManager.default.contentsOfDirectory(atPath: indexFolder).first { $0.hasSuffix(".hnsw") }!)
    let handle = FileHandle(forWritingAtPath: graphFile)!
    try handle.seek(toOffset: 200)
    handle.write(Data(repeating: 0xFF, count: 64))
    try handle.close()
    do {
      let store = try CollectionStore(directory: directory, index: settings)
      try store.waitForIndexing()
      XCTAssertEqual(try store.indexStatus("c").inGraphs, items.count)
      XCTAssertGreaterThanOrEqual(try recall(store, items, queries: queryVectors), 0.95)
    }

    // Stale: files from before later removals and updates; those labels must not answer.
    let stale = NSTemporaryDirectory() + "stale-\(UUID().uuidString.prefix(8))"
    defer { try? FileManager.default.removeItem(atPath: stale) }
    try FileManager.default.copyItem(atPath: indexFolder, toPath: stale)
    var current = items
    do {
      let store = try CollectionStore(directory: directory, index: IndexSettings(hnswThreshold: 500, freshLimit: 100_000))
      _ = try store.remove("c", ids: current.prefix(300).map(\.id))
      current.removeFirst(300)
      for n in 0..<10 { current[n].vector = queryVectors[n] }
      try store.upsert("c", Array(current.prefix(10)))
      try store.waitForIndexing()
    }
    try FileManager.default.removeItem(atPath: indexFolder)
    try FileManager.default.copyItem(atPath: stale, toPath: indexFolder)
    let store = try CollectionStore(directory: directory, index: IndexSettings(hnswThreshold: 500, freshLimit: 100_000))
    try store.waitForIndexing()
    let status = try store.indexStatus("c")
    XCTAssertEqual(status.inGraphs, current.count - 10, "removed and updated labels are dead: \(status)")
    XCTAssertEqual(status.fresh, 10)
    for n in 0..<10 {
      XCTAssertEqual(try store.search("c", query: queryVectors[n], k: 1, filter: SearchFilter()).first?.item.id, current[n].id)
    }
    let removed = Set(items.prefix(300).map(\.id))
    for query in queryVectors {
      XCTAssertTrue(try store.search("c", query: query, k: 30, filter: SearchFilter()).allSatisfy { !removed.contains($0.item.id) })
    }
  }
}

/// splitmix64: reproducible test data.
struct SeededRandom: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
