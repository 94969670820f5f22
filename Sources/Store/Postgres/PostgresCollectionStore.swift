import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// Collections in PostgreSQL with pgvector, shared by every daemon on the database: a row per collection in
/// `chorus_collections` and a table per collection (`chorus_items_<id>`) with a `vector(d)` column, an HNSW
/// index (cosine) that PostgreSQL builds and keeps, a GIN index on the metadata (jsonb) for the equality filters,
/// and an index on content hashes for `FindContent`. Previews live in the same rows. Nothing is held in memory
/// but the collection → table map, so a write through one daemon is searched through every other at once.
public final class PostgresCollectionStore: CollectionBackend {
  /// pgvector's HNSW indexes `vector` columns of at most this many dimensions; larger collections are searched
  /// exactly (and say so in the log when made).
  public static let maxIndexedDimension = 2000

  private struct Table: Sendable {
    var id: Int64
    var name: String
    var space: String
    var dimension: Int
    var createdMs: Int64
    var sql: String { "chorus_items_\(id)" }
  }

  private let database: PostgresDatabase
  private let settings: IndexSettings
  private let tables = Mutex<[String: Table]>([:])
  /// Row counts per table, estimated for the exact-or-HNSW choice, refreshed every 30 seconds.
  private let sizes = Mutex<[Int64: (rows: Int, at: ContinuousClock.Instant)]>([:])
  /// pgvector ≥ 0.8 scans an HNSW index further when a filter drops candidates (`hnsw.iterative_scan`).
  private let iterativeScan: Bool

  public init(database: PostgresDatabase, index: IndexSettings = IndexSettings()) async throws {
    self.database = database
    settings = index
    let version = try await database.run { client in
      try await client.query("SELECT extversion FROM pg_extension WHERE extname = 'vector'").collect().first?.decode(String.self) ?? "0"
    }
    let parts = version.split(separator: ".").compactMap { Int($0) }
    let release = (parts.first ?? 0, parts.count > 1 ? parts[1] : 0)
    guard release >= (0, 5) else {
      throw StoreError.invalid("the database has pgvector \(version); Chorus needs 0.5 or newer (HNSW indexes): ALTER EXTENSION vector UPDATE; after installing a newer pgvector")
    }
    iterativeScan = release >= (0, 8)
  }

  public var unavailableReason: String? { database.unavailableReason }

  // MARK: Collections

  public func create(name: String, space: String, dimension: Int) async throws -> CollectionInfo {
    let now = StoredItem.nowMs()
    let parameters = settings.hnsw
    let table = try await database.transaction { connection -> Table in
      let rows = try await connection.query(
        "INSERT INTO chorus_collections (name, space, dimension, created_ms) VALUES (\(name), \(space), \(dimension), \(now)) ON CONFLICT (name) DO NOTHING RETURNING id",
        logger: self.database.logger
      ).collect()
      guard let id = try rows.first?.decode(Int64.self) else { throw StoreError.collectionExists(name) }
      let table = Table(id: id, name: name, space: space, dimension: dimension, createdMs: now)
      let t = table.sql
      for statement in [
        """
        CREATE TABLE \(t) (
          id text COLLATE "C" PRIMARY KEY, modality text NOT NULL, vector vector(\(dimension)) NOT NULL, metadata jsonb NOT NULL,
          source text NOT NULL, content_hash text NOT NULL, updated_ms bigint NOT NULL, preview_type text, preview bytea)
        """,
        "CREATE INDEX \(t)_content ON \(t) (content_hash)",
        "CREATE INDEX \(t)_metadata ON \(t) USING gin (metadata jsonb_path_ops)",
      ] {
        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.database.logger)
      }
      if dimension <= Self.maxIndexedDimension {
        try await connection.query(
          PostgresQuery(
            unsafeSQL:
              "CREATE INDEX \(t)_vector ON \(t) USING hnsw (vector vector_cosine_ops) WITH (m = \(parameters.m), ef_construction = \(parameters.efConstruction))"
          ), logger: self.database.logger)
      }
      return table
    }
    if dimension > Self.maxIndexedDimension {
      database.logger.warning(
        "collection has more dimensions than pgvector's HNSW can index; it is searched exactly",
        metadata: ["collection": "\(name)", "dimension": "\(dimension)", "max": "\(Self.maxIndexedDimension)"])
    }
    tables.withLock { $0[name] = table }
    return CollectionInfo(name: name, space: space, dimension: dimension, count: 0, createdUnixMs: now)
  }

  public func list() async throws -> [CollectionInfo] {
    let all = try await allTables()
    var infos: [CollectionInfo] = []
    for table in all {
      // A collection deleted by another daemon between the two queries is simply not listed.
      guard let count = try? await count(table) else { continue }
      infos.append(CollectionInfo(name: table.name, space: table.space, dimension: table.dimension, count: count, createdUnixMs: table.createdMs))
    }
    return infos
  }

  public func info(_ name: String) async throws -> CollectionInfo {
    try await withTable(name) { table in
      CollectionInfo(name: table.name, space: table.space, dimension: table.dimension, count: try await self.count(table), createdUnixMs: table.createdMs)
    }
  }

  public func shape(_ name: String) async throws -> CollectionShape {
    let table = try await table(name)
    return CollectionShape(space: table.space, dimension: table.dimension)
  }

  public func delete(_ name: String) async throws -> Int {
    let count: Int
    do {
      count = try await deleteTable(name)
    } catch StoreError.collectionNotFound {
      throw try await notFound(name)
    }
    tables.withLock { _ = $0.removeValue(forKey: name) }
    return count
  }

  private func deleteTable(_ name: String) async throws -> Int {
    try await database.transaction { connection -> Int in
      // The row lock makes two deletes of one collection take turns; the second finds nothing.
      let rows = try await connection.query("SELECT id FROM chorus_collections WHERE name = \(name) FOR UPDATE", logger: self.database.logger).collect()
      guard let id = try rows.first?.decode(Int64.self) else { throw StoreError.collectionNotFound(name, available: []) }
      let t = "chorus_items_\(id)"
      let count = try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(t)"), logger: self.database.logger).collect().first?
        .decode(Int64.self) ?? 0
      try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE \(t)"), logger: self.database.logger)
      try await connection.query("DELETE FROM chorus_collections WHERE id = \(id)", logger: self.database.logger)
      return Int(count)
    }
  }

  // MARK: Items

  public func upsert(_ collection: String, _ items: [StoredItem]) async throws {
    guard !items.isEmpty else { return }
    // The last version of an id wins, as in the embedded store (one INSERT … ON CONFLICT may not touch a row twice).
    var last: [String: Int] = [:]
    for (index, item) in items.enumerated() { last[item.id] = index }
    let batch = items.enumerated().filter { last[$0.element.id] == $0.offset }.map(\.element)
    let now = StoredItem.nowMs()
    try await withTable(collection) { table in
      for item in batch where item.vector.count != table.dimension {
        throw StoreError.invalid("item '\(item.id)' has a vector of dimension \(item.vector.count); collection '\(collection)' holds \(table.dimension)")
      }
      let ids = batch.map(\.id)
      let modalities = batch.map(\.modality)
      let vectors = batch.map { Self.vectorText($0.vector) }
      let metadata = batch.map { StoredItem.json($0.metadata) }
      let sources = batch.map(\.source)
      let hashes = batch.map(\.contentHash)
      let previewTypes = batch.map { $0.preview?.mediaType ?? "" }
      let previews = batch.map { ByteBuffer(bytes: $0.preview?.data ?? Data()) }
      // One statement, one round trip, committed when it returns (autocommit, synchronous_commit as the server has it).
      try await self.database.run { client in
        try await client.query(
          """
          INSERT INTO \(unescaped: table.sql) (id, modality, vector, metadata, source, content_hash, updated_ms, preview_type, preview)
          SELECT u.id, u.modality, u.vector::vector, u.metadata::jsonb, u.source, u.content_hash, \(now), NULLIF(u.preview_type, ''),
            CASE WHEN u.preview_type = '' THEN NULL ELSE u.preview END
          FROM unnest(\(ids)::text[], \(modalities)::text[], \(vectors)::text[], \(metadata)::text[], \(sources)::text[], \(hashes)::text[],
            \(previewTypes)::text[], \(previews)::bytea[]) AS u(id, modality, vector, metadata, source, content_hash, preview_type, preview)
          ON CONFLICT (id) DO UPDATE SET modality = EXCLUDED.modality, vector = EXCLUDED.vector, metadata = EXCLUDED.metadata,
            source = EXCLUDED.source, content_hash = EXCLUDED.content_hash, updated_ms = EXCLUDED.updated_ms,
            preview_type = EXCLUDED.preview_type, preview = EXCLUDED.preview
          """
        ).collect()
      }
    }
  }

  public func remove(_ collection: String, ids: [String]) async throws -> [String] {
    try await withTable(collection) { table in
      let removed = try await self.database.run { client in
        try await client.query("DELETE FROM \(unescaped: table.sql) WHERE id = ANY(\(ids)::text[]) RETURNING id").collect().map { try $0.decode(String.self) }
      }
      let gone = Set(removed)
      return ids.filter { !gone.contains($0) }
    }
  }

  public func items(_ collection: String, ids: [String]) async throws -> [StoredItem] {
    guard !ids.isEmpty else {
      _ = try await table(collection)
      return []
    }
    return try await withTable(collection) { table in
      let found = try await self.database.run { client in
        try await client.query("SELECT \(unescaped: Self.columns) FROM \(unescaped: table.sql) WHERE id = ANY(\(ids)::text[])").collect().map(Self.item)
      }
      let byID = Dictionary(found.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
      return ids.compactMap { byID[$0] }
    }
  }

  public func page(_ collection: String, after: String, limit: Int) async throws -> [StoredItem] {
    try await withTable(collection) { table in
      try await self.database.run { client in
        try await client.query("SELECT \(unescaped: Self.columns) FROM \(unescaped: table.sql) WHERE id > \(after) ORDER BY id LIMIT \(limit)").collect()
          .map(Self.item)
      }
    }
  }

  public func preview(_ collection: String, id: String) async throws -> ItemPreview? {
    try await withTable(collection) { table in
      let rows = try await self.database.run { client in
        try await client.query("SELECT preview_type, preview FROM \(unescaped: table.sql) WHERE id = \(id)").collect()
      }
      guard let row = rows.first else { throw StoreError.itemNotFound(collection: collection, id: id) }
      let (type, data) = try row.decode((String?, ByteBuffer?).self)
      guard let type, let data else { return nil }
      return ItemPreview(mediaType: type, data: Data(buffer: data))
    }
  }

  public func presentContent(_ collection: String, hashes: [String]) async throws -> [String] {
    try await withTable(collection) { table in
      let present = try await self.database.run { client in
        try await client.query("SELECT DISTINCT content_hash FROM \(unescaped: table.sql) WHERE content_hash = ANY(\(hashes)::text[])").collect()
          .map { try $0.decode(String.self) }
      }
      let found = Set(present)
      return hashes.filter { found.contains($0) }
    }
  }

  /// One SQL query: cosine distance through the HNSW index (`hnsw.ef_search` from the settings or the call),
  /// filters in the WHERE clause. Exact (a scan, index off) when the collection is under the HNSW threshold, when
  /// its dimension has no index, or when a filtered index scan found fewer than k (a rare filter).
  public func search(_ collection: String, query: [Float], k: Int, filter: SearchFilter, efSearch: Int?) async throws -> [SearchHit] {
    guard k > 0 else {
      _ = try await table(collection)
      return []
    }
    return try await withTable(collection) { table in
      guard query.count == table.dimension else {
        throw StoreError.invalid("the query vector has dimension \(query.count); collection '\(collection)' holds \(table.dimension)")
      }
      let small = try await self.estimatedRows(table) < self.settings.hnswThreshold
      let exact = small || table.dimension > Self.maxIndexedDimension
      let hits = try await self.rank(table, query: query, k: k, filter: filter, efSearch: efSearch, exact: exact)
      if !exact && hits.count < k && !filter.isEmpty {
        return try await self.rank(table, query: query, k: k, filter: filter, efSearch: efSearch, exact: true)
      }
      return hits
    }
  }

  /// One statement, one round trip. The ranking picks ids and distances only; the k winners' columns are read
  /// after (converting every row's vector and metadata before the sort cost 10× the search). Through the index,
  /// `hnsw.ef_search` (and the iterative scan for filters) is set by a one-row subquery the scan depends on, so
  /// PostgreSQL sets it before the scan starts, for this statement's transaction only. Exact search sorts a
  /// subquery's distances (`OFFSET 0` keeps the planner from turning it into an index scan), in parallel where
  /// PostgreSQL may.
  private func rank(_ table: Table, query: [Float], k: Int, filter: SearchFilter, efSearch: Int?, exact: Bool) async throws -> [SearchHit] {
    let vector = Self.vectorText(query)
    let ef = String(max(efSearch ?? settings.hnsw.efSearch, k))
    let iterative = iterativeScan && !filter.isEmpty ? "strict_order" : "off"
    let modalities = Array(filter.modalities).sorted()
    let metadata = StoredItem.json(filter.metadataEquals)
    var filters = ""
    if !filter.modalities.isEmpty { filters += " AND modality = ANY($4::text[])" }
    if !filter.metadataEquals.isEmpty { filters += " AND metadata @> $5::jsonb" }
    let t = table.sql
    let ranking =
      exact
      ? "SELECT id, d FROM (SELECT id, vector <=> $1::vector AS d FROM \(t) WHERE true\(filters) OFFSET 0) s ORDER BY d LIMIT $6"
      : """
        SELECT h.id, h.d FROM (SELECT set_config('hnsw.ef_search', $2, true) AS ef, set_config('hnsw.iterative_scan', $3, true) AS scan) settings,
        LATERAL (SELECT id, vector <=> $1::vector AS d FROM \(t) WHERE settings.ef IS NOT NULL AND settings.scan IS NOT NULL\(filters)
          ORDER BY vector <=> $1::vector LIMIT $6) h
        """
    let sql = "SELECT \(Self.columns(of: "t")), (1 - r.d)::real FROM (\(ranking)) r JOIN \(t) t ON t.id = r.id ORDER BY r.d"
    var binds = PostgresBindings()
    binds.append(vector)
    binds.append(ef)
    binds.append(iterative)
    binds.append(modalities)
    binds.append(metadata)
    binds.append(k)
    let query = PostgresQuery(unsafeSQL: sql, binds: binds)
    return try await database.run { client in
      try await client.query(query).collect().map { row in
        let columns = try row.decode((String, String, [Float], String, String, String, Int64, Float).self)
        return SearchHit(item: Self.item(columns.0, columns.1, columns.2, columns.3, columns.4, columns.5, columns.6), score: columns.7)
      }
    }
  }

  // MARK: Tables

  /// Runs `body` with the collection's table; if the table vanished (another daemon deleted the collection,
  /// perhaps made a new one of that name), looks the name up again once.
  private func withTable<T: Sendable>(_ name: String, _ body: @escaping @Sendable (Table) async throws -> T) async throws -> T {
    do {
      return try await body(try await table(name))
    } catch StoreError.tableMissing {
      tables.withLock { _ = $0.removeValue(forKey: name) }
      do {
        return try await body(try await table(name))
      } catch StoreError.tableMissing {
        throw try await notFound(name)
      }
    }
  }

  private func table(_ name: String) async throws -> Table {
    if let table = tables.withLock({ $0[name] }) { return table }
    let rows = try await database.run { client in
      try await client.query("SELECT id, name, space, dimension, created_ms FROM chorus_collections WHERE name = \(name)").collect()
    }
    guard let row = rows.first else { throw try await notFound(name) }
    let (id, rowName, space, dimension, created) = try row.decode((Int64, String, String, Int, Int64).self)
    let table = Table(id: id, name: rowName, space: space, dimension: dimension, createdMs: created)
    tables.withLock { $0[name] = table }
    return table
  }

  private func allTables() async throws -> [Table] {
    try await database.run { client in
      try await client.query("SELECT id, name, space, dimension, created_ms FROM chorus_collections ORDER BY name").collect().map { row in
        let (id, name, space, dimension, created) = try row.decode((Int64, String, String, Int, Int64).self)
        return Table(id: id, name: name, space: space, dimension: dimension, createdMs: created)
      }
    }
  }

  private func notFound(_ name: String) async throws -> StoreError {
    tables.withLock { _ = $0.removeValue(forKey: name) }
    return .collectionNotFound(name, available: try await allTables().map(\.name))
  }

  private func count(_ table: Table) async throws -> Int {
    let count = try await database.run { client in
      try await client.query("SELECT count(*) FROM \(unescaped: table.sql)").collect().first?.decode(Int64.self) ?? 0
    }
    sizes.withLock { $0[table.id] = (Int(count), .now) }
    return Int(count)
  }

  /// The table's row count for the exact-or-index choice: the planner's estimate once PostgreSQL has analysed the
  /// table, a count before that; either kept for 30 seconds.
  private func estimatedRows(_ table: Table) async throws -> Int {
    if let known = sizes.withLock({ $0[table.id] }), ContinuousClock.now - known.at < .seconds(30) { return known.rows }
    let estimate = try await database.run { client in
      try await client.query("SELECT reltuples::bigint FROM pg_class WHERE oid = \(table.sql)::regclass").collect().first?.decode(Int64.self) ?? -1
    }
    if estimate < 0 { return try await count(table) }
    sizes.withLock { $0[table.id] = (Int(estimate), .now) }
    return Int(estimate)
  }

  // MARK: Rows

  private static let columns = columns(of: nil)

  private static func columns(of alias: String?) -> String {
    let p = alias.map { $0 + "." } ?? ""
    return "\(p)id, \(p)modality, \(p)vector::real[], \(p)metadata::text, \(p)source, \(p)content_hash, \(p)updated_ms"
  }

  private static func item(_ row: PostgresRow) throws -> StoredItem {
    let c = try row.decode((String, String, [Float], String, String, String, Int64).self)
    return item(c.0, c.1, c.2, c.3, c.4, c.5, c.6)
  }

  private static func item(_ id: String, _ modality: String, _ vector: [Float], _ metadata: String, _ source: String, _ hash: String, _ updated: Int64)
    -> StoredItem
  {
    StoredItem(
      id: id, modality: modality, vector: vector, metadata: StoredItem.metadata(json: metadata), source: source, contentHash: hash,
      updatedUnixMs: updated)
  }

  /// pgvector's text form, `[x,y,…]`; Swift prints the shortest decimal that reads back as the same Float.
  static func vectorText(_ vector: [Float]) -> String {
    var text = "["
    text.reserveCapacity(vector.count * 12)
    for (index, value) in vector.enumerated() {
      if index > 0 { text.append(",") }
      text.append(value.description)
    }
    text.append("]")
    return text
  }
}
