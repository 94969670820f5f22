import Engine
import GRPCNIOTransportHTTP2
import Glibc
import NIOCore
import NIOHPACK
import NIOHTTP2
import Server

/// The caller's credentials, read from the kernel and stamped on its requests.
///
/// When the transport accepts a connection, its peer's uid, gid and pid are read once with SO_PEERCRED (they are
/// fixed for the life of a Unix socket connection) and kept in the connection's pipeline. Every HTTP/2 stream
/// (one gRPC call) of that connection then gets them as `chorus-peer-*` headers, written after deleting any that
/// the client sent under those names, so a caller can never claim to be someone else. `CallInterceptor` reads
/// them on the other side.
enum PeerCredentials {
  static var callbacks: HTTP2ServerTransport.Config.ChannelDebuggingCallbacks {
    var callbacks = HTTP2ServerTransport.Config.ChannelDebuggingCallbacks.defaults
    callbacks.onAcceptTCPConnection = { channel in
      read(from: channel).flatMapThrowing { caller in
        try channel.pipeline.syncOperations.addHandler(ConnectionCredentials(caller: caller), position: .first)
      }
    }
    callbacks.onAcceptHTTP2Stream = { stream in
      stream.eventLoop.makeCompletedFuture {
        let caller = try? stream.parent?.pipeline.syncOperations.handler(type: ConnectionCredentials.self).caller
        try stream.pipeline.syncOperations.addHandler(StampCredentials(caller: caller), position: .first)
      }
    }
    return callbacks
  }

  /// SO_PEERCRED of an accepted connection (gRPC's and HTTP's); nil when the socket has none (TCP) or the kernel
  /// does not say.
  static func read(from channel: any Channel) -> EventLoopFuture<Caller?> {
    guard let provider = channel as? any SocketOptionProvider, case .unixDomainSocket = channel.localAddress else {
      return channel.eventLoop.makeSucceededFuture(nil)
    }
    // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (Swift's Glibc module does not export it).
    let credentials: EventLoopFuture<(pid: Int32, uid: UInt32, gid: UInt32)> = provider.unsafeGetSocketOption(
      level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
    return credentials.map { Optional(Caller(uid: $0.uid, gid: $0.gid, pid: $0.pid)) }.recover { _ in nil }
  }
}

/// Holds a connection's credentials, passing its traffic through untouched (NIO takes only inbound or outbound
/// handlers).
final class ConnectionCredentials: ChannelInboundHandler, Sendable {
  typealias InboundIn = NIOAny
  let caller: Caller?
  init(caller: Caller?) { self.caller = caller }
}

/// Rewrites the `chorus-peer-*` headers of a stream's request headers to the connection's credentials.
final class StampCredentials: ChannelInboundHandler, Sendable {
  typealias InboundIn = HTTP2Frame.FramePayload
  typealias InboundOut = HTTP2Frame.FramePayload
  let caller: Caller?

  init(caller: Caller?) { self.caller = caller }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    guard case .headers(var frame) = unwrapInboundIn(data) else {
      context.fireChannelRead(data)
      return
    }
    var headers = HPACKHeaders()
    for (name, value, indexing) in frame.headers where !name.lowercased().hasPrefix(PeerCredentialHeaders.prefix) {
      headers.add(name: name, value: value, indexing: indexing)
    }
    if let caller {
      headers.add(name: PeerCredentialHeaders.uid, value: String(caller.uid))
      headers.add(name: PeerCredentialHeaders.gid, value: String(caller.gid))
      headers.add(name: PeerCredentialHeaders.pid, value: String(caller.pid))
    }
    frame.headers = headers
    context.fireChannelRead(wrapInboundOut(.headers(frame)))
  }
}
