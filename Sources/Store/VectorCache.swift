import Foundation
import GRDB
import Synchronization

/// The shared, persistent vector cache: key → vector, for every client and every call.
///
/// Two tiers: an in-memory LRU bounded in bytes, and an SQLite file in the data dir (WAL) bounded in bytes too,
/// evicting the entries used longest ago. The key is a SHA-256 of (encoder fingerprint, modality, input bytes)
/// made by the engine, so a changed model never serves stale vectors.
public final class VectorCache: Sendable {
  public struct Entry: Sendable, Equatable {
    /// The model's vector before Chorus's own normalisation.
    public var vector: [Float]
    /// The input was cut to the model's limit.
    public var truncated: Bool

    public init(vector: [Float], truncated: Bool) {
      self.vector = vector
      self.truncated = truncated
    }

    var bytes: Int { vector.count * 4 + 64 }
  }

  public struct Statistics: Sendable, Equatable {
    public var hits: UInt64 = 0
    public var misses: UInt64 = 0
    public var evictions: UInt64 = 0
    public var entries: UInt64 = 0
    public var memoryBytes: UInt64 = 0
    public var memoryLimitBytes: UInt64 = 0
    public var diskBytes: UInt64 = 0
    public var diskLimitBytes: UInt64 = 0
  }

  private struct State {
    var memory: LRU<String, Entry>
    var hits: UInt64 = 0
    var misses: UInt64 = 0
    var evictions: UInt64 = 0
    var diskBytes: Int = 0
    var diskEntries: Int = 0
  }

  private let database: any DatabaseWriter
  private let state: Mutex<State>
  private let diskLimit: Int

  /// Opens (or creates) `cache.sqlite` in `directory`; `readOnly` for a read-only data dir (hits are served, new
  /// vectors stay in memory only).
  public init(directory: String, memoryLimitBytes: Int, diskLimitBytes: Int, readOnly: Bool = false) throws {
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
    state = Mutex(State(memory: LRU(costLimit: memoryLimitBytes), diskBytes: bytes, diskEntries: count))
    diskLimit = diskLimitBytes
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

  /// The entry for `key`, from memory or disk (a disk hit is promoted to memory), counting the hit or miss.
  public func get(_ key: String) -> Entry? {
    if let entry = state.withLock({ $0.memory.get(key) }) {
      state.withLock { $0.hits += 1 }
      return entry
    }
    let found = try? database.read { db -> Entry? in
      guard let row = try Row.fetchOne(db, sql: "SELECT vector, truncated FROM vectors WHERE key = ?", arguments: [key]) else { return nil }
      return Entry(vector: Self.floats(row["vector"]), truncated: row["truncated"])
    }
    state.withLock { state in
      if let found {
        state.hits += 1
        state.evictions += UInt64(state.memory.put(key, found, cost: found.bytes))
      } else {
        state.misses += 1
      }
    }
    if found != nil {
      try? database.write { db in
        try db.execute(sql: "UPDATE vectors SET used_ms = ? WHERE key = ?", arguments: [Self.now(), key])
      }
    }
    return found ?? nil
  }

  /// Stores entries (one transaction), then trims the disk tier to its limit.
  public func put(_ entries: [(key: String, entry: Entry)]) {
    guard !entries.isEmpty else { return }
    state.withLock { state in
      for item in entries { state.evictions += UInt64(state.memory.put(item.key, item.entry, cost: item.entry.bytes)) }
    }
    let now = Self.now()
    let added = try? database.write { db -> (bytes: Int, count: Int) in
      var bytes = 0, count = 0
      // New keys are inserted (and counted); known ones only refresh their vector and use time.
      let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO vectors (key, vector, truncated, used_ms) VALUES (?, ?, ?, ?)")
      let update = try db.cachedStatement(sql: "UPDATE vectors SET vector = ?, truncated = ?, used_ms = ? WHERE key = ?")
      for item in entries {
        let blob = Self.blob(item.entry.vector)
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
    guard let added else { return }
    let over = state.withLock { state -> Bool in
      state.diskBytes += added.bytes
      state.diskEntries += added.count
      return state.diskBytes > diskLimit
    }
    if over { trimDisk() }
  }

  /// Deletes the least recently used disk entries until the tier is 10 % under its limit.
  private func trimDisk() {
    let target = diskLimit / 10 * 9
    let removed = try? database.write { db -> (bytes: Int, count: Int) in
      var bytes = 0, count = 0
      var total = state.withLock { $0.diskBytes }
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
    guard let removed else { return }
    state.withLock { state in
      state.diskBytes -= removed.bytes
      state.diskEntries -= removed.count
      state.evictions += UInt64(removed.count)
    }
  }

  public var statistics: Statistics {
    state.withLock { state in
      Statistics(
        hits: state.hits, misses: state.misses, evictions: state.evictions, entries: UInt64(state.diskEntries),
        memoryBytes: UInt64(state.memory.totalCost), memoryLimitBytes: UInt64(state.memory.costLimit),
        diskBytes: UInt64(state.diskBytes), diskLimitBytes: UInt64(diskLimit))
    }
  }

  private static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

  static func blob(_ vector: [Float]) -> Data {
    vector.withUnsafeBytes { Data($0) }
  }

  /// Copies (never binds: a BLOB's bytes need not be aligned for Float).
  static func floats(_ data: Data) -> [Float] {
    [Float](unsafeUninitializedCapacity: data.count / 4) { buffer, count in
      _ = data.copyBytes(to: buffer)
      count = data.count / 4
    }
  }
}
