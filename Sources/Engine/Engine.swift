import Encoders
import Foundation
import Logging
import Store
import Tensor

/// Owns the spaces and runs embed requests against them. The transport talks to this and nothing deeper.
public final class Engine: Sendable {
  /// The space a request gets when it names none.
  public static let defaultSpaceName = "starter"

  private let spacesByName: [String: Space]
  private let maxFileBytes: Int
  private let fileRoots: FileRoots
  /// The shared vector cache, when the engine has one (the daemon always does).
  public let cache: VectorCache?

  /// Loads every `name → model directory`; any failure stops start-up with the directory and the reason.
  public convenience init(models: [String: String], configuration: EngineConfiguration = EngineConfiguration(), cache: VectorCache? = nil, logger: Logger) throws {
    try self.init(spaces: models.mapValues { [$0] }, configuration: configuration, cache: cache, logger: logger)
  }

  /// Loads every `name → model directories` (each directory brings encoders for some modalities, e.g. a text
  /// model and an image model with a head into its space); any failure stops start-up naming the directory.
  /// `precisions`: space name → what its models' linear layers compute in (default fp32); a name that is not a
  /// space stops start-up.
  public init(
    spaces definitions: [String: [String]], precisions: [String: Precision] = [:], configuration: EngineConfiguration = EngineConfiguration(),
    cache: VectorCache? = nil, logger: Logger
  ) throws {
    if let stray = precisions.keys.sorted().first(where: { definitions[$0] == nil }) {
      throw EngineError.precisionForUnknownSpace(stray, available: definitions.keys.sorted())
    }
    self.cache = cache
    maxFileBytes = configuration.maxFileBytes
    fileRoots = configuration.fileRoots
    var spaces: [String: Space] = [:]
    for (name, directories) in definitions.sorted(by: { $0.key < $1.key }) {
      let started = Date()
      var models: [LoadedModel] = []
      for directory in directories {
        do {
          models.append(try ModelDirectory.load(directory, precision: precisions[name] ?? .fp32))
        } catch {
          throw EngineError.modelLoadFailed(name: name, directory: directory, reason: "\(error)")
        }
      }
      spaces[name] = try Space(name: name, models: models, configuration: configuration, cache: cache)
      let space = spaces[name]!.description
      logger.info(
        "space loaded",
        metadata: [
          "space": "\(name)", "directories": "\(directories.joined(separator: ", "))", "dimension": "\(space.dimension)",
          "modalities": "\(space.modalities.map(\.rawValue).joined(separator: "+"))", "precision": "\(precisions[name] ?? .fp32)",
          "seconds": "\(String(format: "%.2f", Date().timeIntervalSince(started)))",
        ])
    }
    spacesByName = spaces
  }

  /// Spaces sorted by name.
  public var spaces: [SpaceDescription] {
    spacesByName.values.map(\.description).sorted { $0.name < $1.name }
  }

  /// The default space's name when it is loaded.
  public var defaultSpace: String? {
    spacesByName[Self.defaultSpaceName] == nil ? nil : Self.defaultSpaceName
  }

  /// Resolves a requested space name (empty = default) or throws `unknownSpace` naming the ones that exist.
  public func space(named requested: String) throws -> SpaceDescription {
    try resolveSpace(requested).description
  }

  func resolveSpace(_ requested: String) throws -> Space {
    let name = requested.isEmpty ? Self.defaultSpaceName : requested
    guard let space = spacesByName[name] else {
      throw EngineError.unknownSpace(name, available: spacesByName.keys.sorted())
    }
    return space
  }

  /// Embeds a batch of inputs with one space; each input gets its own result, in order. Throws `EngineError` when
  /// the space is unknown or a queue refuses the request, and `CancellationError` when the caller leaves.
  public func embed(space requested: String, inputs: [EmbedInput], options: EmbedOptions, call: CallContext = CallContext()) async throws
    -> (space: SpaceDescription, results: [Result<EmbeddingOutput, InputError>])
  {
    let space = try resolveSpace(requested)
    var results = [Result<EmbeddingOutput, InputError>?](repeating: nil, count: inputs.count)
    var texts: [(index: Int, text: TextInput)] = []
    var images: [(index: Int, data: Data)] = []
    var clips: [(index: Int, data: Data)] = []
    func unserved(_ modality: Modality) -> InputError {
      InputError(
        .invalidArgument,
        "space '\(space.description.name)' cannot embed \(modality.rawValue) inputs (it serves: \(space.description.modalities.map(\.rawValue).joined(separator: ", ")))")
    }
    // Server-side files become the inputs they hold, read side by side on Dispatch workers (file I/O blocks).
    let originals = inputs
    var inputs = inputs
    let (limit, roots, caller) = (maxFileBytes, fileRoots, call.caller)
    let loaded = await withTaskGroup(of: (Int, Result<EmbedInput, InputError>).self) { group in
      for (index, input) in inputs.enumerated() {
        guard case .file(let path, let modality) = input else { continue }
        group.addTask { (index, await offload { FileInput.load(path: path, modality: modality, maxBytes: limit, roots: roots, caller: caller) }) }
      }
      return await group.reduce(into: [(Int, Result<EmbedInput, InputError>)]()) { $0.append($1) }
    }
    for (index, file) in loaded {
      switch file {
      case .success(let input): inputs[index] = input
      case .failure(let error): results[index] = .failure(error)
      }
    }
    let textOnly = InputError(.invalidArgument, "dimensions, prompts, chunking and token vectors apply to text inputs only")
    for (index, input) in inputs.enumerated() where results[index] == nil {
      switch input {
      case .image, .audio:
        if options.hasTextOptions {
          results[index] = .failure(textOnly)
          continue
        }
      default:
        break
      }
      switch input {
      case .text(let text):
        if space.text == nil { results[index] = .failure(unserved(.text)) } else { texts.append((index, .string(text))) }
      case .tokenIDs(let ids):
        if space.text == nil { results[index] = .failure(unserved(.text)) } else { texts.append((index, .tokenIDs(ids))) }
      case .image(let data):
        if space.image == nil { results[index] = .failure(unserved(.image)) } else { images.append((index, data)) }
      case .audio(let data):
        if space.audio == nil { results[index] = .failure(unserved(.audio)) } else { clips.append((index, data)) }
      case .file:
        break  // loaded above
      }
    }
    // The modalities run side by side: each has its own batcher thread. One refused by its queue fails the
    // request, and leaving this scope then cancels the others.
    async let textOutputs = texts.isEmpty ? [] : space.text!.embed(inputs: texts.map(\.text), options: options, call: call)
    async let imageOutputs = images.isEmpty ? [] : space.image!.embed(images.map(\.data), options: options, call: call)
    async let audioOutputs = clips.isEmpty ? [] : space.audio!.embed(clips.map(\.data), options: options, call: call)
    for (item, output) in zip(texts, try await textOutputs) { results[item.index] = output }
    for (item, output) in zip(images, try await imageOutputs) { results[item.index] = output }
    for (item, output) in zip(clips, try await audioOutputs) { results[item.index] = output }
    // No preview of a server-side file is ever kept: the daemon read it for one caller, and a preview would show
    // its content to everyone who may search the collection (content sent as bytes was shared by its sender).
    if options.previews {
      for (index, input) in originals.enumerated() {
        if case .file = input, case .success(var output) = results[index] {
          output.preview = nil
          results[index] = .success(output)
        }
      }
    }
    let finished = results.map { $0! }
    EmbedOutcomeMetrics.record(space: space.description.name, inputs: inputs, results: finished)
    return (space.description, finished)
  }

  /// Inputs waiting in each encoder's queue (admitted, not yet started), for `chorus_queue_depth`.
  public func queueDepths() -> [(space: String, modality: Modality, inputs: Int)] {
    spacesByName.values.sorted { $0.description.name < $1.description.name }.flatMap { space in
      [
        space.text.map { (space.description.name, Modality.text, $0.queuedInputs) },
        space.image.map { (space.description.name, Modality.image, $0.queuedInputs) },
        space.audio.map { (space.description.name, Modality.audio, $0.queuedInputs) },
      ].compactMap { $0 }
    }
  }

  /// Runs one batch through every encoder (and makes the ConSE class embeddings), so the first request after
  /// start pays no first-use cost and the queues know what a batch costs before they judge deadlines.
  public func warmUp(logger: Logger) async throws {
    for space in spacesByName.values.sorted(by: { $0.description.name < $1.description.name }) {
      let started = ContinuousClock.now
      try await space.text?.warmUp()
      try await space.image?.warmUp()
      try await space.audio?.warmUp()
      logger.info("space warmed up", metadata: ["space": "\(space.description.name)", "seconds": "\(String(format: "%.2f", (ContinuousClock.now - started).inSeconds))"])
    }
  }
}
