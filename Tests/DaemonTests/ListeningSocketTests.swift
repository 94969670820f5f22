import Foundation
import XCTest

@testable import Daemon

final class ListeningSocketTests: XCTestCase {
  var directory: String!

  override func setUp() {
    directory = NSTemporaryDirectory() + "chorus-listen-\(UUID().uuidString.prefix(8))"
  }

  override func tearDown() {
    try? FileManager.default.removeItem(atPath: directory)
  }

  func testBindsWithRequestedMode() throws {
    let path = directory + "/run/c.sock"
    let socket = try ListeningSocket.bind(path: path, mode: 0o600)
    defer { socket.cleanUp() }
    var info = stat()
    XCTAssertEqual(lstat(path, &info), 0)
    XCTAssertEqual(info.st_mode & S_IFMT, S_IFSOCK)
    XCTAssertEqual(info.st_mode & 0o777, 0o600)
  }

  func testSecondBindIsRefusedAndFirstUntouched() throws {
    let path = directory + "/c.sock"
    let first = try ListeningSocket.bind(path: path, mode: 0o660)
    defer { first.cleanUp() }
    XCTAssertThrowsError(try ListeningSocket.bind(path: path, mode: 0o660)) { error in
      XCTAssertTrue("\(error)".contains("already serving on \(path)"), "\(error)")
    }
    XCTAssertTrue(FileManager.default.fileExists(atPath: path))
  }

  func testStaleSocketIsReplaced() throws {
    let path = directory + "/c.sock"
    // A daemon killed with SIGKILL leaves its socket file behind, with nobody listening and no lock held.
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try leaveDeadSocket(at: path)
    let second = try ListeningSocket.bind(path: path, mode: 0o660)
    defer { second.cleanUp() }
    XCTAssertTrue(FileManager.default.fileExists(atPath: path))
  }

  func testRegularFileAtSocketPathIsNeverRemoved() throws {
    let path = directory + "/c.sock"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: path, contents: Data("precious".utf8))
    XCTAssertThrowsError(try ListeningSocket.bind(path: path, mode: 0o660)) { error in
      XCTAssertTrue("\(error)".contains("not a socket"), "\(error)")
    }
    XCTAssertEqual(FileManager.default.contents(atPath: path), Data("precious".utf8))
  }

  func testOverlongPathIsExplained() {
    let path = directory + "/" + String(repeating: "x", count: 120) + ".sock"
    XCTAssertThrowsError(try ListeningSocket.bind(path: path, mode: 0o660)) { error in
      XCTAssertTrue("\(error)".contains("at most 107"), "\(error)")
    }
  }

  private func leaveDeadSocket(at path: String) throws {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    let bound = withUnixSocketAddress(path) { bind(fd, $0, $1) }
    XCTAssertEqual(bound, 0)
    close(fd)
  }
}
