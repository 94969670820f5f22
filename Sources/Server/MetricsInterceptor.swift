import Engine
import GRPCCore

/// Counts every gRPC call (`chorus_requests_total{api="grpc",method,code}`) and times it. First in the chain, so
/// calls refused by the later interceptors are counted too.
public struct MetricsInterceptor: ServerInterceptor {
  let metrics = ServiceMetrics()

  public init() {}

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let started = ContinuousClock.now
    let method = context.descriptor.method
    let metrics = metrics
    @Sendable func record(_ code: String) { metrics.request(api: .grpc, method: method, code: code, seconds: (ContinuousClock.now - started).inSeconds) }
    do {
      var response = try await next(request, context)
      // A unary call's answer (or its error) is known only once the response is produced: wrap the producer.
      switch response.accepted {
      case .success(var contents):
        let producer = contents.producer
        contents.producer = { writer in
          do {
            let trailers = try await producer(writer)
            record("OK")
            return trailers
          } catch {
            record(Self.codeName(of: error))
            throw error
          }
        }
        response.accepted = .success(contents)
      case .failure(let error):
        record(Self.codeName(of: error))
      }
      return response
    } catch {
      record(Self.codeName(of: error))
      throw error
    }
  }

  static func codeName(of error: any Error) -> String {
    let code = (error as? RPCError)?.code ?? (error as? any RPCErrorConvertible)?.rpcErrorCode ?? .unknown
    return HTTPProblem.name(code).uppercased()
  }
}
