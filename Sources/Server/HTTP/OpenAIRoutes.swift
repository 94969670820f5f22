import Engine
import Foundation
import GRPCCore
import Hummingbird

/// The OpenAI-compatible routes, `POST /v1/embeddings` and `GET /v1/models`, mapped onto the same engine call
/// as gRPC `Embed` (so the same inputs share cache entries and queues).
struct OpenAIRoutes {
  let engine: Engine
  let startedAt: Date
  let maxRequestBytes: Int

  func register(on routes: RouteTable) {
    routes.add("/v1/embeddings", .post, name: "OpenAI.Embeddings") { request, context in
      try await embeddings(request, context)
    }
    routes.add("/v1/models", .get, name: "OpenAI.Models") { _, _ in
      try models()
    }
  }

  private func embeddings(_ request: Request, _ context: HTTPCallContext) async throws -> Response {
    let parsed = try OpenAIEmbeddingsRequest(json: try await HTTPBody.collect(request, limit: maxRequestBytes).readableBytesView)
    let space: SpaceDescription
    do {
      space = try engine.space(named: parsed.space)
    } catch let error as EngineError {
      throw HTTPProblem(.notFound, "model: \(error.description)", param: "model", code: "model_not_found")
    }
    if let dimensions = parsed.dimensions, dimensions > space.dimension {
      throw HTTPProblem(.badRequest, "'dimensions' is \(dimensions); space '\(space.name)' has \(space.dimension)", param: "dimensions")
    }
    let (_, results) = try await RPCError.mapping {
      try await engine.embed(space: space.name, inputs: parsed.inputs, options: EmbedOptions(countTokens: true), call: CallScope.current)
    }
    // OpenAI's API has no per-input errors: the first failing input fails the request, named by its index.
    var outputs: [EmbeddingOutput] = []
    outputs.reserveCapacity(results.count)
    for (index, result) in results.enumerated() {
      switch result {
      case .success(let output): outputs.append(output)
      case .failure(let error):
        let code = ItemErrors.code(error)
        let status: HTTPResponse.Status = code == .permissionDenied ? .forbidden : code == .internalError ? .internalServerError : .badRequest
        throw HTTPProblem(status, "input[\(index)]: \(error.message)", param: "input", code: HTTPProblem.name(code))
      }
    }
    let body = OpenAIEmbeddingsResponse.encode(
      outputs, model: parsed.model.isEmpty || parsed.model == "default" ? space.name : parsed.model, format: parsed.format,
      dimensions: parsed.dimensions)
    return HTTPBody.json(bytes: body)
  }

  private func models() throws -> Response {
    let created = Int(startedAt.timeIntervalSince1970)
    let data: [[String: Any]] = engine.spaces.map { space in
      [
        "id": space.name, "object": "model", "created": created, "owned_by": "chorus",
        "dimension": space.dimension, "modalities": space.modalities.map(\.rawValue),
        "default": space.name == engine.defaultSpace, "precision": space.encoders.first?.precision.rawValue ?? "fp32",
      ]
    }
    return try HTTPBody.json(object: ["object": "list", "data": data])
  }
}

/// OpenAI's embeddings answer, written straight into bytes: a batch of 32 vectors is ~12k floats, and a generic
/// JSON encoder spends more time on them than the model does on a short text.
enum OpenAIEmbeddingsResponse {
  static func encode(_ outputs: [EmbeddingOutput], model: String, format: OpenAIEmbeddingsRequest.EncodingFormat, dimensions: Int?) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(64 + outputs.count * ((outputs.first?.vector.count ?? 0) * 12 + 64))
    func append(_ text: String) { out.append(contentsOf: text.utf8) }
    append(#"{"object":"list","data":["#)
    var tokens = 0
    for (index, output) in outputs.enumerated() {
      tokens += output.tokens
      let vector = dimensions.map { shortened(output.vector, to: $0) } ?? output.vector
      if index > 0 { append(",") }
      append(#"{"object":"embedding","index":\#(index),"embedding":"#)
      switch format {
      case .float:
        append("[")
        for (position, value) in vector.enumerated() {
          if position > 0 { out.append(UInt8(ascii: ",")) }
          append(value.description)  // shortest text that reads back as the same Float
        }
        append("]")
      case .base64:
        let bytes = vector.withUnsafeBufferPointer { Data(buffer: $0) }  // little-endian on every platform Swift runs here
        append("\"")
        append(bytes.base64EncodedString())
        append("\"")
      }
      append("}")
    }
    append(#"],"model":"#)
    append(jsonString(model))
    append(#","usage":{"prompt_tokens":\#(tokens),"total_tokens":\#(tokens)}}"#)
    return out
  }

  /// The first `count` components, L2-normalised again (Matryoshka-style shortening, as OpenAI's `dimensions`).
  static func shortened(_ vector: [Float], to count: Int) -> [Float] {
    let head = Array(vector.prefix(count))
    let norm = head.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
    return norm > 0 ? head.map { $0 / norm } : head
  }

  static func jsonString(_ text: String) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: [text], options: [])) ?? Data("[\"\"]".utf8)
    return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
  }
}
