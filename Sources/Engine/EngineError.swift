/// Failures of a whole request to the engine (per-input failures are `InputError`).
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
  /// A space name nobody registered; carries the names that do exist.
  case unknownSpace(String, available: [String])
  /// A model directory that cannot become a space.
  case modelLoadFailed(name: String, directory: String, reason: String)

  public var description: String {
    switch self {
    case .unknownSpace(let name, let available):
      let served = available.isEmpty ? "none are loaded" : "available: " + available.joined(separator: ", ")
      return "no space named '\(name)' (\(served))"
    case .modelLoadFailed(let name, let directory, let reason):
      return "cannot load space '\(name)' from \(directory): \(reason)"
    }
  }
}
