import Foundation

/// What the daemon knows about itself, reported by `SystemService.GetInfo`.
public struct DaemonFacts: Sendable {
  public var startedAt: Date
  /// The socket path, or how the listening socket was obtained (socket activation).
  public var socket: String
  public var dataDirectory: String
  public var maxRequestBytes: Int

  public init(startedAt: Date, socket: String, dataDirectory: String, maxRequestBytes: Int) {
    self.startedAt = startedAt
    self.socket = socket
    self.dataDirectory = dataDirectory
    self.maxRequestBytes = maxRequestBytes
  }
}
