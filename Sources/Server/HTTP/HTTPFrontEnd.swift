import Engine
import Foundation
import HTTPTypes
import Hummingbird
import Store

/// The HTTP front end: OpenAI-compatible embeddings, the native API in proto3 JSON, health, metrics and the
/// search page, all mapped onto the same services and engine calls as gRPC. The daemon's listener hands every
/// request here with the connection it came on.
public struct HTTPFrontEnd: Sendable {
  /// The service layer the routes map onto (the same values the gRPC server runs).
  public struct Services: Sendable {
    public var embedding: EmbeddingService
    public var collections: CollectionService
    public var system: SystemService

    public init(embedding: EmbeddingService, collections: CollectionService, system: SystemService) {
      self.embedding = embedding
      self.collections = collections
      self.system = system
    }
  }

  public struct Configuration: Sendable {
    public var maxRequestBytes: Int
    public var policy: AccessPolicy
    /// With a key, TCP callers must send `Authorization: Bearer KEY` (all but `GET /health`).
    public var apiKey: String?

    public init(maxRequestBytes: Int, policy: AccessPolicy, apiKey: String?) {
      self.maxRequestBytes = maxRequestBytes
      self.policy = policy
      self.apiKey = apiKey
    }
  }

  private let responder: RouterResponder<HTTPCallContext>

  public init(
    services: Services, engine: Engine, store: any CollectionBackend, health: HealthState, facts: DaemonFacts, configuration: Configuration,
    metrics: MetricsExposition?
  ) {
    // HEAD works wherever GET does (monitors probe /health that way).
    let router = Router(context: HTTPCallContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: Gate(apiKey: configuration.apiKey, policy: configuration.policy))
    let routes = RouteTable(router: router, metrics: ServiceMetrics())
    routes.add("/health", .get, name: "Health") { _, _ in
      let status = health.status
      return try HTTPBody.json(object: ["status": status == .serving ? "SERVING" : "NOT_SERVING"], status: status == .serving ? .ok : .serviceUnavailable)
    }
    routes.add("/metrics", .get, name: "Metrics") { _, _ in
      guard let metrics else { throw HTTPProblem(.notImplemented, "this daemon was started without metrics", code: "unimplemented") }
      return Response(
        status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: await metrics.render())))
    }
    OpenAIRoutes(engine: engine, startedAt: facts.startedAt, maxRequestBytes: configuration.maxRequestBytes).register(on: routes)
    NativeRoutes(services: services, maxRequestBytes: configuration.maxRequestBytes).register(on: routes)
    SearchPage(store: store).register(on: routes)
    routes.finish()
    responder = router.buildResponder()
  }

  public func respond(to request: Request, context: HTTPCallContext) async throws -> Response {
    try await responder.respond(to: request, context: context)
  }
}

/// The door every HTTP request passes: the API key on TCP, then the same access policy as gRPC, then the call
/// runs with `CallScope.current` set (so server-side files are read for this caller, or refused on TCP where
/// there is none). Anything that escapes the routes (an unknown route) gets the JSON envelope here.
struct Gate: RouterMiddleware {
  typealias Context = HTTPCallContext
  let apiKey: String?
  let policy: AccessPolicy
  let metrics = ServiceMetrics()

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    let open = request.uri.path == "/health"
    if !open {
      var keyed = false
      if context.connection.transport == .tcp, let apiKey {
        guard let given = Self.bearer(request), Self.same(given, apiKey) else {
          metrics.rejected("unauthenticated")
          metrics.request(api: .http, method: "refused", code: "401", seconds: 0)
          return HTTPProblem(.unauthorized, "this daemon needs 'Authorization: Bearer KEY' (the key in http_api_key_file)", headers: [.wwwAuthenticate: "Bearer"]).response
        }
        keyed = true
      }
      // A caller holding the API key is admitted by it; everyone else by their uid and groups.
      if !keyed, let refusal = policy.refusal(of: context.connection.caller) {
        metrics.rejected("permission_denied")
        metrics.request(api: .http, method: "refused", code: "403", seconds: 0)
        return HTTPProblem(.forbidden, refusal).response
      }
    }
    let call = CallContext(caller: context.connection.caller, deadline: nil)
    do {
      return try await CallScope.$current.withValue(call) { try await next(request, context) }
    } catch {
      let problem = HTTPProblem.from(error)
      let response = problem.status == .notFound
        ? HTTPProblem(.notFound, "no route \(request.method.rawValue) \(request.uri.path); see the README's HTTP API section", code: "not_found").response
        : problem.response
      metrics.request(api: .http, method: "unmatched", code: String(response.status.code), seconds: 0)
      return response
    }
  }

  static func bearer(_ request: Request) -> String? {
    guard let value = request.headers[.authorization], value.lowercased().hasPrefix("bearer ") else { return nil }
    return String(value.dropFirst(7)).trimmingCharacters(in: .whitespaces)
  }

  /// Compares without stopping at the first difference, so the time taken says nothing of how much matched.
  static func same(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
  }
}
