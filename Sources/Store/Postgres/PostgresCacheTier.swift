import Foundation
import NIOCore
import PostgresNIO
import Synchronization

/// The vector cache's persistent tier in PostgreSQL (`chorus_cache`), shared by every daemon on the database: a
/// vector one daemon computed is a hit for all. Each daemon keeps its own memory LRU in front (`VectorCache`).
/// Trimming to `cache_disk_bytes` runs in one daemon at a time (a transaction-scoped advisory lock): every
/// `trimEvery` stores or minute a daemon measures the table and deletes the entries used longest ago.
final class PostgresCacheTier: VectorCacheTier {
  private struct State {
    var bytes = 0
    var entries = 0
    var storesSinceCheck = 0
    var checkedAt = ContinuousClock.now
    var checking = false
  }

  private let database: PostgresDatabase
  private let state = Mutex(State())
  let limitBytes: Int
  static let trimEvery = 256
  /// Bytes an entry costs beyond its vector (key, row header, index entries), as the embedded tier counts.
  static let overheadBytes = 96

  init(database: PostgresDatabase, limitBytes: Int) {
    self.database = database
    self.limitBytes = limitBytes
  }

  var usage: (bytes: Int, entries: Int) { state.withLock { ($0.bytes, $0.entries) } }

  func fetch(_ key: String) async -> VectorCache.Entry? {
    let now = StoredItem.nowMs()
    let row = try? await database.run { client in
      try await client.query("UPDATE chorus_cache SET used_ms = \(now) WHERE key = \(key) RETURNING vector, truncated").collect().first?
        .decode((ByteBuffer, Bool).self)
    }
    guard let row else { return nil }
    return VectorCache.Entry(vector: VectorCache.floats(Data(buffer: row.0)), truncated: row.1)
  }

  func store(_ entries: [(key: String, entry: VectorCache.Entry)]) async -> Int {
    // One id once per statement (ON CONFLICT may not touch a row twice): the last entry for a key wins.
    var latest: [String: VectorCache.Entry] = [:]
    for item in entries { latest[item.key] = item.entry }
    let keys = Array(latest.keys)
    let vectors = keys.map { ByteBuffer(data: VectorCache.blob(latest[$0]!.vector)) }
    let truncated = keys.map { latest[$0]!.truncated }
    let now = StoredItem.nowMs()
    let stored: Void? = try? await database.run { client in
      try await client.query(
        """
        INSERT INTO chorus_cache (key, vector, truncated, used_ms)
        SELECT k, v, t, \(now) FROM unnest(\(keys)::text[], \(vectors)::bytea[], \(truncated)::boolean[]) AS u(k, v, t)
        ON CONFLICT (key) DO UPDATE SET vector = EXCLUDED.vector, truncated = EXCLUDED.truncated, used_ms = EXCLUDED.used_ms
        """
      ).collect()
    }
    guard stored != nil else { return 0 }
    let due = state.withLock { state -> Bool in
      state.storesSinceCheck += keys.count
      guard !state.checking, state.storesSinceCheck >= Self.trimEvery || ContinuousClock.now - state.checkedAt > .seconds(60) else { return false }
      state.checking = true
      return true
    }
    guard due else { return 0 }
    defer {
      state.withLock { state in
        state.checking = false
        state.storesSinceCheck = 0
        state.checkedAt = .now
      }
    }
    return (try? await trim()) ?? 0
  }

  /// Measures the table and, over the limit, deletes the entries used longest ago down to 90 % of it. Another
  /// daemon already trimming → this one skips (its turn comes with its next check).
  private func trim() async throws -> Int {
    let limit = limitBytes
    let overhead = Self.overheadBytes
    let (removed, bytes, entries) = try await database.transaction { connection -> (Int, Int, Int) in
      let logger = self.database.logger
      let locked = try await connection.query("SELECT pg_try_advisory_xact_lock(\(PostgresDatabase.cacheTrimLock))", logger: logger).collect().first?
        .decode(Bool.self) ?? false
      let measure = { () async throws -> (Int, Int) in
        let rows = try await connection.query(
          "SELECT COALESCE(sum(octet_length(vector)), 0)::bigint, count(*) FROM chorus_cache", logger: logger
        ).collect()
        guard let first = rows.first else { return (0, 0) }
        let (bytes, count) = try first.decode((Int64, Int64).self)
        return (Int(bytes) + Int(count) * overhead, Int(count))
      }
      var (bytes, entries) = try await measure()
      guard locked, bytes > limit else { return (0, bytes, entries) }
      // Entries cost about the same (one model's dimension), so the share to drop is a share of the count.
      let drop = max(1, Int((Double(bytes - limit / 10 * 9) / Double(max(bytes, 1))) * Double(entries)))
      let deleted = try await connection.query(
        """
        DELETE FROM chorus_cache WHERE key IN (SELECT key FROM chorus_cache ORDER BY used_ms LIMIT \(drop))
        """, logger: logger
      ).collect().count
      (bytes, entries) = try await measure()
      return (max(deleted, drop), bytes, entries)
    }
    state.withLock { state in
      state.bytes = bytes
      state.entries = entries
    }
    return removed
  }
}

extension VectorCache {
  /// The cache with its persistent tier in the PostgreSQL store, shared by every daemon on that database.
  public convenience init(memoryLimitBytes: Int, database: PostgresDatabase, diskLimitBytes: Int) {
    self.init(memoryLimitBytes: memoryLimitBytes, tier: PostgresCacheTier(database: database, limitBytes: diskLimitBytes))
  }
}
