import Metrics

/// The service layer's metrics, through swift-metrics (the daemon bootstraps Prometheus; tests leave it a no-op).
/// `method` is the RPC's or route's fixed name and `code` the protocol's own status (gRPC's name, HTTP's number),
/// so the series stay few.
public struct ServiceMetrics: Sendable {
  public enum API: String, Sendable { case grpc, http }

  public init() {}

  func request(api: API, method: String, code: String, seconds: Double) {
    Counter(label: "chorus_requests_total", dimensions: [("api", api.rawValue), ("method", method), ("code", code)]).increment()
    Timer(label: "chorus_request_duration_seconds", dimensions: [("api", api.rawValue)]).recordSeconds(seconds)
  }

  /// A request refused before its work began, by reason: permission_denied, unauthenticated, too_large (the
  /// engine counts queue_full and deadline_unmeetable itself).
  func rejected(_ reason: String) {
    Counter(label: "chorus_rejected_requests_total", dimensions: [("reason", reason)]).increment()
  }

  func search(seconds: Double) {
    Timer(label: "chorus_search_duration_seconds").recordSeconds(seconds)
  }
}
