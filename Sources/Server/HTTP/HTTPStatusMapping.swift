import Engine
import Foundation
import GRPCCore
import HTTPTypes
import Hummingbird

/// An HTTP error answer, in the one JSON envelope every route uses (OpenAI's):
/// `{"error": {"message", "type", "param", "code"}}`. `code` is the gRPC status the same failure has over gRPC
/// (lower case, e.g. "invalid_argument"), so a client sees one vocabulary on both APIs.
public struct HTTPProblem: Error, Sendable {
  public var status: HTTPResponse.Status
  public var message: String
  public var param: String?
  public var code: String
  public var headers: HTTPFields

  public init(_ status: HTTPResponse.Status, _ message: String, param: String? = nil, code: String? = nil, headers: HTTPFields = [:]) {
    self.status = status
    self.message = message
    self.param = param
    self.code = code ?? Self.defaultCode(status)
    self.headers = headers
  }

  /// A gRPC status as HTTP, by grpc-gateway's table; RESOURCE_EXHAUSTED with a retry pushback (an overloaded
  /// queue) becomes 429 with `Retry-After` in whole seconds.
  public init(_ error: RPCError, param: String? = nil) {
    var headers: HTTPFields = [:]
    if let pushback = error.metadata[stringValues: "grpc-retry-pushback-ms"].first(where: { _ in true }).flatMap(Double.init) {
      headers[.retryAfter] = String(max(1, Int((pushback / 1000).rounded(.up))))
    }
    self.init(Self.status(error.code), error.message, param: param, code: Self.name(error.code), headers: headers)
  }

  /// grpc-gateway's mapping of gRPC codes to HTTP statuses.
  static func status(_ code: RPCError.Code) -> HTTPResponse.Status {
    switch code {
    case .cancelled: HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request")
    case .unknown, .internalError, .dataLoss: .internalServerError
    case .invalidArgument, .failedPrecondition, .outOfRange: .badRequest
    case .deadlineExceeded: .gatewayTimeout
    case .notFound: .notFound
    case .alreadyExists, .aborted: .conflict
    case .permissionDenied: .forbidden
    case .unauthenticated: .unauthorized
    case .resourceExhausted: .tooManyRequests
    case .unimplemented: .notImplemented
    case .unavailable: .serviceUnavailable
    default: .internalServerError
    }
  }

  /// The status's name as gRPC spells it, in lower case ("invalid_argument").
  static func name(_ code: RPCError.Code) -> String {
    switch code {
    case .cancelled: "cancelled"
    case .unknown: "unknown"
    case .invalidArgument: "invalid_argument"
    case .deadlineExceeded: "deadline_exceeded"
    case .notFound: "not_found"
    case .alreadyExists: "already_exists"
    case .permissionDenied: "permission_denied"
    case .resourceExhausted: "resource_exhausted"
    case .failedPrecondition: "failed_precondition"
    case .aborted: "aborted"
    case .outOfRange: "out_of_range"
    case .unimplemented: "unimplemented"
    case .internalError: "internal"
    case .unavailable: "unavailable"
    case .dataLoss: "data_loss"
    case .unauthenticated: "unauthenticated"
    default: "unknown"
    }
  }

  static func defaultCode(_ status: HTTPResponse.Status) -> String {
    switch status.code {
    case 400: "invalid_argument"
    case 401: "unauthenticated"
    case 403: "permission_denied"
    case 404: "not_found"
    case 405: "method_not_allowed"
    case 413: "request_too_large"
    case 429: "resource_exhausted"
    case 501: "unimplemented"
    case 503: "unavailable"
    default: "internal"
    }
  }

  /// OpenAI's error `type` for a status.
  var type: String {
    switch status.code {
    case 400, 404, 405, 409, 413: "invalid_request_error"
    case 401: "authentication_error"
    case 403: "permission_error"
    case 429: "rate_limit_error"
    case 499, 504: "timeout_error"
    default: "server_error"
    }
  }

  var response: Response {
    var object: [String: Any] = ["message": message, "type": type, "code": code]
    object["param"] = param ?? NSNull()
    let body = (try? JSONSerialization.data(withJSONObject: ["error": object], options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    var fields = headers
    fields[.contentType] = "application/json"
    return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
  }

  /// Any error a route lets escape, as the envelope: engine and gRPC statuses by the table, Hummingbird's own
  /// (an unknown route, a body over its limit) by their status; anything else is a 500 that names no internals.
  static func from(_ error: any Error) -> HTTPProblem {
    switch error {
    case let problem as HTTPProblem: return problem
    case let rpc as RPCError: return HTTPProblem(rpc)
    case let engine as EngineError: return HTTPProblem(RPCError(engine))
    case is CancellationError: return HTTPProblem(RPCError(code: .cancelled, message: "the call was cancelled before it finished"))
    case let http as HTTPError:
      return HTTPProblem(http.status, http.body ?? http.status.reasonPhrase, headers: http.headers)
    default:
      return HTTPProblem(.internalServerError, "internal error: \(Swift.type(of: error))")
    }
  }
}
