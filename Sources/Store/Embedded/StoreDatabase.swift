import GRDB

/// Opens one of the store's SQLite files. Writable: a WAL pool (readers never wait for the writer). On a read-only
/// data dir, SQLite cannot create the WAL's side files, so the file is opened read-only and immutable (Debian's
/// SQLite takes URI file names): reads and searches work, every write fails with SQLITE_READONLY.
enum StoreDatabase {
  static func open(path: String, readOnly: Bool, configuration: Configuration) throws -> any DatabaseWriter {
    guard readOnly else { return try DatabasePool(path: path, configuration: configuration) }
    var configuration = configuration
    configuration.readonly = true
    // A WAL left by a killed daemon can still be read when its index file is there; otherwise immutable.
    if let queue = try? DatabaseQueue(path: path, configuration: configuration), (try? queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM sqlite_master") }) != nil {
      return queue
    }
    return try DatabaseQueue(path: "file:\(path)?immutable=1", configuration: configuration)
  }
}
