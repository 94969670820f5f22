import Engine
import HummingbirdCore
import Logging
import NIOCore
import NIOExtras
import NIOPosix
import Server
import ServiceLifecycle
import Synchronization

/// Serves the HTTP front end on one listening socket: a Unix socket (bound here or passed by systemd) or TCP.
///
/// Hummingbird's `Application` binds its own socket from a path, which would bypass the daemon's socket rules
/// (mode, lock file, stale-socket check) and cannot adopt systemd's descriptor; so this accepts on our socket
/// with SwiftNIO and hands each connection to Hummingbird's HTTP/1.1 channel, whose parser, keep-alive and idle
/// handling are used as they are. On a Unix socket the caller's SO_PEERCRED is read once per connection.
struct HTTPListener: Service {
  enum Endpoint: Sendable {
    case socket(ListeningSocket)
    case tcp(host: String, port: Int)
  }

  let endpoint: Endpoint
  let frontEnd: HTTPFrontEnd
  /// Closes a connection that sends no complete request head (or nothing after its last answer) for this long;
  /// a client trickling header bytes never completes a head, so it is dropped too.
  let headerTimeout: Duration
  let logger: Logger

  /// What to show in logs.
  var displayName: String {
    switch endpoint {
    case .socket(let socket): socket.displayName
    case .tcp(let host, let port): "\(host):\(port)"
    }
  }

  func run() async throws {
    let group = MultiThreadedEventLoopGroup.singleton
    let quiesce = ServerQuiescingHelper(group: group)
    let bootstrap = ServerBootstrap(group: group)
      .serverChannelOption(ChannelOptions.backlog, value: 512)
      .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
      .serverChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel)) }
      }
      // A peer's EOF closes the connection (no half-closed connections), so a client that leaves is noticed at once
      // and its request's work is cancelled (`PeerDeparture`).
      .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: false)
    let configuration = HTTP1Channel.Configuration(idleTimeout: .nanoseconds(Int64(headerTimeout.inSeconds * 1e9)))
    // Used for its pipeline set-up only. Each connection gets its own HTTP1Channel below (a value; free to make)
    // whose responder knows that connection's caller.
    let setup = HTTP1Channel(responder: { _, _, _ in }, configuration: configuration)
    let logger = logger
    let isUnix: Bool
    let initializer: @Sendable (any Channel) -> EventLoopFuture<Accepted> = { channel in
      PeerCredentials.read(from: channel).flatMap { caller in
        setup.setup(channel: channel, logger: logger).map { Accepted(caller: caller, channel: $0) }
      }
    }
    let server: NIOAsyncChannel<Accepted, Never>
    switch endpoint {
    case .socket(let socket):
      isUnix = socket.isUnix
      server = try await bootstrap.bind(socket.descriptor, childChannelInitializer: initializer)
    case .tcp(let host, let port):
      isUnix = false
      server = try await bootstrap.bind(host: host, port: port, childChannelInitializer: initializer)
    }
    let frontEnd = frontEnd
    try await withGracefulShutdownHandler {
      try await withThrowingDiscardingTaskGroup { group in
        try await server.executeThenClose { connections in
          for try await accepted in connections {
            group.addTask {
              let connection = HTTPConnection(logger: logger, transport: isUnix ? .unixSocket : .tcp, caller: isUnix ? accepted.caller : nil)
              let departure = PeerDeparture(accepted.channel.channel)
              let http = HTTP1Channel(
                responder: { request, writer, _ in
                  let response: Response
                  do {
                    response = try await departure.cancellingWhenGone {
                      try await frontEnd.respond(to: request, context: HTTPCallContext(source: connection))
                    }
                  } catch is CancellationError {
                    return  // the client left: nobody to answer
                  } catch {
                    logger.error("HTTP request failed outside the routes: \(error)")
                    response = Response(status: .internalServerError)
                  }
                  try await writer.write(response: response.head, body: response.body)
                },
                configuration: configuration)
              await http.handle(value: accepted.channel, logger: logger)
            }
          }
        }
      }
    } onGracefulShutdown: {
      // Stop accepting; idle connections close now, busy ones after their current answer.
      quiesce.initiateShutdown(promise: nil)
    }
  }

  struct Accepted: Sendable {
    var caller: Caller?
    var channel: HTTP1Channel.Value
  }
}

/// Cancels the request a connection is serving when its client goes away, as grpc-swift cancels a call whose
/// client left: the request's queued inputs then leave the encoders' queues and are never computed. One close
/// callback per connection; each request registers while it runs.
final class PeerDeparture: Sendable {
  private struct State {
    var gone = false
    var current: (@Sendable () -> Void)?
  }
  private let state = Mutex(State())

  init(_ channel: any Channel) {
    channel.closeFuture.whenComplete { [self] _ in
      let cancel = self.state.withLock { state -> (@Sendable () -> Void)? in
        state.gone = true
        return state.current
      }
      cancel?()
    }
  }

  /// Runs `work` in a task of its own (task-local values are inherited) that is cancelled if the connection closes
  /// first, or if the caller is cancelled.
  func cancellingWhenGone<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
    let task = Task { try await work() }
    let goneAlready = state.withLock { state -> Bool in
      state.current = { task.cancel() }
      return state.gone
    }
    if goneAlready { task.cancel() }
    defer { state.withLock { $0.current = nil } }
    return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
  }
}
