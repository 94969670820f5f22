import Foundation
import Server

/// Where the HTTP API listens, decided at start-up: systemd's HTTP sockets, or `http.sock` bound beside the gRPC
/// socket (same mode, lock and stale-socket rules); plus TCP when `http_address` is set, which must be a loopback
/// address unless an API key guards it.
struct HTTPEndpoints {
  var endpoints: [HTTPListener.Endpoint] = []
  var apiKey: String?
  private var owned: [ListeningSocket] = []

  static func open(settings: Settings, activated: [ListeningSocket]) throws -> HTTPEndpoints {
    var result = HTTPEndpoints()
    guard settings.http else { return result }
    if let file = settings.httpAPIKeyFile { result.apiKey = try readKey(file) }
    if activated.isEmpty {
      let socket = try ListeningSocket.bind(path: settings.resolvedHTTPSocketPath, mode: settings.socketMode)
      result.owned.append(socket)
      result.endpoints.append(.socket(socket))
    } else {
      result.endpoints += activated.map { .socket($0) }
    }
    if let address = settings.httpAddress {
      guard let (host, port) = SettingValue.hostPort(address) else { throw StartupError(description: "http_address '\(address)' is not HOST:PORT") }
      guard isLoopback(host) || result.apiKey != nil else {
        throw StartupError(
          description: "http_address \(address) is not a loopback address; serving HTTP beyond this host needs http_api_key_file (--http-api-key-file)")
      }
      result.endpoints.append(.tcp(host: host, port: port))
    }
    return result
  }

  func cleanUp() {
    for socket in owned { socket.cleanUp() }
  }

  static func isLoopback(_ host: String) -> Bool {
    host == "localhost" || host == "::1" || host.hasPrefix("127.")
  }

  /// The key is the file's text without surrounding whitespace; a file others may read is refused, as ssh does.
  static func readKey(_ path: String) throws -> String {
    var info = stat()
    guard stat(path, &info) == 0 else {
      throw StartupError(description: "cannot read http_api_key_file \(path): \(String(cString: strerror(errno)))")
    }
    guard info.st_mode & 0o007 == 0 else {
      throw StartupError(description: "http_api_key_file \(path) may be read by any user (mode \(String(info.st_mode & 0o777, radix: 8))); chmod o-rwx it")
    }
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      throw StartupError(description: "cannot read http_api_key_file \(path) as UTF-8 text")
    }
    let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard key.count >= 16, !key.contains(where: \.isWhitespace) else {
      throw StartupError(description: "http_api_key_file \(path) must hold one key of at least 16 characters without spaces")
    }
    return key
  }
}
