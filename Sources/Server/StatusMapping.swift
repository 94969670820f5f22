import ChorusAPI
import Engine
import GRPCCore

/// The one place engine errors become gRPC statuses.
extension RPCError {
  init(_ error: EngineError) {
    switch error {
    case .unknownSpace:
      self.init(code: .notFound, message: error.description)
    case .modelLoadFailed, .precisionForUnknownSpace:
      self.init(code: .failedPrecondition, message: error.description)
    case .overloaded(_, _, let retryAfter):
      // gRPC's retry pushback: clients with a retry policy wait this long before trying again.
      self.init(code: .resourceExhausted, message: error.description, metadata: ["grpc-retry-pushback-ms": "\(Int((retryAfter * 1000).rounded(.up)))"])
    case .deadlineUnmeetable:
      self.init(code: .deadlineExceeded, message: error.description)
    case .invalidOption:
      self.init(code: .invalidArgument, message: error.description)
    case .inputRejected(let input):
      self.init(code: ItemErrors.code(input), message: error.description)
    }
  }

  /// Runs `body`, turning engine errors into their statuses.
  static func mapping<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as EngineError {
      throw RPCError(error)
    }
  }

  static func mapping<T>(_ body: () async throws -> T) async throws -> T {
    do {
      return try await body()
    } catch let error as EngineError {
      throw RPCError(error)
    } catch is CancellationError {
      throw RPCError(code: .cancelled, message: "the call was cancelled (its deadline passed or the client left) before it finished")
    }
  }
}

/// Per-input errors as the API carries them (canonical gRPC codes in an `ItemError`).
enum ItemErrors {
  static func message(_ code: RPCError.Code, _ text: String) -> Chorus_V1_ItemError {
    .with {
      $0.code = Int32(code.rawValue)
      $0.message = text
    }
  }

  static func message(_ error: InputError) -> Chorus_V1_ItemError {
    message(code(error), error.message)
  }

  static func code(_ error: InputError) -> RPCError.Code {
    switch error.kind {
    case .invalidArgument: .invalidArgument
    case .notFound: .notFound
    case .permissionDenied: .permissionDenied
    case .resourceExhausted: .resourceExhausted
    case .internalError: .internalError
    }
  }
}
