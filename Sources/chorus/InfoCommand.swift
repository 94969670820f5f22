import ArgumentParser
import ChorusAPI
import Foundation
import GRPCCore

struct InfoCommand: ChorusSubcommand {
  static let configuration = CommandConfiguration(
    commandName: "info", abstract: "Show the daemon's version, build, uptime, socket and data dir.")

  @OptionGroup var connection: ConnectionOptions
  @Flag(help: "Print JSON.") var json = false

  struct InfoJSON: Encodable {
    var version: String
    var build: String
    var started_unix_ms: Int64
    var uptime_seconds: Double
    var socket: String
    var data_dir: String
    var pid: UInt32
    var max_request_bytes: UInt64
    var spaces: [String]
  }

  func execute() async throws {
    let info = try await withDaemon(connection) { client in
      try await Chorus_V1_SystemService.Client(wrapping: client).getInfo(Chorus_V1_GetInfoRequest())
    }
    if json {
      printJSONLine(
        InfoJSON(
          version: info.version, build: info.build, started_unix_ms: info.startedUnixMs, uptime_seconds: info.uptimeSeconds,
          socket: info.socket, data_dir: info.dataDir, pid: info.pid, max_request_bytes: info.maxRequestBytes,
          spaces: info.spaces))
    } else {
      print("chorusd \(info.version) (\(info.build)), pid \(info.pid), up \(String(format: "%.1f", info.uptimeSeconds)) s")
      print("socket:   \(info.socket)")
      print("data dir: \(info.dataDir)")
      print("max request: \(info.maxRequestBytes) bytes")
      print("spaces:   \(info.spaces.isEmpty ? "(none)" : info.spaces.joined(separator: ", "))")
    }
  }
}
