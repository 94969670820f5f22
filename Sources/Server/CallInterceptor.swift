import Engine
import GRPCCore

/// The gRPC front end's door: reads the caller's credentials (written by the transport from SO_PEERCRED) and the
/// call's deadline (`grpc-timeout`), refuses callers the access policy does not admit (PERMISSION_DENIED; health
/// checks stay open so supervisors can probe), and runs the call with `CallScope.current` set. When the deadline
/// passes or the client cancels, the call's task is cancelled, so its queued inputs leave the queues.
public struct CallInterceptor: ServerInterceptor {
  public let policy: AccessPolicy

  public init(policy: AccessPolicy) {
    self.policy = policy
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let metadata = request.metadata
    func header(_ name: String) -> String? { metadata[stringValues: name].first(where: { _ in true }) }
    let caller = PeerCredentialHeaders.caller(uid: header(PeerCredentialHeaders.uid), gid: header(PeerCredentialHeaders.gid), pid: header(PeerCredentialHeaders.pid))
    if context.descriptor.service.fullyQualifiedService != "grpc.health.v1.Health", let refusal = policy.refusal(of: caller) {
      ServiceMetrics().rejected("permission_denied")
      throw RPCError(code: .permissionDenied, message: refusal)
    }
    let deadline = header("grpc-timeout").flatMap(Self.timeout).map { ContinuousClock.now + $0 }
    let call = CallContext(caller: caller, deadline: deadline)
    return try await withoutActuallyEscaping(next) { next in
      try await withThrowingTaskGroup(of: StreamingServerResponse<Output>?.self) { group in
        group.addTask { try await CallScope.$current.withValue(call) { try await next(request, context) } }
        // Returns (nil) when the RPC is cancelled: its deadline passed, or the client reset the stream.
        group.addTask {
          try await context.cancellation.cancelled
          return nil
        }
        while let finished = try await group.next() {
          if let response = finished {
            group.cancelAll()
            return response
          }
          group.cancelAll()  // the call's task is cancelled; its answer (an error) comes next
        }
        throw RPCError(code: .cancelled, message: "the call was cancelled")
      }
    }
  }

  /// gRPC's `grpc-timeout` value: up to eight digits and a unit (H, M, S, m, u, n).
  static func timeout(_ text: String) -> Duration? {
    guard let unit = text.last, text.count >= 2, text.count <= 9, let amount = Int64(text.dropLast()), amount >= 0 else { return nil }
    switch unit {
    case "H": return .seconds(amount * 3600)
    case "M": return .seconds(amount * 60)
    case "S": return .seconds(amount)
    case "m": return .milliseconds(amount)
    case "u": return .microseconds(amount)
    case "n": return .nanoseconds(amount)
    default: return nil
    }
  }
}
