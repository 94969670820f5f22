import XCTest

@testable import Daemon

final class ConfigFileTests: XCTestCase {
  func testReadsEverySetting() throws {
    let settings = try ConfigFile.parse(
      """
      socket = "/run/x/chorus.sock"
      socket_mode = "0640"
      data_dir = "/var/lib/x"
      log_level = "debug"
      max_request_bytes = 8192
      shutdown_grace_seconds = 2.5

      [models]
      clip = "/srv/models/clip"
      mini-lm = "/srv/models/minilm"
      """, path: "c.toml")
    XCTAssertEqual(settings.socketPath, "/run/x/chorus.sock")
    XCTAssertEqual(settings.socketMode, 0o640)
    XCTAssertEqual(settings.dataDirectory, "/var/lib/x")
    XCTAssertEqual(settings.logLevel, .debug)
    XCTAssertEqual(settings.maxRequestBytes, 8192)
    XCTAssertEqual(settings.shutdownGraceSeconds, 2.5)
    XCTAssertEqual(settings.models, ["clip": "/srv/models/clip", "mini-lm": "/srv/models/minilm"])
  }

  /// `[precision]` names spaces; values are fp32, bf16 or int8 (any case); the flag's entry wins per space.
  func testPrecisionTable() throws {
    let settings = try ConfigFile.parse("[precision]\nclip = \"int8\"\nstarter = \"BF16\"\n", path: "c.toml")
    XCTAssertEqual(settings.precisions, ["clip": .int8, "starter": .bf16])
    assertConfigError("[precision]\nclip = \"int4\"\n", line: 2, key: "precision.clip", contains: "fp32, bf16, int8")
    assertConfigError("precision = \"int8\"\n", line: 1, key: "precision", contains: "a table")
    var flags = PartialSettings()
    flags.precisions = ["clip": .fp32]
    XCTAssertEqual(settings.overridden(by: flags, environment: [:]).precisions, ["clip": .fp32, "starter": .bf16])
    XCTAssertEqual(SettingValue.spacePrecision("clip=INT8")?.precision, .int8)
    XCTAssertNil(SettingValue.spacePrecision("clip=int4"))
    XCTAssertNil(SettingValue.spacePrecision("=int8"))
  }

  func testImageSettings() throws {
    let settings = try ConfigFile.parse("max_image_pixels = 1000000\nexif_orientation = false\nmax_file_bytes = 4096\n", path: "c.toml")
    XCTAssertEqual(settings.maxFileBytes, 4096)
    XCTAssertEqual(settings.maxImagePixels, 1_000_000)
    XCTAssertEqual(settings.exifOrientation, false)
    let resolved = settings.overridden(by: PartialSettings(), environment: [:])
    XCTAssertEqual(resolved.maxImagePixels, 1_000_000)
    XCTAssertFalse(resolved.exifOrientation)
    XCTAssertTrue(PartialSettings().overridden(by: PartialSettings(), environment: [:]).exifOrientation, "on by default")
    assertConfigError("exif_orientation = \"yes\"\n", line: 1, key: "exif_orientation", contains: "true or false")
    assertConfigError("max_image_pixels = 0\n", line: 1, key: "max_image_pixels", contains: "whole number of pixels")
  }

  func testAccessAndQueueSettings() throws {
    let settings = try ConfigFile.parse(
      "max_queued_inputs = 64\nallowed_uids = [0, 1000]\nallowed_gids = [990]\nfile_roots = [\"/srv/photos\", \"/srv/sounds\"]\n", path: "c.toml")
    XCTAssertEqual(settings.maxQueuedInputs, 64)
    XCTAssertEqual(settings.allowedUIDs, [0, 1000])
    XCTAssertEqual(settings.allowedGIDs, [990])
    XCTAssertEqual(settings.fileRoots, ["/srv/photos", "/srv/sounds"])
    var flags = PartialSettings()
    flags.fileRoots = ["/flag/root"]
    let resolved = settings.overridden(by: flags, environment: [:])
    XCTAssertEqual(resolved.fileRoots, ["/flag/root"], "flags win")
    XCTAssertEqual(resolved.allowedUIDs, [0, 1000])
    let defaults = PartialSettings().overridden(by: PartialSettings(), environment: [:])
    XCTAssertEqual(defaults.fileRoots, [], "server-side files are off by default")
    XCTAssertNil(defaults.allowedUIDs)
    XCTAssertNil(defaults.maxQueuedInputs)
    assertConfigError("allowed_uids = \"0,1000\"\n", line: 1, key: "allowed_uids", contains: "array of numeric ids")
    assertConfigError("allowed_gids = [-1]\n", line: 1, key: "allowed_gids", contains: "array of numeric ids")
    assertConfigError("file_roots = [\"photos\"]\n", line: 1, key: "file_roots", contains: "absolute directory paths")
    assertConfigError("max_queued_inputs = 0\n", line: 1, key: "max_queued_inputs", contains: "from 1 to")
    XCTAssertEqual(SettingValue.ids("0, 1000"), [0, 1000])
    XCTAssertNil(SettingValue.ids("0,root"))
    XCTAssertNil(SettingValue.ids(""))
  }

  func testOctalIntegerModeIsAccepted() throws {
    XCTAssertEqual(try ConfigFile.parse("socket_mode = 0o600", path: "c.toml").socketMode, 0o600)
  }

  func testSyntaxErrorNamesFileAndLine() {
    assertConfigError("socket = \"/a\"\nlog_level = \n", line: 2, key: nil, contains: "not valid TOML")
  }

  func testUnknownKeyNamesLineAndKey() {
    assertConfigError("socket = \"/a\"\n\nsokcet_mode = \"0660\"\n", line: 3, key: "sokcet_mode", contains: "unknown setting")
  }

  func testWrongTypeNamesLineAndKey() {
    assertConfigError("data_dir = \"/d\"\nmax_request_bytes = \"big\"\n", line: 2, key: "max_request_bytes", contains: "whole number")
    assertConfigError("socket_mode = \"0999\"\n", line: 1, key: "socket_mode", contains: "octal")
    assertConfigError("log_level = \"loud\"\n", line: 1, key: "log_level", contains: "one of")
  }

  func testBadModelEntryNamesSectionKey() {
    assertConfigError("[models]\nok = \"/m\"\n\"bad name\" = \"/m\"\n", line: 3, key: "models.bad name", contains: "space name")
    assertConfigError("[models]\nclip = 3\n", line: 2, key: "models.clip", contains: "directory")
  }

  func testUnreadableFileIsNamed() {
    XCTAssertThrowsError(try ConfigFile.load(path: "/nonexistent/chorusd.toml")) { error in
      XCTAssertTrue("\(error)".hasPrefix("config file /nonexistent/chorusd.toml: cannot read it"), "\(error)")
    }
  }

  func testFlagsWinOverFileOverDefaults() {
    var file = PartialSettings()
    file.socketPath = "/file.sock"
    file.logLevel = .debug
    file.models = ["a": "/file/a", "b": "/file/b"]
    var flags = PartialSettings()
    flags.socketPath = "/flag.sock"
    flags.models = ["b": "/flag/b"]
    let settings = file.overridden(by: flags, environment: ["HOME": "/home/u"])
    XCTAssertEqual(settings.socketPath, "/flag.sock")
    XCTAssertEqual(settings.logLevel, .debug)
    XCTAssertEqual(settings.models, ["a": "/file/a", "b": "/flag/b"])
    XCTAssertEqual(settings.dataDirectory, "/home/u/.local/share/chorus")
    XCTAssertEqual(settings.socketMode, 0o660)
  }

  func testValueSpellings() {
    XCTAssertEqual(SettingValue.socketMode("660"), 0o660)
    XCTAssertEqual(SettingValue.socketMode("0o600"), 0o600)
    XCTAssertNil(SettingValue.socketMode("1777"))
    XCTAssertNil(SettingValue.socketMode("rw"))
    XCTAssertEqual(SettingValue.model("clip=/a=b")?.directory, "/a=b")
    XCTAssertNil(SettingValue.model("=/dir"))
    XCTAssertNil(SettingValue.model("name="))
    XCTAssertNil(SettingValue.model("a b=/dir"))
  }

  private func assertConfigError(_ text: String, line: Int, key: String?, contains: String, file: StaticString = #filePath, sourceLine: UInt = #line) {
    do {
      _ = try ConfigFile.parse(text, path: "/etc/chorus/chorusd.toml")
      XCTFail("expected an error", file: file, line: sourceLine)
    } catch {
      XCTAssertEqual(error.file, "/etc/chorus/chorusd.toml", file: file, line: sourceLine)
      XCTAssertEqual(error.line, line, "\(error)", file: file, line: sourceLine)
      XCTAssertEqual(error.key, key, "\(error)", file: file, line: sourceLine)
      XCTAssertTrue(error.description.contains(contains), "\(error)", file: file, line: sourceLine)
    }
  }
}

final class HTTPSettingsTests: XCTestCase {
  func testHTTPKeysAndDefaults() throws {
    let settings = try ConfigFile.parse(
      "socket = \"/run/x/chorus.sock\"\nhttp_address = \"127.0.0.1:8080\"\nhttp_api_key_file = \"/etc/k\"\nhttp_header_timeout_seconds = 5\n", path: "c.toml")
    let resolved = settings.overridden(by: PartialSettings(), environment: [:])
    XCTAssertTrue(resolved.http, "on by default")
    XCTAssertEqual(resolved.resolvedHTTPSocketPath, "/run/x/http.sock", "beside the gRPC socket")
    XCTAssertEqual(resolved.httpAddress, "127.0.0.1:8080")
    XCTAssertEqual(resolved.httpAPIKeyFile, "/etc/k")
    XCTAssertEqual(resolved.httpHeaderTimeoutSeconds, 5)
    let off = try ConfigFile.parse("http = false\nhttp_socket = \"/tmp/h.sock\"\n", path: "c.toml").overridden(by: PartialSettings(), environment: [:])
    XCTAssertFalse(off.http)
    XCTAssertEqual(off.resolvedHTTPSocketPath, "/tmp/h.sock")
    XCTAssertThrowsError(try ConfigFile.parse("http_address = \"8080\"\n", path: "c.toml")) { XCTAssertTrue("\($0)".contains("HOST:PORT")) }
    XCTAssertThrowsError(try ConfigFile.parse("http = \"on\"\n", path: "c.toml")) { XCTAssertTrue("\($0)".contains("true or false")) }
  }

  func testHostPort() {
    XCTAssertEqual(SettingValue.hostPort("127.0.0.1:80")?.host, "127.0.0.1")
    XCTAssertEqual(SettingValue.hostPort("[::1]:8080")?.host, "::1")
    XCTAssertEqual(SettingValue.hostPort("[::1]:8080")?.port, 8080)
    XCTAssertNil(SettingValue.hostPort("localhost"))
    XCTAssertNil(SettingValue.hostPort(":80"))
    XCTAssertNil(SettingValue.hostPort("h:70000"))
    XCTAssertTrue(HTTPEndpoints.isLoopback("127.0.0.2"))
    XCTAssertFalse(HTTPEndpoints.isLoopback("0.0.0.0"))
  }
}
