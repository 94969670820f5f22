import ChorusAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import XCTest

/// A real chorusd started from the build folder on a socket in a fresh temp dir.
/// Unchecked: the only state touched from another thread is `stderrData`, which is behind `stderrLock`.
final class DaemonProcess: @unchecked Sendable {
  let directory: String
  let socketPath: String
  let dataDirectory: String
  let process = Process()
  private let stderrPipe = Pipe()
  private var stderrData = Data()
  private let stderrLock = NSLock()

  /// The build folder's binaries: $CHORUS_BIN_DIR, else `.build/debug` beside this test's package.
  static var binDirectory: String {
    if let dir = ProcessInfo.processInfo.environment["CHORUS_BIN_DIR"] { return dir }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug").path
  }

  static func makeTemporaryDirectory() -> String {
    // Short: Unix socket paths are limited to 107 bytes.
    let path = "/tmp/chorus-it-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  init(arguments: [String] = [], environment: [String: String] = [:], directory: String? = nil, socketPath: String? = nil) {
    self.directory = directory ?? Self.makeTemporaryDirectory()
    self.socketPath = socketPath ?? self.directory + "/chorus.sock"
    self.dataDirectory = self.directory + "/data"
    process.executableURL = URL(fileURLWithPath: Self.binDirectory + "/chorusd")
    process.arguments = ["--socket", self.socketPath, "--data-dir", dataDirectory] + arguments
    var env = ProcessInfo.processInfo.environment
    for key in ["NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "JOURNAL_STREAM", "CHORUSD_CONFIG"] { env[key] = nil }
    process.environment = env.merging(environment) { _, new in new }
    process.standardError = stderrPipe
    process.standardOutput = FileHandle.nullDevice
    stderrPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
      let chunk = handle.availableData
      guard let self else { return }
      self.stderrLock.withLock { self.stderrData.append(chunk) }
    }
  }

  var stderr: String { stderrLock.withLock { String(decoding: stderrData, as: UTF8.self) } }

  func start() throws {
    try process.run()
  }

  /// Starts and waits until the health check says SERVING.
  func startServing(timeout: TimeInterval = 60) async throws {
    try start()
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if !process.isRunning { throw Failure("chorusd exited early (\(process.terminationStatus)): \(stderr)") }
      if FileManager.default.fileExists(atPath: socketPath),
        (try? await withClient { try await Grpc_Health_V1_Health.Client(wrapping: $0).check(.init()).status }) == .serving
      {
        return
      }
      try await Task.sleep(for: .milliseconds(50))
    }
    throw Failure("chorusd did not become SERVING within \(timeout) s: \(stderr)")
  }

  /// Waits for the process to end; returns its exit status.
  @discardableResult
  func waitForExit(timeout: TimeInterval = 20) async throws -> Int32 {
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning {
      if Date() > deadline { throw Failure("chorusd did not exit within \(timeout) s") }
      try await Task.sleep(for: .milliseconds(20))
    }
    return process.terminationStatus
  }

  func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

  func stop() {
    if process.isRunning {
      signal(SIGKILL)
      process.waitUntilExit()
    }
    try? FileManager.default.removeItem(atPath: directory)
  }

  func withClient<R: Sendable>(_ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> R) async throws -> R {
    let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: socketPath), transportSecurity: .plaintext)
    return try await withGRPCClient(transport: transport) { try await body($0) }
  }

  /// Runs the `chorus` CLI against this daemon; returns exit status, stdout and stderr.
  func cli(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    try Self.runCLI(["--socket", socketPath], arguments)
  }

  static func runCLI(_ connection: [String], _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let cli = Process()
    cli.executableURL = URL(fileURLWithPath: binDirectory + "/chorus")
    // Subcommand first, then --socket (either place works; tests of the other place pass no connection here).
    cli.arguments = Array(arguments.prefix(1)) + connection + arguments.dropFirst()
    let out = Pipe(), err = Pipe()
    cli.standardOutput = out
    cli.standardError = err
    try cli.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    cli.waitUntilExit()
    return (cli.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
  }
}

struct Failure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
