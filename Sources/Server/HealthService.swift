import ChorusAPI
import GRPCCore
import Synchronization

/// The serving status shared by the daemon (which flips it) and the health service (which reports it): the
/// daemon's status, and services that cannot work while the rest can (the collection service while its
/// PostgreSQL store is unreachable: embedding goes on).
public final class HealthState: Sendable {
  public typealias Status = Grpc_Health_V1_HealthCheckResponse.ServingStatus

  private struct State {
    var status: Status = .notServing
    var down: Set<String> = []
    var watchers: [Int: (service: String, continuation: AsyncStream<Status>.Continuation)] = [:]
    var nextID = 0
    var finished = false

    func status(of service: String) -> Status { down.contains(service) && status == .serving ? .notServing : status }
  }
  private let state = Mutex(State())

  public init() {}

  /// The daemon's status (the empty service name's).
  public var status: Status { state.withLock { $0.status } }

  public func status(of service: String) -> Status { state.withLock { $0.status(of: service) } }

  /// Sets the status and tells every watcher.
  public func set(_ status: Status) {
    change { $0.status = status }
  }

  /// Marks one service unable to work (or able again) while the daemon serves.
  public func set(service: String, working: Bool) {
    change { state in
      if working { state.down.remove(service) } else { state.down.insert(service) }
    }
  }

  private func change(_ body: (inout State) -> Void) {
    let updates = state.withLock { state -> [(AsyncStream<Status>.Continuation, Status)] in
      body(&state)
      return state.watchers.values.map { ($0.continuation, state.status(of: $0.service)) }
    }
    for (watcher, status) in updates { watcher.yield(status) }
  }

  /// Ends every Watch stream (at shutdown, so that open watches do not hold the server up).
  public func finishWatchers() {
    let watchers = state.withLock { state -> [AsyncStream<Status>.Continuation] in
      state.finished = true
      defer { state.watchers = [:] }
      return state.watchers.values.map(\.continuation)
    }
    for watcher in watchers { watcher.finish() }
  }

  /// The current status, then every change, until the caller stops iterating or the daemon stops.
  func updates(of service: String) -> AsyncStream<Status> {
    let (stream, continuation) = AsyncStream<Status>.makeStream(bufferingPolicy: .bufferingNewest(1))
    let id = state.withLock { state -> Int in
      let id = state.nextID
      state.nextID += 1
      state.watchers[id] = (service, continuation)
      continuation.yield(state.status(of: service))
      if state.finished { continuation.finish() }
      return id
    }
    continuation.onTermination = { [weak self] _ in
      _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
    }
    return stream
  }
}

/// `grpc.health.v1.Health`. The empty service name and the name of every Chorus service share the daemon's
/// status, but for a service marked down (`HealthState.set(service:working:)`); any other name is NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch), as the protocol asks.
public struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
  private let state: HealthState
  private let services: Set<String>

  public init(state: HealthState, services: [String]) {
    self.state = state
    self.services = Set(services + [""])
  }

  public func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
    guard services.contains(request.service) else {
      throw RPCError(code: .notFound, message: "unknown service '\(request.service)'; known: \(services.sorted().filter { !$0.isEmpty }.joined(separator: ", "))")
    }
    return .with { $0.status = state.status(of: request.service) }
  }

  public func watch(request: Grpc_Health_V1_HealthCheckRequest, response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>, context: ServerContext) async throws {
    guard services.contains(request.service) else {
      try await response.write(.with { $0.status = .serviceUnknown })
      return
    }
    for await status in state.updates(of: request.service) {
      try await response.write(.with { $0.status = status })
    }
  }
}
