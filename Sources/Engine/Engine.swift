import Logging

/// Owns the spaces and runs embed requests against them.
///
/// This is the seam the transport talks to. Spaces come from model directories (`--model NAME=DIR` and the
/// config file); loading them is the inference engine's job, so until encoders exist a model directory is
/// refused at startup with a message saying so, and the engine serves no spaces.
public final class Engine: Sendable {
  /// The space a request gets when it names none.
  public static let defaultSpaceName = "starter"

  private let spacesByName: [String: SpaceDescription]
  private let logger: Logger

  /// Builds the engine from `name → model directory` pairs.
  public init(models: [String: String], logger: Logger) throws {
    self.logger = logger
    if let (name, directory) = models.min(by: { $0.key < $1.key }) {
      throw EngineError.modelLoadFailed(
        name: name, directory: directory,
        reason: "this build has no encoders yet; loading model directories arrives with the inference engine")
    }
    self.spacesByName = [:]
  }

  /// Spaces sorted by name.
  public var spaces: [SpaceDescription] {
    spacesByName.values.sorted { $0.name < $1.name }
  }

  /// The default space's name when it is loaded.
  public var defaultSpace: String? {
    spacesByName[Self.defaultSpaceName] == nil ? nil : Self.defaultSpaceName
  }

  /// Resolves a requested space name (empty = default) or throws `unknownSpace` naming the ones that exist.
  public func space(named requested: String) throws -> SpaceDescription {
    let name = requested.isEmpty ? Self.defaultSpaceName : requested
    guard let space = spacesByName[name] else {
      throw EngineError.unknownSpace(name, available: spaces.map(\.name))
    }
    return space
  }
}
