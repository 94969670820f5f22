import ChorusAPI
import Foundation
import GRPCCore
import XCTest

/// Start-up, shutdown and systemd behaviour of the real chorusd binary.
final class LifecycleTests: XCTestCase {
  func testSecondDaemonOnLiveSocketIsRefusedAndFirstKeepsServing() async throws {
    let first = DaemonProcess()
    defer { first.stop() }
    try await first.startServing()

    let second = DaemonProcess(directory: DaemonProcess.makeTemporaryDirectory(), socketPath: first.socketPath)
    defer { second.stop() }
    try second.start()
    let status = try await second.waitForExit()
    XCTAssertNotEqual(status, 0)
    XCTAssertTrue(second.stderr.contains("already serving on \(first.socketPath)"), second.stderr)

    let health = try await first.withClient { try await Grpc_Health_V1_Health.Client(wrapping: $0).check(.init()).status }
    XCTAssertEqual(health, .serving)
  }

  func testStaleSocketOfKilledDaemonIsReplaced() async throws {
    let first = DaemonProcess()
    try await first.startServing()
    first.signal(SIGKILL)
    try await first.waitForExit()
    XCTAssertTrue(FileManager.default.fileExists(atPath: first.socketPath), "SIGKILL leaves the socket file")

    let second = DaemonProcess(directory: first.directory)
    defer { second.stop() }
    try await second.startServing()
  }

  /// Every encoder has run a batch and the ConSE prompts exist before health says SERVING: the first image after
  /// start is as quick as any other (it used to wait seconds for the prompts), and the log says how long start took.
  func testWarmStartBeforeServing() async throws {
    let daemon = DaemonProcess()
    defer { daemon.stop() }
    try await daemon.startServing(timeout: 60)
    let photo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("MediaTests/Fixtures/formats/baseline.jpg")
    let started = ContinuousClock.now
    let response = try await daemon.withClient {
      try await Chorus_V1_EmbeddingService.Client(wrapping: $0).embed(.with { $0.inputs = [.with { $0.image = try! Data(contentsOf: photo) }] })
    }
    XCTAssertEqual(response.results[0].embedding.vector.count, 384, response.results[0].error.message)
    XCTAssertLessThan(ContinuousClock.now - started, .seconds(1), "the first image waits for no first-use work")
    let log = daemon.stderr
    XCTAssertTrue(log.contains("space warmed up"), log)
    XCTAssertTrue(log.contains("seconds_to_ready="), log)
    XCTAssertLessThan(log.range(of: "space warmed up")!.lowerBound, log.range(of: "chorusd serving")!.lowerBound)
  }

  func testSigtermRemovesSocketAndExitsZero() async throws {
    let daemon = DaemonProcess()
    defer { daemon.stop() }
    try await daemon.startServing()
    daemon.signal(SIGTERM)
    let status = try await daemon.waitForExit()
    XCTAssertEqual(status, 0, daemon.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.socketPath))
  }

  func testReadinessAndStoppingAreSentToNotifySocket() async throws {
    let directory = DaemonProcess.makeTemporaryDirectory()
    let notify = try DatagramListener(path: directory + "/notify.sock")
    let daemon = DaemonProcess(environment: ["NOTIFY_SOCKET": notify.path], directory: directory)
    defer { daemon.stop() }
    try daemon.start()
    // The encoders warm up first; READY follows once they have.
    let warming = try await notify.receive(timeout: 20)
    XCTAssertTrue(warming.contains("STATUS=warming up") && !warming.contains("READY=1"), warming)
    let ready = try await notify.receive(timeout: 30)
    XCTAssertTrue(ready.contains("READY=1"), ready)
    XCTAssertTrue(ready.contains("MAINPID=\(daemon.process.processIdentifier)"), ready)
    // Ready means serving: the socket answers at once.
    let health = try await daemon.withClient { try await Grpc_Health_V1_Health.Client(wrapping: $0).check(.init()).status }
    XCTAssertEqual(health, .serving)
    daemon.signal(SIGTERM)
    let stopping = try await notify.receive(timeout: 20)
    XCTAssertTrue(stopping.contains("STOPPING=1"), stopping)
    let status = try await daemon.waitForExit()
    XCTAssertEqual(status, 0)
  }

  func testSocketActivationWithSystemdSocketActivate() async throws {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-socket-activate") else {
      throw XCTSkip("systemd-socket-activate is not installed (Debian package systemd)")
    }
    let directory = DaemonProcess.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let socketPath = directory + "/activated.sock"
    let activator = Process()
    activator.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-socket-activate")
    activator.arguments = ["-l", socketPath, DaemonProcess.binDirectory + "/chorusd", "--data-dir", directory + "/data"]
    activator.standardError = FileHandle.nullDevice
    try activator.run()
    defer { if activator.isRunning { kill(activator.processIdentifier, SIGKILL) } }

    var info: Chorus_V1_ServerInfo?
    let probe = DaemonProcess(directory: directory, socketPath: socketPath)
    for _ in 0..<200 where info == nil {
      info = try? await probe.withClient { try await Chorus_V1_SystemService.Client(wrapping: $0).getInfo(.init()) }
      if info == nil { try await Task.sleep(for: .milliseconds(50)) }
    }
    let served = try XCTUnwrap(info, "no answer through the activated socket")
    XCTAssertEqual(served.socket, "fd:3 (socket activation)")
    XCTAssertEqual(served.pid, UInt32(activator.processIdentifier), "systemd-socket-activate execs chorusd in its own process")
    kill(activator.processIdentifier, SIGTERM)
    activator.waitUntilExit()
    XCTAssertEqual(activator.terminationStatus, 0)
  }

  func testMalformedConfigNamesFileLineAndKey() async throws {
    let directory = DaemonProcess.makeTemporaryDirectory()
    let config = directory + "/chorusd.toml"
    try "data_dir = \"\(directory)/data\"\nsocket_mode = \"rw-rw----\"\n".write(toFile: config, atomically: true, encoding: .utf8)
    let daemon = DaemonProcess(arguments: ["--config", config], directory: directory)
    defer { daemon.stop() }
    try daemon.start()
    let status = try await daemon.waitForExit()
    XCTAssertNotEqual(status, 0)
    XCTAssertTrue(daemon.stderr.contains("config file \(config), line 2, key 'socket_mode'"), daemon.stderr)
  }

  func testUnusableDataDirIsAClearStartupError() async throws {
    let directory = DaemonProcess.makeTemporaryDirectory()
    FileManager.default.createFile(atPath: directory + "/file", contents: Data())
    let daemon = DaemonProcess(arguments: ["--data-dir", directory + "/file/data"], directory: directory)
    defer { daemon.stop() }
    try daemon.start()
    let status = try await daemon.waitForExit()
    XCTAssertNotEqual(status, 0)
    XCTAssertTrue(daemon.stderr.contains("cannot create the data dir \(directory)/file/data"), daemon.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.socketPath), "no socket is left behind")
  }

  func testBadModelDirectoryStopsStartupNamingIt() async throws {
    let daemon = DaemonProcess(arguments: ["--model", "clip=/nonexistent"])
    defer { daemon.stop() }
    try daemon.start()
    let status = try await daemon.waitForExit()
    XCTAssertNotEqual(status, 0)
    XCTAssertTrue(daemon.stderr.contains("cannot load space 'clip' from /nonexistent: /nonexistent: not a directory"), daemon.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.socketPath), "no socket is left behind")
  }

  func testModelFlagAddsASpaceBesideTheStarter() async throws {
    let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("EncodersTests/Fixtures/tiny-bert-st").path
    let daemon = DaemonProcess(arguments: ["--model", "tiny=\(tiny)"])
    defer { daemon.stop() }
    try await daemon.startServing()
    let spaces = try await daemon.withClient { try await Chorus_V1_EmbeddingService.Client(wrapping: $0).listSpaces(.init()) }
    XCTAssertEqual(spaces.spaces.map(\.name), ["starter", "tiny"])
    let response = try await daemon.withClient {
      try await Chorus_V1_EmbeddingService.Client(wrapping: $0).embed(.with {
        $0.space = "tiny"
        $0.inputs = [.with { $0.text = "hello" }]
      })
    }
    XCTAssertEqual(response.dimension, 32)
    XCTAssertEqual(response.results[0].embedding.vector.count, 32)
  }

  func testCorruptCheckpointStopsStartupNamingTheFile() async throws {
    let directory = DaemonProcess.makeTemporaryDirectory()
    let model = directory + "/model"
    let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("EncodersTests/Fixtures/tiny-bert-st")
    try FileManager.default.copyItem(at: tiny, to: URL(fileURLWithPath: model))
    let weights = model + "/model.safetensors"
    let whole = try Data(contentsOf: URL(fileURLWithPath: weights))
    try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: weights))  // cut short: offsets now point past the end
    let daemon = DaemonProcess(arguments: ["--no-starter", "--model", "broken=\(model)"], directory: directory)
    defer { daemon.stop() }
    try daemon.start()
    let status = try await daemon.waitForExit()
    XCTAssertEqual(status, 1, daemon.stderr)
    XCTAssertTrue(daemon.stderr.contains("cannot load space 'broken' from \(model): \(weights): tensor"), daemon.stderr)
    XCTAssertTrue(daemon.stderr.contains("outside the data section"), daemon.stderr)
  }

  /// Vectors computed before a restart are served from the cache after it.
  func testCacheSurvivesRestart() async throws {
    let request = Chorus_V1_EmbedRequest.with { $0.inputs = [.with { $0.text = "remember me across restarts" }] }
    let first = DaemonProcess()
    try await first.startServing()
    let computed = try await first.withClient { try await Chorus_V1_EmbeddingService.Client(wrapping: $0).embed(request) }
    XCTAssertFalse(computed.results[0].embedding.cached)
    first.signal(SIGTERM)
    try await first.waitForExit()

    let second = DaemonProcess(directory: first.directory)
    defer { second.stop() }
    try await second.startServing()
    // The warm start has read the ConSE class prompts from the cache too: count the request's hit alone.
    func hits() throws -> Int {
      let stats = try second.cli(["stats", "--json"])
      XCTAssertEqual(stats.status, 0, stats.stderr)
      let json = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
      return try XCTUnwrap(json?["hits"] as? Int, stats.stdout)
    }
    let before = try hits()
    let again = try await second.withClient { try await Chorus_V1_EmbeddingService.Client(wrapping: $0).embed(request) }
    XCTAssertTrue(again.results[0].embedding.cached)
    XCTAssertEqual(again.results[0].embedding.vector, computed.results[0].embedding.vector)
    XCTAssertEqual(try hits() - before, 1)
  }

  func testNoStarterServesNoSpaces() async throws {
    let daemon = DaemonProcess(arguments: ["--no-starter"])
    defer { daemon.stop() }
    try await daemon.startServing()
    let spaces = try await daemon.withClient { try await Chorus_V1_EmbeddingService.Client(wrapping: $0).listSpaces(.init()) }
    XCTAssertEqual(spaces.spaces, [])
    XCTAssertEqual(spaces.defaultSpace, "")
  }
}

/// A Unix datagram socket standing in for systemd's notification socket.
final class DatagramListener {
  let path: String
  private let fd: Int32

  init(path: String) throws {
    self.path = path
    fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path.utf8) }
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard bound == 0 else { throw Failure("cannot bind \(path)") }
  }

  deinit { close(fd) }

  func receive(timeout: TimeInterval) async throws -> String {
    let deadline = Date().addingTimeInterval(timeout)
    var buffer = [UInt8](repeating: 0, count: 4096)
    while Date() < deadline {
      let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
      if count > 0 { return String(decoding: buffer[..<count], as: UTF8.self) }
      try await Task.sleep(for: .milliseconds(20))
    }
    throw Failure("no notification within \(timeout) s")
  }
}
