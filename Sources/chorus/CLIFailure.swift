import Foundation
import GRPCCore

/// An error that ends the CLI with a one-line message and a documented exit status.
struct CLIFailure: Error {
  var message: String
  var exitCode: Int32

  /// The daemon could not be reached or the request could not be sent: exit 2.
  static func connection(_ message: String) -> CLIFailure { CLIFailure(message: message, exitCode: 2) }
  /// The daemon answered with a failure: exit 1.
  static func failed(_ message: String) -> CLIFailure { CLIFailure(message: message, exitCode: 1) }

  func report() -> Never {
    FileHandle.standardError.write(Data("chorus: \(message)\n".utf8))
    exit(exitCode)
  }
}

/// Canonical gRPC status names, as scripts expect to see them ("INVALID_ARGUMENT").
enum StatusName {
  private static let names = [
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
    "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
  ]

  static func of(_ code: Int) -> String {
    names.indices.contains(code) ? names[code] : "CODE_\(code)"
  }

  static func of(_ code: RPCError.Code) -> String { of(code.rawValue) }
}
