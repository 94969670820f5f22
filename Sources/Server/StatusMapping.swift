import ChorusAPI
import Engine
import GRPCCore

/// The one place engine errors become gRPC statuses.
extension RPCError {
  init(_ error: EngineError) {
    switch error {
    case .unknownSpace:
      self.init(code: .notFound, message: error.description)
    case .modelLoadFailed:
      self.init(code: .failedPrecondition, message: error.description)
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
