import Foundation
import GRDB
import Synchronization

/// What search needs of an item, held in memory beside the vector matrix.
struct IndexedItem {
  var id: String
  var modality: String
  var metadata: [String: String]
}

/// Collections of vectors in `collections.sqlite` (WAL, synchronous FULL: an acknowledged write is on disk),
/// each mirrored in memory for search (`CollectionIndex`: exact, plus HNSW graphs built in the background above
/// a size threshold and kept under `index/` as derived data).
public final class CollectionStore: CollectionBackend {
  private let database: any DatabaseWriter
  private let indexes = Mutex<[String: CollectionIndex]>([:])
  private let directory: String
  private let indexSettings: IndexSettings
  /// Background index work, one job at a time for the whole store (builds use every core themselves).
  private let indexQueue = DispatchQueue(label: "chorus.index", qos: .utility)

  /// `readOnly` for a read-only data dir: everything stored is served, every write fails (FAILED_PRECONDITION).
  public init(directory: String, index: IndexSettings = IndexSettings(), readOnly: Bool = false) throws {
    self.directory = directory
    indexSettings = index
    var configuration = Configuration()
    configuration.prepareDatabase { db in
      if !db.configuration.readonly { try db.execute(sql: "PRAGMA synchronous = FULL") }
      try db.execute(sql: "PRAGMA foreign_keys = ON")
    }
    database = try StoreDatabase.open(path: directory + "/collections.sqlite", readOnly: readOnly, configuration: configuration)
    if readOnly {
      guard try database.read({ try $0.tableExists("collections") }) else {
        throw StoreError.writeFailed(.readOnly, "the data dir is read-only and holds no collections file to serve")
      }
      return
    }
    try database.write { db in
      try db.execute(
        sql: """
          CREATE TABLE IF NOT EXISTS collections (
            name TEXT PRIMARY KEY NOT NULL, space TEXT NOT NULL, dimension INTEGER NOT NULL, created_ms INTEGER NOT NULL);
          CREATE TABLE IF NOT EXISTS items (
            collection TEXT NOT NULL REFERENCES collections(name) ON DELETE CASCADE,
            id TEXT NOT NULL, modality TEXT NOT NULL, vector BLOB NOT NULL, metadata TEXT NOT NULL,
            source TEXT NOT NULL, content_hash TEXT NOT NULL, updated_ms INTEGER NOT NULL,
            PRIMARY KEY (collection, id)) WITHOUT ROWID;
          CREATE INDEX IF NOT EXISTS items_by_content ON items(collection, content_hash);
          CREATE TABLE IF NOT EXISTS previews (
            collection TEXT NOT NULL, id TEXT NOT NULL, media_type TEXT NOT NULL, data BLOB NOT NULL,
            PRIMARY KEY (collection, id)) WITHOUT ROWID;
          """)
    }
    // Index folders of collections that no longer exist (deleted just before a crash) are dropped.
    let known = Set(try list().map { SegmentFiles.directory(root: directory, collection: $0.name) })
    for folder in (try? FileManager.default.contentsOfDirectory(atPath: directory + "/index")) ?? [] where !known.contains(directory + "/index/" + folder) {
      try? FileManager.default.removeItem(atPath: directory + "/index/" + folder)
    }
  }

  // MARK: Collections

  public func create(name: String, space: String, dimension: Int) throws -> CollectionInfo {
    let now = Self.now()
    try write { db in
      if try Bool.fetchOne(db, sql: "SELECT 1 FROM collections WHERE name = ?", arguments: [name]) == true {
        throw StoreError.collectionExists(name)
      }
      try db.execute(sql: "INSERT INTO collections (name, space, dimension, created_ms) VALUES (?, ?, ?, ?)", arguments: [name, space, dimension, now])
    }
    let files = segmentFiles(name, dimension: dimension)
    indexQueue.sync { files.removeAll() }
    indexes.withLock { $0[name] = CollectionIndex(dimension: dimension, items: [], files: files, settings: indexSettings, queue: indexQueue) }
    return CollectionInfo(name: name, space: space, dimension: dimension, count: 0, createdUnixMs: now)
  }

  public func list() throws -> [CollectionInfo] {
    try database.read { db in
      try Row.fetchAll(
        db,
        sql: """
          SELECT c.name, c.space, c.dimension, c.created_ms, (SELECT COUNT(*) FROM items i WHERE i.collection = c.name) AS count
          FROM collections c ORDER BY c.name
          """
      ).map { CollectionInfo(name: $0["name"], space: $0["space"], dimension: $0["dimension"], count: $0["count"], createdUnixMs: $0["created_ms"]) }
    }
  }

  public func info(_ name: String) throws -> CollectionInfo {
    guard let info = try list().first(where: { $0.name == name }) else { throw try notFound(name) }
    return info
  }

  public func shape(_ name: String) throws -> CollectionShape {
    let row = try database.read { try Row.fetchOne($0, sql: "SELECT space, dimension FROM collections WHERE name = ?", arguments: [name]) }
    guard let row else { throw try notFound(name) }
    return CollectionShape(space: row["space"], dimension: row["dimension"])
  }

  /// The embedded store is in this process: it is never unreachable (a full or read-only disk fails writes only).
  public var unavailableReason: String? { nil }

  /// Deletes the collection and its items; returns how many items it held.
  public func delete(_ name: String) throws -> Int {
    let count = try write { db -> Int in
      guard try Bool.fetchOne(db, sql: "SELECT 1 FROM collections WHERE name = ?", arguments: [name]) == true else { throw try self.notFound(name, db) }
      let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM items WHERE collection = ?", arguments: [name]) ?? 0
      try db.execute(sql: "DELETE FROM items WHERE collection = ?", arguments: [name])
      try db.execute(sql: "DELETE FROM previews WHERE collection = ?", arguments: [name])
      try db.execute(sql: "DELETE FROM collections WHERE name = ?", arguments: [name])
      return count
    }
    let index = indexes.withLock { $0.removeValue(forKey: name) }
    if let index { index.close() } else { indexQueue.async { [self] in segmentFiles(name, dimension: 0).removeAll() } }
    return count
  }

  // MARK: Items

  /// Inserts or replaces items in one transaction; when it returns, they are on disk.
  public func upsert(_ collection: String, _ items: [StoredItem]) throws {
    let dimension = try self.dimension(collection)
    for item in items where item.vector.count != dimension {
      throw StoreError.invalid("item '\(item.id)' has a vector of dimension \(item.vector.count); collection '\(collection)' holds \(dimension)")
    }
    let now = Self.now()
    try write { db in
      let statement = try db.cachedStatement(
        sql: "INSERT OR REPLACE INTO items (collection, id, modality, vector, metadata, source, content_hash, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      // An item's preview is replaced with it (or dropped, when the new content has none), in the same transaction.
      let dropPreview = try db.cachedStatement(sql: "DELETE FROM previews WHERE collection = ? AND id = ?")
      let putPreview = try db.cachedStatement(sql: "INSERT INTO previews (collection, id, media_type, data) VALUES (?, ?, ?, ?)")
      for item in items {
        try statement.execute(arguments: [
          collection, item.id, item.modality, VectorCache.blob(item.vector), StoredItem.json(item.metadata), item.source, item.contentHash, now,
        ])
        try dropPreview.execute(arguments: [collection, item.id])
        if let preview = item.preview { try putPreview.execute(arguments: [collection, item.id, preview.mediaType, preview.data]) }
      }
    }
    let index = try self.index(collection)
    index.upsert(items)
  }

  /// Removes items; returns the ids that were not there.
  public func remove(_ collection: String, ids: [String]) throws -> [String] {
    _ = try dimension(collection)
    let missing = try write { db -> [String] in
      var missing: [String] = []
      for id in ids {
        try db.execute(sql: "DELETE FROM items WHERE collection = ? AND id = ?", arguments: [collection, id])
        if db.changesCount == 0 { missing.append(id) }
        try db.execute(sql: "DELETE FROM previews WHERE collection = ? AND id = ?", arguments: [collection, id])
      }
      return missing
    }
    try index(collection).remove(Set(ids))
    return missing
  }

  public func items(_ collection: String, ids: [String]) throws -> [StoredItem] {
    _ = try dimension(collection)
    // One statement for the lot (a search hydrates its k hits this way); results in the order asked.
    var found: [String: StoredItem] = [:]
    try database.read { db in
      for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
        let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
        for row in try Row.fetchAll(
          db, sql: "SELECT * FROM items WHERE collection = ? AND id IN (\(marks))", arguments: StatementArguments([collection] + chunk))
        {
          let item = Self.item(row)
          found[item.id] = item
        }
      }
    }
    return ids.compactMap { found[$0] }
  }

  /// Items in id order after `after` (exclusive), at most `limit`.
  public func page(_ collection: String, after: String, limit: Int) throws -> [StoredItem] {
    _ = try dimension(collection)
    return try database.read { db in
      try Row.fetchAll(db, sql: "SELECT * FROM items WHERE collection = ? AND id > ? ORDER BY id LIMIT ?", arguments: [collection, after, limit]).map(Self.item)
    }
  }

  /// The item's preview; nil when the item has none. Throws `itemNotFound` for an item that is not there.
  public func preview(_ collection: String, id: String) throws -> ItemPreview? {
    _ = try dimension(collection)
    return try database.read { db in
      guard try Bool.fetchOne(db, sql: "SELECT 1 FROM items WHERE collection = ? AND id = ?", arguments: [collection, id]) == true else {
        throw StoreError.itemNotFound(collection: collection, id: id)
      }
      return try Row.fetchOne(db, sql: "SELECT media_type, data FROM previews WHERE collection = ? AND id = ?", arguments: [collection, id]).map {
        ItemPreview(mediaType: $0["media_type"], data: $0["data"])
      }
    }
  }

  public func presentContent(_ collection: String, hashes: [String]) throws -> [String] {
    _ = try dimension(collection)
    return try database.read { db in
      try hashes.filter { hash in
        try Bool.fetchOne(db, sql: "SELECT 1 FROM items WHERE collection = ? AND content_hash = ? LIMIT 1", arguments: [collection, hash]) == true
      }
    }
  }

  /// Top-k by cosine similarity with the filter applied (exact, or HNSW above the threshold), with the items.
  public func search(_ collection: String, query: [Float], k: Int, filter: SearchFilter, efSearch: Int? = nil) throws -> [SearchHit] {
    let ranked = try rank(collection, query: query, k: k, filter: filter, efSearch: efSearch)
    let stored = try items(collection, ids: ranked.map(\.id))
    let byID = Dictionary(stored.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    return ranked.compactMap { hit in byID[hit.id].map { SearchHit(item: $0, score: hit.score) } }
  }

  /// The ids and scores of a search, from memory alone (no item is read from the file).
  public func rank(_ collection: String, query: [Float], k: Int, filter: SearchFilter, efSearch: Int? = nil) throws -> [(id: String, score: Float)] {
    // The index knows the dimension: info() would count the collection's rows on every search.
    let index = try self.index(collection)
    guard query.count == index.dimension else {
      throw StoreError.invalid("the query vector has dimension \(query.count); collection '\(collection)' holds \(index.dimension)")
    }
    return index.search(query, k: k, filter: filter, efSearch: efSearch)
  }

  /// How far the collection's HNSW index has got.
  public func indexStatus(_ collection: String) throws -> IndexStatus {
    try index(collection).status
  }

  /// Opens every collection's index and returns once no background index work is queued or running (tests,
  /// benchmarks).
  public func waitForIndexing() throws {
    for collection in try list() { _ = try index(collection.name) }
    while true {
      indexQueue.sync {}
      let busy = indexes.withLock { $0.values.contains { $0.status.building } }
      if !busy { return }
    }
  }

  /// The in-memory index of a collection, loaded from the store the first time it is needed (its saved HNSW
  /// segments are then loaded and checked in the background).
  private func index(_ collection: String) throws -> CollectionIndex {
    if let index = indexes.withLock({ $0[collection] }) { return index }
    let dimension = try self.dimension(collection)
    let all = try database.read { db in
      try Row.fetchAll(db, sql: "SELECT * FROM items WHERE collection = ?", arguments: [collection]).map(Self.item)
    }
    return indexes.withLock { indexes in
      if let existing = indexes[collection] { return existing }
      let index = CollectionIndex(
        dimension: dimension, items: all, files: segmentFiles(collection, dimension: dimension), settings: indexSettings, queue: indexQueue)
      indexes[collection] = index
      return index
    }
  }

  private func segmentFiles(_ collection: String, dimension: Int) -> SegmentFiles {
    SegmentFiles(directory: SegmentFiles.directory(root: directory, collection: collection), dimension: dimension, parameters: indexSettings.hnsw)
  }

  /// The collection's dimension, or collectionNotFound (cheap: info() also counts the items).
  private func dimension(_ collection: String) throws -> Int {
    if let dimension = try database.read({ try Int.fetchOne($0, sql: "SELECT dimension FROM collections WHERE name = ?", arguments: [collection]) }) {
      return dimension
    }
    throw try notFound(collection)
  }

  private func write<T>(_ body: (Database) throws -> T) throws -> T {
    do {
      return try database.write(body)
    } catch let error as StoreError {
      throw error
    } catch let error as DatabaseError {
      let detail = error.message ?? "SQLite error \(error.resultCode)"
      switch error.resultCode {
      case .SQLITE_FULL: throw StoreError.writeFailed(.diskFull, detail)
      case .SQLITE_READONLY: throw StoreError.writeFailed(.readOnly, detail)
      case .SQLITE_BUSY, .SQLITE_LOCKED: throw StoreError.writeFailed(.busy, detail)
      default: throw StoreError.writeFailed(.other, detail)
      }
    }
  }

  private func notFound(_ name: String, _ db: Database? = nil) throws -> StoreError {
    let names = try db.map { try String.fetchAll($0, sql: "SELECT name FROM collections ORDER BY name") }
      ?? database.read { try String.fetchAll($0, sql: "SELECT name FROM collections ORDER BY name") }
    return .collectionNotFound(name, available: names)
  }

  private static func item(_ row: Row) -> StoredItem {
    StoredItem(
      id: row["id"], modality: row["modality"], vector: VectorCache.floats(row["vector"]), metadata: StoredItem.metadata(json: row["metadata"]), source: row["source"],
      contentHash: row["content_hash"], updatedUnixMs: row["updated_ms"])
  }

  private static func now() -> Int64 { StoredItem.nowMs() }
}
