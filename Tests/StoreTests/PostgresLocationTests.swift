import XCTest

@testable import Store

/// The store URL and the password sources, as libpq reads them.
final class PostgresLocationTests: XCTestCase {
  func testTCPAndSocketForms() throws {
    let tcp = try PostgresLocation(url: "postgresql://chorus@db.example:6543/vectors?sslmode=verify-full")
    XCTAssertEqual(tcp.host, "db.example")
    XCTAssertEqual(tcp.port, 6543)
    XCTAssertEqual(tcp.user, "chorus")
    XCTAssertEqual(tcp.database, "vectors")
    XCTAssertEqual(tcp.sslMode, .verifyFull)
    let socket = try PostgresLocation(url: "postgresql://chorus@%2Frun%2Fpostgresql/vectors")
    XCTAssertNil(socket.host)
    XCTAssertEqual(socket.socketDirectory, "/run/postgresql")
    XCTAssertEqual(socket.port, 5432)
    XCTAssertEqual(socket.sslMode, .prefer)
    let query = try PostgresLocation(url: "postgres:///vectors?host=/tmp/pg&port=5499&user=me", defaultUser: "nobody")
    XCTAssertEqual(query.socketDirectory, "/tmp/pg")
    XCTAssertEqual(query.port, 5499)
    XCTAssertEqual(query.user, "me")
    XCTAssertEqual(query.description, "postgresql://me@/tmp/pg (socket)/vectors")
    XCTAssertEqual(try PostgresLocation(url: "postgresql://ann@localhost").database, "ann", "the database defaults to the user's name, as in libpq")
  }

  func testMistakesAreNamed() {
    let cases: [(String, String)] = [
      ("mysql://x/y", "must start with postgresql://"),
      ("postgresql://me:hunter2@localhost/db", "holds a password"),
      ("postgresql://me@localhost/db?sslmode=sometimes", "sslmode 'sometimes' is not one of disable, prefer, require, verify-ca, verify-full"),
      ("postgresql://me@localhost/db?colour=blue", "unknown parameter 'colour'"),
      ("postgresql://me@localhost/db?port=99999", "port '99999'"),
      ("postgresql://me@/db", "names no host"),
      ("postgresql://me@%2Ftmp/db?sslmode=require", "TLS does not apply"),
    ]
    for (url, needle) in cases {
      XCTAssertThrowsError(try PostgresLocation(url: url), url) { error in
        XCTAssertTrue("\(error)".contains(needle), "\(url): \(error)")
        XCTAssertFalse("\(error)".contains("hunter2"), "a password never reaches a message")
      }
    }
  }

  func testPgpassLookup() {
    let file = """
      # comment
      other:5432:*:me:wrong
      db.example:5432:vectors:me:first\\:colon
      *:*:*:me:fallback
      localhost:5499:*:*:socket
      """
    XCTAssertEqual(PostgresLocation.pgpassLookup(file, host: "db.example", isSocket: false, port: 5432, database: "vectors", user: "me"), "first:colon")
    XCTAssertEqual(PostgresLocation.pgpassLookup(file, host: "db.example", isSocket: false, port: 5432, database: "other", user: "me"), "fallback")
    XCTAssertEqual(PostgresLocation.pgpassLookup(file, host: "/tmp/pg", isSocket: true, port: 5499, database: "x", user: "you"), "socket")
    XCTAssertNil(PostgresLocation.pgpassLookup(file, host: "db.example", isSocket: false, port: 5432, database: "x", user: "you"))
  }

  func testPasswordSourcesInOrder() throws {
    let location = try PostgresLocation(url: "postgresql://me@db.example/vectors")
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pgpass-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let passwordFile = directory + "/password"
    try "from-file\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
    let pgpass = directory + "/pgpass"
    try "*:*:*:me:from-pgpass\n".write(toFile: pgpass, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: pgpass)
    let environment = ["PGPASSWORD": "from-env", "PGPASSFILE": pgpass]
    XCTAssertEqual(try location.password(passwordFile: passwordFile, environment: environment), "from-file")
    XCTAssertEqual(try location.password(passwordFile: nil, environment: environment), "from-env")
    XCTAssertEqual(try location.password(passwordFile: nil, environment: ["PGPASSFILE": pgpass]), "from-pgpass")
    try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: pgpass)
    XCTAssertNil(try location.password(passwordFile: nil, environment: ["PGPASSFILE": pgpass]), "a pgpass file others can read is ignored")
    XCTAssertThrowsError(try location.password(passwordFile: directory + "/missing", environment: [:]))
  }
}
