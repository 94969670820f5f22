/// What every collection store does, whichever backend holds the items: the embedded one (`CollectionStore`:
/// SQLite and in-memory indexes in the data dir) or PostgreSQL with pgvector (`PostgresCollectionStore`, shared by
/// any number of daemons). Both keep the same promises, checked by one test suite run against each:
/// - an acknowledged `upsert`/`remove`/`delete` is durable (SQLite WAL with synchronous FULL; a PostgreSQL commit);
/// - the same `StoreError` for the same mistake (unknown collection, wrong dimension, missing item), so the service
///   layer maps one set of errors onto statuses;
/// - search is top-k by cosine similarity with the filters applied before the k are chosen.
public protocol CollectionBackend: Sendable {
  func create(name: String, space: String, dimension: Int) async throws -> CollectionInfo
  func list() async throws -> [CollectionInfo]
  /// The collection with its item count (a count costs a scan on PostgreSQL: `shape` is the cheap question).
  func info(_ name: String) async throws -> CollectionInfo
  /// The collection's space and dimension, or `collectionNotFound`.
  func shape(_ name: String) async throws -> CollectionShape
  /// Deletes the collection and its items; returns how many items it held.
  func delete(_ name: String) async throws -> Int
  /// Inserts or replaces items in one transaction; when it returns, they are durable.
  func upsert(_ collection: String, _ items: [StoredItem]) async throws
  /// Removes items; returns the ids that were not there.
  func remove(_ collection: String, ids: [String]) async throws -> [String]
  /// The items asked for that exist, in the order asked.
  func items(_ collection: String, ids: [String]) async throws -> [StoredItem]
  /// Items in id order after `after` (exclusive), at most `limit`.
  func page(_ collection: String, after: String, limit: Int) async throws -> [StoredItem]
  /// The item's preview; nil when the item has none. Throws `itemNotFound` for an item that is not there.
  func preview(_ collection: String, id: String) async throws -> ItemPreview?
  /// Which of these content hashes some item of the collection has.
  func presentContent(_ collection: String, hashes: [String]) async throws -> [String]
  /// Top-k by cosine similarity with the filter applied, with the items; `efSearch` overrides the configured
  /// HNSW candidate count for this search (benchmarks sweep it).
  func search(_ collection: String, query: [Float], k: Int, filter: SearchFilter, efSearch: Int?) async throws -> [SearchHit]
  /// Why collection calls cannot work right now (the database is unreachable), or nil when they can. Health
  /// reports the collection service NOT_SERVING while this is set.
  var unavailableReason: String? { get }
}

/// A collection's space and vector dimension.
public struct CollectionShape: Sendable, Equatable {
  public var space: String
  public var dimension: Int

  public init(space: String, dimension: Int) {
    self.space = space
    self.dimension = dimension
  }
}
