import Foundation
import XCTest

@testable import Engine

/// Server-side files are read only under the file roots and only when the caller itself could read them. The
/// permission cases need a caller other than the file's owner: files are made by the test's user (root in CI)
/// and read for `nobody`.
final class FileAccessTests: XCTestCase {
  var directory: String!
  let nobody = Caller(uid: 65534, gid: 65534, pid: 1)
  let me = Caller(uid: getuid(), gid: getgid(), pid: getpid())

  override func setUp() {
    directory = "/tmp/chorus-files-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: directory + "/root/inner", withIntermediateDirectories: true)
    chmod(directory, 0o755)
    chmod(directory + "/root", 0o755)
    chmod(directory + "/root/inner", 0o755)
  }

  override func tearDown() {
    try? FileManager.default.removeItem(atPath: directory)
  }

  func write(_ path: String, _ text: String = "a cat on a mat", mode: mode_t = 0o644) -> String {
    let full = directory + "/" + path
    FileManager.default.createFile(atPath: full, contents: Data(text.utf8))
    chmod(full, mode)
    return full
  }

  func read(_ path: String, caller: Caller?, roots: [String]? = nil, maxBytes: Int = 1 << 20) throws -> Result<Data, InputError> {
    FileInput.read(path: path, maxBytes: maxBytes, roots: try FileRoots(roots ?? [directory + "/root"]), caller: caller)
  }

  func assertRefused(_ result: Result<Data, InputError>, _ kind: InputError.Kind, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
    guard case .failure(let error) = result else { return XCTFail("read, but should be refused", file: file, line: line) }
    XCTAssertEqual(error.kind, kind, error.message, file: file, line: line)
    XCTAssertTrue(error.message.contains(fragment), "'\(error.message)' lacks '\(fragment)'", file: file, line: line)
  }

  func testFilesAreOffWithoutRoots() throws {
    let path = write("root/a.txt")
    assertRefused(try read(path, caller: me, roots: []), .permissionDenied, "file_roots (--file-root)")
  }

  func testAFileUnderARootIsReadForACallerWhoCouldReadIt() throws {
    let path = write("root/inner/a.txt")
    XCTAssertEqual(try read(path, caller: nobody).get(), Data("a cat on a mat".utf8))
    XCTAssertEqual(try read(directory + "/root/inner/../inner/./a.txt", caller: nobody).get(), Data("a cat on a mat".utf8), "`..` inside the root is fine")
  }

  func testOutsideTheRootsIsRefusedWhateverTheSpelling() throws {
    let outside = write("outside.txt")
    assertRefused(try read(outside, caller: me), .permissionDenied, "outside the directories")
    assertRefused(try read(directory + "/root/../outside.txt", caller: me), .permissionDenied, "outside the directories")
    let link = directory + "/root/link.txt"
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: outside)
    assertRefused(try read(link, caller: me), .permissionDenied, "outside the directories")
    try FileManager.default.createSymbolicLink(atPath: directory + "/root/etc", withDestinationPath: "/etc")
    assertRefused(try read(directory + "/root/etc/passwd", caller: me), .permissionDenied, "outside the directories")
  }

  func testASymlinkInsideTheRootIsFollowed() throws {
    let target = write("root/inner/a.txt")
    try FileManager.default.createSymbolicLink(atPath: directory + "/root/b.txt", withDestinationPath: target)
    XCTAssertEqual(try read(directory + "/root/b.txt", caller: nobody).get(), Data("a cat on a mat".utf8))
  }

  func testTheCallersPermissionsDecide() throws {
    try XCTSkipUnless(getuid() == 0, "needs root to give files to other owners (CI runs as root)")
    let secret = write("root/secret.txt", mode: 0o600)
    assertRefused(try read(secret, caller: nobody), .permissionDenied, "uid 65534) may not read it")
    XCTAssertNoThrow(try read(secret, caller: me).get(), "the owner may")
    XCTAssertNoThrow(try read(secret, caller: Caller(uid: 0, gid: 0, pid: 1)).get(), "root may")
    // Group bits count for a member of the file's group.
    let grouped = write("root/grouped.txt", mode: 0o640)
    chown(grouped, 0, 65534)
    XCTAssertNoThrow(try read(grouped, caller: Caller(uid: 4242, gid: 65534, pid: 1)).get())
    assertRefused(try read(grouped, caller: Caller(uid: 4242, gid: 4242, pid: 1)), .permissionDenied, "may not read it")
    // A readable file in a directory the caller may not search.
    let hidden = write("root/inner/open.txt", mode: 0o644)
    chmod(directory + "/root/inner", 0o700)
    assertRefused(try read(hidden, caller: nobody), .permissionDenied, "may not search \(directory!)/root/inner")
  }

  /// Answers about a folder the caller may not search are all the same refusal: whether a file there exists, or
  /// is a link leading out of the roots, is not the caller's to learn.
  func testNothingIsToldAboutAFolderTheCallerMayNotSearch() throws {
    try XCTSkipUnless(getuid() == 0, "needs a caller other than the folder's owner")
    let hidden = directory + "/root/hidden"
    try FileManager.default.createDirectory(atPath: hidden, withIntermediateDirectories: true)
    chmod(hidden, 0o700)
    let outside = write("outside.txt")
    try FileManager.default.createSymbolicLink(atPath: hidden + "/out.txt", withDestinationPath: outside)
    for path in [hidden + "/missing.txt", hidden + "/deeper/missing.txt", hidden + "/out.txt"] {
      assertRefused(try read(path, caller: nobody), .permissionDenied, "may not search \(directory!)/root/hidden")
    }
    assertRefused(try read(hidden + "/missing.txt", caller: me), .notFound, "no such file")
    assertRefused(try read(hidden + "/out.txt", caller: me), .permissionDenied, "outside the directories")
  }

  func testEtcShadowIsRefusedEvenUnderARootForAnotherUser() throws {
    try XCTSkipUnless(FileManager.default.fileExists(atPath: "/etc/shadow"))
    assertRefused(try read("/etc/shadow", caller: nobody, roots: ["/etc"]), .permissionDenied, "may not read it")
    assertRefused(try read("/etc/shadow", caller: me, roots: [directory + "/root"]), .permissionDenied, "outside the directories")
  }

  func testFIFOsDevicesAndFoldersAreNotRegularFiles() throws {
    let fifo = directory + "/root/pipe"
    XCTAssertEqual(mkfifo(fifo, 0o666), 0)
    let started = Date()
    assertRefused(try read(fifo, caller: me), .invalidArgument, "not a regular file")
    XCTAssertLessThan(Date().timeIntervalSince(started), 1, "a FIFO with no writer must not block the read")
    assertRefused(try read("/dev/null", caller: me, roots: ["/dev"]), .invalidArgument, "not a regular file")
    assertRefused(try read(directory + "/root/inner", caller: me), .invalidArgument, "not a regular file")
    assertRefused(try read("/proc/self/status", caller: me), .permissionDenied, "outside the directories")
  }

  func testMissingRelativeUnknownCallerAndOverLimit() throws {
    assertRefused(try read(directory + "/root/missing.txt", caller: me), .notFound, "no such file")
    assertRefused(try read("root/a.txt", caller: me), .invalidArgument, "absolute path")
    let path = write("root/a.txt")
    assertRefused(try read(path, caller: nil), .permissionDenied, "credentials are unknown")
    assertRefused(try read(path, caller: me, maxBytes: 4), .resourceExhausted, "max_file_bytes")
  }

  func testRootsMustExist() {
    XCTAssertThrowsError(try FileRoots([directory + "/absent"])) { XCTAssertTrue("\($0)".contains("absent"), "\($0)") }
    XCTAssertThrowsError(try FileRoots(["relative"])) { XCTAssertTrue("\($0)".contains("absolute"), "\($0)") }
  }
}
