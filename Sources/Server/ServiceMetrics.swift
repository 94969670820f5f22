import Engine
import Metrics

/// The service layer's metrics, through swift-metrics (the daemon bootstraps Prometheus; tests leave it a no-op).
/// `method` is the RPC's or route's fixed name and `code` the protocol's own status (gRPC's name, HTTP's number),
/// so the series stay few. Handles are made once per label values (`MetricHandles`), not per request.
public struct ServiceMetrics: Sendable {
  public enum API: String, Sendable { case grpc, http }

  private static let requests = MetricHandles { values in
    Counter(label: "chorus_requests_total", dimensions: [("api", values[0]), ("method", values[1]), ("code", values[2])])
  }
  private static let durations = MetricHandles { values in Timer(label: "chorus_request_duration_seconds", dimensions: [("api", values[0])]) }
  private static let rejections = MetricHandles { values in Counter(label: "chorus_rejected_requests_total", dimensions: [("reason", values[0])]) }
  private static let searches = Timer(label: "chorus_search_duration_seconds")

  public init() {}

  func request(api: API, method: String, code: String, seconds: Double) {
    Self.requests(api.rawValue, method, code).increment()
    Self.durations(api.rawValue).recordSeconds(seconds)
  }

  /// A request refused before its work began, by reason: permission_denied, unauthenticated, too_large (the
  /// engine counts queue_full and deadline_unmeetable itself).
  func rejected(_ reason: String) {
    Self.rejections(reason).increment()
  }

  func search(seconds: Double) {
    Self.searches.recordSeconds(seconds)
  }
}
