import Foundation
import Hummingbird
import NIOCore
import Store
import SwiftProtobuf

/// Request bodies and JSON answers.
enum HTTPBody {
  /// The whole body, refused with 413 as soon as it is known to be over `limit`: from `Content-Length` before a
  /// byte of it is read, or while reading a chunked body, so an oversized body is never held whole.
  static func collect(_ request: Request, limit: Int) async throws -> ByteBuffer {
    let tooLarge = HTTPProblem(
      .contentTooLarge, "the request body is over this daemon's limit of \(limit) bytes (max_request_bytes): send fewer or smaller inputs per call",
      code: "request_too_large")
    if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
      ServiceMetrics().rejected("too_large")
      throw tooLarge
    }
    do {
      return try await request.body.collect(upTo: limit)
    } catch let error as HTTPError where error.status == .contentTooLarge {
      ServiceMetrics().rejected("too_large")
      throw tooLarge
    } catch is NIOTooManyBytesError {  // how a chunked body over the limit ends
      ServiceMetrics().rejected("too_large")
      throw tooLarge
    }
  }

  /// A proto message from its proto3 JSON mapping; an empty body is the empty message. Unknown fields are
  /// refused, so a misspelt option is an error rather than silently ignored.
  static func message<M: SwiftProtobuf.Message>(_ type: M.Type, from buffer: ByteBuffer) throws -> M {
    if buffer.readableBytes == 0 { return M() }
    do {
      return try M(jsonUTF8Bytes: Array(buffer.readableBytesView))
    } catch {
      throw HTTPProblem(.badRequest, "the body is not a valid \(M.protoMessageName) in proto3 JSON: \(error)")
    }
  }

  /// The standard mapping: lowerCamelCase names, default values left out, 64-bit integers as strings.
  static func json<M: SwiftProtobuf.Message>(_ message: M, status: HTTPResponse.Status = .ok) throws -> Response {
    json(bytes: try message.jsonUTF8Bytes() as [UInt8], status: status)
  }

  static func json(bytes: some Collection<UInt8>, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
  }

  /// A stored preview as it is, cacheable by the browser for a while (it changes only when the item does).
  static func media(_ preview: ItemPreview) -> Response {
    Response(
      status: .ok, headers: [.contentType: preview.mediaType, .cacheControl: "private, max-age=60", .xContentTypeOptions: "nosniff"],
      body: .init(byteBuffer: ByteBuffer(bytes: preview.data)))
  }

  static func json(object: Any, status: HTTPResponse.Status = .ok) throws -> Response {
    json(bytes: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), status: status)
  }
}
