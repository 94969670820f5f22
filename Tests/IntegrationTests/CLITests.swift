import Foundation
import XCTest

/// The `chorus` CLI against the real daemon: output formats and exit statuses.
final class CLITests: XCTestCase {
  var daemon: DaemonProcess!

  override func setUp() async throws {
    daemon = DaemonProcess()
    try await daemon.startServing()
  }

  override func tearDown() {
    daemon.stop()
  }

  func testHealthExitsZeroWhenServing() throws {
    let result = try daemon.cli(["health", "--json"])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertEqual(result.stdout, "{\"status\":\"SERVING\"}\n")
  }

  func testInfoJSON() throws {
    let result = try daemon.cli(["info", "--json"])
    XCTAssertEqual(result.status, 0, result.stderr)
    let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    XCTAssertEqual(object["socket"] as? String, daemon.socketPath)
    XCTAssertEqual(object["version"] as? String, "0.1.0")
  }

  func testEmbedPrintsOneErrorObjectPerInputInOrderAndExitsOne() throws {
    let missing = daemon.directory + "/missing.jpg"
    let result = try daemon.cli(["embed", "--space", "nope", "--text", "a", "--image", missing, "--text", "b", "--json"])
    XCTAssertEqual(result.status, 1, result.stderr)
    let lines = result.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: [String: String]] }
    XCTAssertEqual(lines.count, 3)
    XCTAssertEqual(lines.map { $0["error"]?["code"] }, ["NOT_FOUND", "INVALID_ARGUMENT", "NOT_FOUND"])
    XCTAssertTrue(lines[1]["error"]?["message"]?.contains(missing) == true)
  }

  func testNoDaemonIsExitTwoWithOneLine() throws {
    let result = try DaemonProcess.runCLI(["--socket", daemon.directory + "/absent.sock"], ["health"])
    XCTAssertEqual(result.status, 2)
    XCTAssertTrue(result.stderr.hasPrefix("chorus: no daemon at \(daemon.directory)/absent.sock"), result.stderr)
    XCTAssertEqual(result.stderr.split(separator: "\n").count, 1)
  }

  func testConnectionOptionsGoBeforeOrAfterTheSubcommand() throws {
    for arguments in [["--socket", daemon.socketPath, "health"], ["--socket=\(daemon.socketPath)", "health"], ["health", "--socket", daemon.socketPath],
      ["--socket", daemon.socketPath, "collection", "list", "--json"]]
    {
      let result = try DaemonProcess.runCLI([], arguments)
      XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)")
    }
  }

  func testUsageErrorIsExitTwo() throws {
    let result = try daemon.cli(["embed"])
    XCTAssertEqual(result.status, 2)
    XCTAssertTrue(result.stderr.contains("give at least one --text, --image or --audio"), result.stderr)
  }

  func testSocketFromEnvironment() throws {
    let cli = Process()
    cli.executableURL = URL(fileURLWithPath: DaemonProcess.binDirectory + "/chorus")
    cli.arguments = ["health"]
    cli.environment = ["CHORUS_SOCKET": daemon.socketPath]
    cli.standardOutput = FileHandle.nullDevice
    try cli.run()
    cli.waitUntilExit()
    XCTAssertEqual(cli.terminationStatus, 0)
  }
}
