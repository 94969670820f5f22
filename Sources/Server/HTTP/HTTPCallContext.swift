import Engine
import Hummingbird
import Logging

/// What the listener knows of a connection when it hands a request to the routes: how the caller reached the
/// daemon and, on a Unix socket, who it is (SO_PEERCRED, read once per connection by the listener).
public struct HTTPConnection: RequestContextSource, Sendable {
  public enum Transport: Sendable, Equatable {
    /// A Unix socket: the caller's credentials come from the kernel.
    case unixSocket
    /// TCP (loopback, or any address when an API key guards it): no credentials.
    case tcp
  }

  public var logger: Logger
  public var transport: Transport
  /// nil on TCP, or when the kernel did not say.
  public var caller: Caller?

  public init(logger: Logger, transport: Transport, caller: Caller?) {
    self.logger = logger
    self.transport = transport
    self.caller = caller
  }
}

/// The request context of every HTTP route: Hummingbird's core storage plus the connection it came on.
public struct HTTPCallContext: RequestContext {
  public typealias Source = HTTPConnection
  public var coreContext: CoreRequestContextStorage
  public let connection: HTTPConnection
  /// Bodies are limited by the routes themselves (`HTTPBody.collect`), against `max_request_bytes`.
  public var maxUploadSize: Int { Int.max }

  public init(source: HTTPConnection) {
    coreContext = CoreRequestContextStorage(source: source)
    connection = source
  }
}
