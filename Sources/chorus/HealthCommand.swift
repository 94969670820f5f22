import ArgumentParser
import ChorusAPI
import GRPCCore

struct HealthCommand: ChorusSubcommand {
  static let configuration = CommandConfiguration(
    commandName: "health", abstract: "Ask whether chorusd is serving (exit 0 only when SERVING).")

  @OptionGroup var connection: ConnectionOptions
  @Flag(help: "Print JSON.") var json = false

  func execute() async throws {
    let status = try await withDaemon(connection) { client in
      try await Grpc_Health_V1_Health.Client(wrapping: client).check(Grpc_Health_V1_HealthCheckRequest()).status
    }
    let name = Self.name(status)
    if json {
      printJSONLine(["status": name])
    } else {
      print(name)
    }
    if status != .serving { throw ExitCode(1) }
  }

  static func name(_ status: Grpc_Health_V1_HealthCheckResponse.ServingStatus) -> String {
    switch status {
    case .serving: "SERVING"
    case .notServing: "NOT_SERVING"
    case .serviceUnknown: "SERVICE_UNKNOWN"
    case .unknown: "UNKNOWN"
    case .UNRECOGNIZED(let value): "UNRECOGNIZED_\(value)"
    }
  }
}
