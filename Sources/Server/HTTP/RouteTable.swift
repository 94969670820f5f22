import Engine
import HTTPTypes
import Hummingbird

/// The routes of the HTTP front end. Every route is registered through `add`, which gives it the shared error
/// envelope and its request metrics under a fixed name (never the raw path, so labels stay few), and remembers
/// its path so that another method on it answers 405 with `Allow` rather than 404.
final class RouteTable: @unchecked Sendable {  // filled once, before the server starts
  typealias Handler = @Sendable (Request, HTTPCallContext) async throws -> Response
  let router: Router<HTTPCallContext>
  private let metrics: ServiceMetrics
  private var methodsByPath: [String: [HTTPRequest.Method]] = [:]
  private var pathOrder: [String] = []

  init(router: Router<HTTPCallContext>, metrics: ServiceMetrics) {
    self.router = router
    self.metrics = metrics
  }

  func add(_ path: String, _ method: HTTPRequest.Method, name: String, _ handler: @escaping Handler) {
    if methodsByPath[path] == nil { pathOrder.append(path) }
    methodsByPath[path, default: []].append(method)
    let metrics = metrics
    router.on(RouterPath(path), method: method) { request, context -> Response in
      let started = ContinuousClock.now
      var response: Response
      do {
        response = try await handler(request, context)
      } catch {
        let problem = HTTPProblem.from(error)
        if problem.status.code >= 500 { context.logger.error("HTTP \(name) failed: \(error)") }
        response = problem.response
      }
      metrics.request(api: .http, method: name, code: String(response.status.code), seconds: (ContinuousClock.now - started).inSeconds)
      return response
    }
  }

  /// Registers 405 answers for the methods a known path does not take. Call after the last `add`.
  func finish() {
    let methods: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch, .head, .options]
    for path in pathOrder {
      var allowed = methodsByPath[path] ?? []
      if allowed.contains(.get) { allowed.append(.head) }
      let allow = allowed.map(\.rawValue).joined(separator: ", ")
      for method in methods where !allowed.contains(method) {
        router.on(RouterPath(path), method: method) { request, _ -> Response in
          HTTPProblem(
            .methodNotAllowed, "\(request.method.rawValue) is not allowed on \(path); use \(allow)", code: "method_not_allowed", headers: [.allow: allow]
          ).response
        }
      }
    }
  }
}
