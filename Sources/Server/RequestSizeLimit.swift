import ChorusAPI
import GRPCCore

/// Requests whose payload (text, media bytes, vectors) is larger than a byte limit.
///
/// Checked on the decoded message because grpc-swift's own payload limit resets the stream (the client sees
/// UNAVAILABLE "stream reset") instead of answering RESOURCE_EXHAUSTED. The transport keeps a hard cap above
/// this limit so memory stays bounded even for a client that ignores it (see `transportLimit`).
public struct RequestSizeLimit: ServerInterceptor {
  public let maxBytes: Int

  public init(maxBytes: Int) {
    self.maxBytes = maxBytes
  }

  /// The transport's own cut-off: twice the limit plus 1 MiB of headroom for protobuf framing, so that every
  /// request near the limit reaches this interceptor and gets a clear answer.
  public static func transportLimit(for maxBytes: Int) -> Int {
    min(Int(Int32.max), maxBytes * 2 + (1 << 20))
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let checked = SizeCheckedMessages(base: request.messages, limit: maxBytes)
    return try await next(StreamingServerRequest(metadata: request.metadata, messages: RPCAsyncSequence(wrapping: checked)), context)
  }
}

/// The request's messages, each checked against the limit as it is read.
private struct SizeCheckedMessages<Element: Sendable>: AsyncSequence, Sendable {
  typealias Failure = any Error
  let base: RPCAsyncSequence<Element, any Error>
  let limit: Int

  struct AsyncIterator: AsyncIteratorProtocol {
    var base: RPCAsyncSequence<Element, any Error>.AsyncIterator
    let limit: Int

    mutating func next() async throws -> Element? {
      guard let message = try await base.next() else { return nil }
      if let sized = message as? any PayloadSized, sized.payloadBytes > limit {
        ServiceMetrics().rejected("too_large")
        throw RPCError(
          code: .resourceExhausted,
          message: "the request carries \(sized.payloadBytes) bytes of content; this daemon accepts at most \(limit) bytes per request (max_request_bytes): send fewer or smaller inputs per call")
      }
      return message
    }
  }

  func makeAsyncIterator() -> AsyncIterator {
    AsyncIterator(base: base.makeAsyncIterator(), limit: limit)
  }
}

/// A request that can say cheaply how many bytes of content it carries.
protocol PayloadSized {
  var payloadBytes: Int { get }
}

extension Chorus_V1_Input {
  var payloadBytes: Int {
    switch content {
    case .text(let text): text.utf8.count
    case .image(let data), .audio(let data): data.count
    case .file(let file): file.path.utf8.count
    case nil: 0
    }
  }
}

extension Chorus_V1_EmbedRequest: PayloadSized {
  var payloadBytes: Int { inputs.reduce(0) { $0 + $1.payloadBytes } }
}

extension Chorus_V1_UpsertRequest: PayloadSized {
  var payloadBytes: Int {
    items.reduce(0) { total, item in
      switch item.value {
      case .content(let input): total + input.payloadBytes
      case .vector(let vector): total + vector.values.count * 4
      case nil: total
      }
    }
  }
}

extension Chorus_V1_SearchRequest: PayloadSized {
  var payloadBytes: Int {
    switch query {
    case .content(let input): input.payloadBytes
    case .vector(let vector): vector.values.count * 4
    case .likeID(let id): id.utf8.count
    case nil: 0
    }
  }
}

extension Chorus_V1_ClassifyRequest: PayloadSized {
  /// The input, every label (each is embedded) and the template once per label.
  var payloadBytes: Int { input.payloadBytes + labels.reduce(0) { $0 + $1.utf8.count + template.utf8.count } }
}
