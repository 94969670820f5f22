import Foundation
import GRDB
import Synchronization

/// The vector cache's persistent tier in `cache.sqlite` in the data dir (WAL), bounded in bytes: the entries used
/// longest ago are deleted first.
final class SQLiteCacheTier: VectorCacheTier {
  private struct Usage {
    var bytes = 0
    var entries = 0
  }

  private let database: any DatabaseWriter
  private let state: Mutex<Usage>
  let limitBytes: Int

  init(directory: String, limitBytes: Int, readOnly: Bool) throws {
    var configuration = Configuration()
    // The cache can always be recomputed: NORMAL keeps commits cheap; WAL keeps readers off the writer's back.
    if !readOnly { configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") } }
    database = try StoreDatabase.open(path: directory + "/cache.sqlite", readOnly: readOnly, configuration: configuration)
    if !readOnly { try Self.createSchema(database) }
    let (bytes, count) = try database.read { db -> (Int, Int) in
      guard try db.tableExists("vectors") else { return (0, 0) }
      let row = try Row.fetchOne(db, sql: "SELECT COALESCE(SUM(LENGTH(vector)), 0) + COUNT(*) * 96, COUNT(*) FROM vectors")!
      return (row[0], row[1])
    }
    state = Mutex(Usage(bytes: bytes, entries: count))
    self.limitBytes = limitBytes
  }

  private static func createSchema(_ database: any DatabaseWriter) throws {
    try database.write { db in
      try db.execute(
        sql: """
          CREATE TABLE IF NOT EXISTS vectors (
            key TEXT PRIMARY KEY NOT NULL,
            vector BLOB NOT NULL,
            truncated INTEGER NOT NULL,
            used_ms INTEGER NOT NULL
          ) WITHOUT ROWID;
          CREATE INDEX IF NOT EXISTS vectors_by_use ON vectors(used_ms);
          """)
    }
  }

  var usage: (bytes: Int, entries: Int) { state.withLock { ($0.bytes, $0.entries) } }

  /// Synchronous on the caller's thread, as before the tier became a protocol: a file read takes microseconds, and
  /// GRDB's async variant hops through its reader pool (a storm of lookups then queued there, and requests reached
  /// the batcher late and staggered).
  func fetch(_ key: String) async -> VectorCache.Entry? { lookup(key) }

  func store(_ entries: [(key: String, entry: VectorCache.Entry)]) async -> Int { insert(entries) }

  private func lookup(_ key: String) -> VectorCache.Entry? {
    let found = try? database.read { db -> VectorCache.Entry? in
      guard let row = try Row.fetchOne(db, sql: "SELECT vector, truncated FROM vectors WHERE key = ?", arguments: [key]) else { return nil }
      return VectorCache.Entry(vector: VectorCache.floats(row["vector"]), truncated: row["truncated"])
    }
    guard let found else { return nil }
    try? database.write { db in
      try db.execute(sql: "UPDATE vectors SET used_ms = ? WHERE key = ?", arguments: [StoredItem.nowMs(), key])
    }
    return found
  }

  private func insert(_ entries: [(key: String, entry: VectorCache.Entry)]) -> Int {
    let now = StoredItem.nowMs()
    let added = try? database.write { db -> (bytes: Int, count: Int) in
      var bytes = 0, count = 0
      // New keys are inserted (and counted); known ones only refresh their vector and use time.
      let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO vectors (key, vector, truncated, used_ms) VALUES (?, ?, ?, ?)")
      let update = try db.cachedStatement(sql: "UPDATE vectors SET vector = ?, truncated = ?, used_ms = ? WHERE key = ?")
      for item in entries {
        let blob = VectorCache.blob(item.entry.vector)
        try insert.execute(arguments: [item.key, blob, item.entry.truncated, now])
        if db.changesCount > 0 {
          bytes += blob.count + 96
          count += 1
        } else {
          try update.execute(arguments: [blob, item.entry.truncated, now, item.key])
        }
      }
      return (bytes, count)
    }
    guard let added else { return 0 }
    let over = state.withLock { state -> Bool in
      state.bytes += added.bytes
      state.entries += added.count
      return state.bytes > limitBytes
    }
    return over ? trim() : 0
  }

  /// Deletes the least recently used entries until the tier is 10 % under its limit; returns how many.
  private func trim() -> Int {
    let target = limitBytes / 10 * 9
    let removed = try? database.write { db -> (bytes: Int, count: Int) in
      var bytes = 0, count = 0
      var total = state.withLock { $0.bytes }
      while total > target {
        let rows = try Row.fetchAll(db, sql: "SELECT key, LENGTH(vector) AS size FROM vectors ORDER BY used_ms LIMIT 256")
        if rows.isEmpty { break }
        for row in rows {
          try db.execute(sql: "DELETE FROM vectors WHERE key = ?", arguments: [row["key"] as String])
          let size: Int = row["size"]
          bytes += size + 96
          count += 1
          total -= size + 96
          if total <= target { break }
        }
      }
      return (bytes, count)
    }
    guard let removed else { return 0 }
    state.withLock { state in
      state.bytes -= removed.bytes
      state.entries -= removed.count
    }
    return removed.count
  }
}
