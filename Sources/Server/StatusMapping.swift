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
    case .unimplemented:
      self.init(code: .unimplemented, message: error.description)
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
}
