/// Failures of a whole request to the engine (per-input failures are `InputError`).
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
  /// A space name nobody registered; carries the names that do exist.
  case unknownSpace(String, available: [String])
  /// A model directory that cannot become a space.
  case modelLoadFailed(name: String, directory: String, reason: String)
  /// `--precision NAME=…` for a space that is not loaded.
  case precisionForUnknownSpace(String, available: [String])
  /// An encoder's queue holds `limit` inputs already; the caller may retry after about `retryAfterSeconds`.
  case overloaded(queue: String, limit: Int, retryAfterSeconds: Double)
  /// The work queued ahead of the request would outlast its deadline, so it was not started.
  case deadlineUnmeetable(queue: String, estimatedSeconds: Double, remainingSeconds: Double)
  /// An option the request cannot have (a prompt the model lacks, dimensions out of range).
  case invalidOption(String)
  /// The one input of a single-input call (Classify) failed as an embed result would (undecodable, too large, …).
  case inputRejected(InputError)

  public var description: String {
    switch self {
    case .unknownSpace(let name, let available):
      let served = available.isEmpty ? "none are loaded" : "available: " + available.joined(separator: ", ")
      return "no space named '\(name)' (\(served))"
    case .modelLoadFailed(let name, let directory, let reason):
      return "cannot load space '\(name)' from \(directory): \(reason)"
    case .precisionForUnknownSpace(let name, let available):
      return "precision is set for space '\(name)', which is not loaded (spaces: \(available.isEmpty ? "none" : available.joined(separator: ", "))); fix --precision / [precision]"
    case .overloaded(let queue, let limit, let retry):
      return "the \(queue) queue is full (\(limit) inputs waiting, max_queued_inputs): retry in about \(Self.seconds(retry)) s, or send fewer inputs at once"
    case .deadlineUnmeetable(let queue, let estimated, let remaining):
      return "the \(queue) queue needs about \(Self.seconds(estimated)) s before this request would be done, and its deadline leaves \(Self.seconds(remaining)) s: refused without starting it"
    case .invalidOption(let message):
      return message
    case .inputRejected(let error):
      return error.message
    }
  }

  private static func seconds(_ value: Double) -> String {
    value < 10 ? String(format: "%.2f", value) : String(format: "%.0f", value)
  }
}
