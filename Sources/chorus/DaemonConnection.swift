import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// Runs `body` with a gRPC client connected to chorusd's socket, turning "nobody there" into exit-2 failures.
func withDaemon<Result: Sendable>(
  _ options: ConnectionOptions,
  _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Result
) async throws -> Result {
  let path = options.socketPath
  var info = stat()
  guard stat(path, &info) == 0 else {
    throw CLIFailure.connection("no daemon at \(path): the socket does not exist (is chorusd running? set --socket or CHORUS_SOCKET)")
  }
  let transport: HTTP2ClientTransport.Posix
  do {
    transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: path), transportSecurity: .plaintext)
  } catch {
    throw CLIFailure.connection("cannot use the socket \(path): \(error)")
  }
  do {
    return try await withGRPCClient(transport: transport) { client in try await body(client) }
  } catch let error as RPCError where error.code == .unavailable {
    throw CLIFailure.connection("no daemon answers at \(path) (\(error.message))")
  }
}

/// A failure of the whole call, as one line: "NOT_FOUND: no space named 'x' …".
func describe(_ error: RPCError) -> String {
  "\(StatusName.of(error.code)): \(error.message)"
}

/// Prints one JSON object as a line (sorted keys, so output is stable for scripts and diffs).
func printJSONLine(_ object: some Encodable) {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
  let data = (try? encoder.encode(object)) ?? Data("{}".utf8)
  FileHandle.standardOutput.write(data + Data("\n".utf8))
}
