import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// One PostgreSQL database shared by the collection store and the vector cache: postgres-nio's pooled client, the
/// schema (created and migrated here), and whether the database can be reached right now.
///
/// Reachability: the first call that fails because the database went away (connection refused or closed, the
/// server shutting down) marks the store unavailable; from then on calls fail at once with UNAVAILABLE instead of
/// waiting on a dead server, and a probe every second asks `SELECT 1` until it answers, then logs the recovery and
/// lets calls through again. No daemon restart is needed.
public final class PostgresDatabase: Sendable {
  /// The schema this binary writes. A database holding a newer one refuses to start (an older binary must not
  /// write tables a newer one has changed).
  public static let schemaVersion = 1
  /// Any call waits at most this long for the database; a server that hangs is reported as unavailable.
  static let callTimeout: Duration = .seconds(10)

  let client: PostgresClient
  let location: PostgresLocation
  /// One plain connection's configuration: start-up and the reachability checks connect with it directly, since
  /// the pool keeps retrying a refused connection while its callers wait.
  private let direct: PostgresConnection.Configuration
  let logger: Logger
  private let runner: Task<Void, Never>
  private struct Availability {
    var down: String?
    var probing = false
    var listeners: [@Sendable (String?) -> Void] = []
  }
  private let availability = Mutex(Availability())

  /// Connects, checks pgvector and the schema version, creates or migrates the schema. Throws a `StoreError` whose
  /// message says what to fix (no server, wrong password, no pgvector, a newer schema).
  public init(location: PostgresLocation, password: String?, logger: Logger) async throws {
    self.location = location
    self.logger = logger
    // One plain connection first: the pool retries a failing connection for ever, while this one fails with the
    // precise reason (refused, no such socket, wrong password, no such database).
    do {
      direct = try location.connectionConfiguration(password: password)
      if let why = try await Self.connectDirectly(direct, location: location, logger: logger, limit: .seconds(15)) { throw why }
    } catch {
      throw Self.startupError(error, location: location)
    }
    // The pool's own connection attempts are logged only when they fail for long (the daemon logs the outage once).
    var poolLogger = logger
    poolLogger.logLevel = max(logger.logLevel, .error)
    let client = PostgresClient(configuration: location.clientConfiguration(password: password), backgroundLogger: poolLogger)
    self.client = client
    runner = Task { await client.run() }
    do {
      try await Self.deadline(.seconds(30), location) { try await self.migrate() }
    } catch {
      runner.cancel()
      throw Self.startupError(error, location: location)
    }
  }

  /// `body`, or `StoreError.unavailable` once `limit` has passed (the body is cancelled).
  static func deadline<T: Sendable>(_ limit: Duration, _ location: PostgresLocation, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
      group.addTask { try await body() }
      group.addTask {
        try await Task.sleep(for: limit)
        return nil
      }
      defer { group.cancelAll() }
      guard let first = try await group.next(), let result = first else {
        throw StoreError.unavailable("PostgreSQL did not answer within \(limit)")
      }
      return result
    }
  }

  deinit { runner.cancel() }

  /// Stops the pool (tests, shutdown).
  public func close() { runner.cancel() }

  /// Why calls fail now, or nil.
  var unavailableReason: String? { availability.withLock { $0.down } }

  /// Tells `listener` every change of availability (nil: reachable again).
  public func onAvailabilityChange(_ listener: @escaping @Sendable (String?) -> Void) {
    availability.withLock { $0.listeners.append(listener) }
  }

  // MARK: Calls

  /// Runs `body` against the pool, mapping every failure onto a `StoreError`; fails at once while the database is
  /// known to be down.
  func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
    if let down = unavailableReason { throw StoreError.unavailable(down) }
    let started = ContinuousClock.now
    let leased = Flag()
    do {
      return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
          try await self.client.withConnection { connection in
            leased.set()
            return try await body(connection)
          }
        }
        // The watchdog. While the pool has no connection to lend, it retries in the background and the caller
        // waits: after a second, ask the server directly; refused or silent means it is gone, and the call says so
        // now instead of at the deadline. (A busy pool with a reachable server just keeps the caller waiting.)
        group.addTask {
          try await Task.sleep(for: .seconds(1))
          while !leased.isSet && ContinuousClock.now - started < Self.callTimeout {
            if let why = try await Self.connectDirectly(self.direct, location: self.location, logger: self.logger, limit: .seconds(3)) {
              throw Self.map(why, location: self.location)
            }
            try await Task.sleep(for: .seconds(1))
          }
          try await Task.sleep(until: started + Self.callTimeout)
          return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else {
          throw StoreError.unavailable("PostgreSQL did not answer within \(Self.callTimeout)")
        }
        return result
      }
    } catch is CancellationError {
      // The caller left (its deadline passed, it disconnected): not the database's fault.
      throw CancellationError()
    } catch {
      if Task.isCancelled { throw CancellationError() }
      let mapped = Self.map(error, location: location)
      if case .unavailable(let why) = mapped { markDown(why, detail: String(describing: error)) }
      throw mapped
    }
  }

  /// Connects once, outside the pool, and hangs up: nil when the server answered, else why not.
  private static func connectDirectly(
    _ configuration: PostgresConnection.Configuration, location: PostgresLocation, logger: Logger, limit: Duration
  ) async throws -> (any Error)? {
    do {
      try await deadline(limit, location) {
        let connection = try await PostgresConnection.connect(
          on: PostgresClient.defaultEventLoopGroup.any(), configuration: configuration, id: 0, logger: logger
        ).get()
        try await connection.close()
      }
      return nil
    } catch is CancellationError {
      throw CancellationError()
    } catch {
      return error
    }
  }

  /// Runs `body` in one transaction (committed when it returns).
  func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
    try await run { connection in
      try await connection.query("BEGIN")
      do {
        let result = try await body(connection)
        try await connection.query("COMMIT")
        return result
      } catch {
        // A connection that broke cannot roll back; the server does it when the session ends.
        _ = try? await connection.query("ROLLBACK")
        throw error
      }
    }
  }

  private func markDown(_ why: String, detail: String) {
    let (start, listeners) = availability.withLock { state -> (Bool, [@Sendable (String?) -> Void]) in
      let wasUp = state.down == nil
      state.down = why
      let start = !state.probing
      state.probing = true
      return (start, wasUp ? state.listeners : [])
    }
    if !listeners.isEmpty {
      logger.warning("PostgreSQL store unavailable; collection calls answer UNAVAILABLE until it is back", metadata: ["store": "\(location)", "why": "\(why)", "detail": "\(detail)"])
      for listener in listeners { listener(why) }
    }
    guard start else { return }
    Task { await probe() }
  }

  /// Asks the database every second until it answers (a new connection, which the pool then makes too).
  private func probe() async {
    while !Task.isCancelled && !runner.isCancelled {
      try? await Task.sleep(for: .seconds(1))
      // Directly, not through the pool: the pool may still be backing off its own retries.
      do {
        if try await Self.connectDirectly(direct, location: location, logger: logger, limit: .seconds(3)) != nil { continue }
      } catch {
        return  // cancelled: the daemon is stopping
      }
      let listeners = availability.withLock { state in
        state.down = nil
        state.probing = false
        return state.listeners
      }
      logger.notice("PostgreSQL store reachable again", metadata: ["store": "\(location)"])
      for listener in listeners { listener(nil) }
      return
    }
  }

  // MARK: Errors

  /// A failure as the callers see it (without the store's address, which is the operator's business: the log and
  /// start-up messages name it): the database gone → unavailable; a missing table (the collection was deleted
  /// by another daemon meanwhile) → `tableMissing`; anything else → database, with PostgreSQL's own message.
  static func map(_ error: any Error, location: PostgresLocation) -> StoreError {
    if let error = error as? StoreError { return error }
    if let error = error as? PostgresTransactionError {
      if let inner = error.closureError ?? error.beginError ?? error.commitError { return map(inner, location: location) }
    }
    guard let error = error as? PSQLError else {
      // NIO's connect errors (refused, no such socket) arrive as they are.
      return .unavailable("cannot reach PostgreSQL")
    }
    switch error.code {
    case .server:
      let state = error.serverInfo?[.sqlState] ?? ""
      let message = error.serverInfo?[.message] ?? "error \(state)"
      // Class 08: connection exceptions; 57P01–57P03: the server shutting down or starting; 53300: too many
      // connections; 28: authentication (a password changed under a running daemon).
      if state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300" || state.hasPrefix("28") {
        return .unavailable("PostgreSQL: \(message)")
      }
      if state == "42P01" { return .tableMissing(message) }
      return .database("PostgreSQL: \(message) (SQLSTATE \(state))")
    case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection, .poolClosed:
      return .unavailable("lost the connection to PostgreSQL (\(error.code))")
    case .queryCancelled: return .unavailable("the query was cancelled")
    case .sslUnsupported: return .unavailable("PostgreSQL does not offer TLS, and the store URL asks for it (sslmode)")
    default: return .database("PostgreSQL: unexpected \(error.code)")
    }
  }

  /// What start-up says when the store cannot be opened.
  static func startupError(_ error: any Error, location: PostgresLocation) -> StoreError {
    if let error = error as? PSQLError, error.code == .server, let state = error.serverInfo?[.sqlState] {
      let message = error.serverInfo?[.message] ?? state
      switch state {
      case "28P01", "28000":
        return .invalid(
          "PostgreSQL at \(location) refused user '\(location.user)': \(message) (check the password in store_password_file, PGPASSWORD or ~/.pgpass)")
      case "3D000": return .invalid("PostgreSQL at \(location): \(message) (create it: createdb \(location.database))")
      default: break
      }
    }
    if let error = error as? PSQLError, error.code == .connectionError {
      let why = error.underlying.map { "\($0)" } ?? "no answer"
      return .invalid("cannot connect to PostgreSQL at \(location): \(why) (is it running, and are the host, port or socket directory right?)")
    }
    if let error = error as? PSQLError, error.code == .authMechanismRequiresPassword {
      return .invalid("PostgreSQL at \(location) asks user '\(location.user)' for a password, and none was found (store_password_file, PGPASSWORD or ~/.pgpass)")
    }
    if !(error is PSQLError), !(error is StoreError) {
      return .invalid("cannot reach PostgreSQL at \(location): \(error)")
    }
    // At start-up there is nothing to retry for the caller: the message alone, without the serving-time advice.
    switch map(error, location: location) {
    case .unavailable(let why), .database(let why): return .invalid(why)
    case let other: return other
    }
  }

  // MARK: Schema

  /// Creates or migrates the schema, one daemon at a time (an advisory lock held for the transaction).
  private func migrate() async throws {
    try await run { connection in
      let hasVector = try await connection.query("SELECT count(*)::int FROM pg_extension WHERE extname = 'vector'", logger: self.logger)
        .collect().first?.decode(Int.self) ?? 0
      if hasVector == 0 {
        do {
          try await connection.query("CREATE EXTENSION IF NOT EXISTS vector", logger: self.logger)
        } catch let error as PSQLError where error.code == .server {
          let message = error.serverInfo?[.message] ?? "refused"
          // 0A000: the server has no pgvector files at all; otherwise (42501) the user lacks the right.
          if error.serverInfo?[.sqlState] == "0A000" {
            throw StoreError.invalid(
              "the PostgreSQL server has no pgvector installed (\(message)): install pgvector 0.5 or newer on it (Debian: postgresql-NN-pgvector), then as a superuser run: CREATE EXTENSION vector; in \(self.location.database)"
            )
          }
          throw StoreError.invalid(
            "the database \(self.location.database) has no pgvector extension and user '\(self.location.user)' may not create it (\(message)); as a superuser run: CREATE EXTENSION vector; in that database"
          )
        }
      }
    }
    try await transaction { connection in
      try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: self.logger)
      try await connection.query(
        "CREATE TABLE IF NOT EXISTS chorus_schema (singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), version integer NOT NULL)",
        logger: self.logger)
      let stored = try await connection.query("SELECT version FROM chorus_schema", logger: self.logger).collect().first?.decode(Int.self)
      if let stored, stored > Self.schemaVersion {
        throw StoreError.invalid(
          "the database \(self.location.database) holds Chorus store schema version \(stored); this chorusd knows version \(Self.schemaVersion) at most: upgrade chorusd (an older one must not write a newer schema)"
        )
      }
      for version in (stored ?? 0)..<Self.schemaVersion {
        for statement in Self.migrations[version] { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger) }
      }
      try await connection.query(
        "INSERT INTO chorus_schema (version) VALUES (\(Self.schemaVersion)) ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version",
        logger: self.logger)
    }
  }

  /// Advisory lock keys (arbitrary, fixed): schema migration and cache trimming.
  static let migrationLock: Int64 = 0x63_686f_7275_7301
  static let cacheTrimLock: Int64 = 0x63_686f_7275_7302

  /// migrations[v] takes the schema from version v to v + 1. Item tables (`chorus_items_<id>`) are made per
  /// collection by the collection store, since their vector column has the collection's dimension.
  static let migrations: [[String]] = [
    [
      """
      CREATE TABLE chorus_collections (
        id bigint GENERATED ALWAYS AS IDENTITY UNIQUE, name text PRIMARY KEY, space text NOT NULL,
        dimension integer NOT NULL, created_ms bigint NOT NULL)
      """,
      """
      CREATE TABLE chorus_cache (
        key text PRIMARY KEY, vector bytea NOT NULL, truncated boolean NOT NULL, used_ms bigint NOT NULL)
      """,
      "CREATE INDEX chorus_cache_by_use ON chorus_cache (used_ms)",
    ]
  ]
}

extension PostgresConnection {
  /// A query whose driver-level logging stays off (failures reach the caller as errors and are logged there).
  @discardableResult
  func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
    try await self.query(query, logger: PostgresDatabase.quiet)
  }
}

extension PostgresDatabase {
  static let quiet = Logger(label: "chorus.store.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
}

/// A flag one task sets and another reads.
private final class Flag: Sendable {
  private let value = Mutex(false)
  func set() { value.withLock { $0 = true } }
  var isSet: Bool { value.withLock { $0 } }
}
