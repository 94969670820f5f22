import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Talks to systemd's notification socket ($NOTIFY_SOCKET) directly, as sd_notify(3) does, without libsystemd:
/// readiness, stopping, status text and watchdog pings. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
public struct SystemdNotifier: Sendable {
  private let socketPath: String?
  /// Half the watchdog timeout, when systemd asked this process for pings (WATCHDOG_USEC, WATCHDOG_PID).
  public let watchdogInterval: Duration?

  public init(environment: [String: String]) {
    let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
    socketPath = path
    let forUs = environment["WATCHDOG_PID"].flatMap(Int32.init).map { $0 == getpid() } ?? true
    if path != nil, forUs, let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 {
      watchdogInterval = .microseconds(Int64(usec / 2))
    } else {
      watchdogInterval = nil
    }
  }

  public func ready(status: String) { send("READY=1\nSTATUS=\(status)\nMAINPID=\(getpid())") }
  public func status(_ text: String) { send("STATUS=\(text)") }
  public func stopping() { send("STOPPING=1\nSTATUS=shutting down") }
  public func watchdog() { send("WATCHDOG=1") }

  /// Sends one datagram. Errors are ignored on purpose: notification is advisory and must never stop serving.
  private func send(_ message: String) {
    guard let socketPath else { return }
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return }
    defer { close(fd) }
    _ = withUnixSocketAddress(socketPath) { address, length in
      message.withCString { text in sendto(fd, text, strlen(text), Int32(MSG_NOSIGNAL), address, length) }
    }
  }
}
