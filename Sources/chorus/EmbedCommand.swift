import ArgumentParser
import ChorusAPI
import Foundation
import GRPCCore

struct EmbedCommand: ChorusSubcommand {
  static let configuration = CommandConfiguration(
    commandName: "embed",
    abstract: "Embed texts, images and audio files; one result per input, in the order given.",
    discussion: "Exit 0 when every input was embedded, 1 when any failed, 2 for usage or connection errors."
  )

  @OptionGroup var connection: ConnectionOptions
  @Option(help: "Space to embed in (default: the daemon's default space).") var space: String?
  @Option(help: "A text to embed (repeatable).") var text: [String] = []
  @Option(help: "An image file (JPEG, PNG) to embed (repeatable).") var image: [String] = []
  @Option(help: "An audio file to embed (repeatable).") var audio: [String] = []
  @Flag(help: "Return vectors without L2 normalisation.") var raw = false
  @Flag(help: "Fail over-long text instead of truncating it.") var noTruncate = false
  @Flag(help: "For long audio, also return one vector per window.") var segments = false
  @Flag(help: "Print one JSON object per input.") var json = false
  @Option(help: "Keep the first N components of text vectors, L2-normalised again (Matryoshka models).") var dimensions: UInt32?
  @Option(help: "One of the text model's prompts (chorus spaces lists them), e.g. query or passage.") var promptName: String?
  @Option(help: "A literal prompt put before each text.") var prompt: String?
  @Flag(help: "Embed long text as overlapping windows instead of truncating it; also print each window.") var chunks = false
  @Option(help: "Tokens neighbouring windows share with --chunks (default 32).") var chunkOverlap: UInt32?
  @Flag(help: "Also return every token's contextual vector (with --json: id, text, start, end, vector).") var tokens = false

  /// One input as the user gave it: what to show, and what to send (or why it cannot be sent).
  struct PlannedInput {
    var modality: String
    var label: String
    var input: Result<Chorus_V1_Input, RPCError>
  }

  func validate() throws {
    if text.isEmpty && image.isEmpty && audio.isEmpty {
      throw ValidationError("give at least one --text, --image or --audio")
    }
  }

  func execute() async throws {
    let planned = plannedInputs()
    var request = Chorus_V1_EmbedRequest()
    request.space = space ?? ""
    request.options.raw = raw
    request.options.failOnTruncation = noTruncate
    request.options.segments = segments
    request.options.dimensions = dimensions ?? 0
    request.options.promptName = promptName ?? ""
    request.options.prompt = prompt ?? ""
    request.options.chunking = chunks
    request.options.returnChunks = chunks
    request.options.chunkOverlapTokens = chunkOverlap ?? 0
    request.options.tokenEmbeddings = tokens
    request.inputs = planned.compactMap { try? $0.input.get() }

    // The whole call failing (unknown space, message too large) fails every input with the same status.
    let outcome: Result<Chorus_V1_EmbedResponse, RPCError>
    if request.inputs.isEmpty {
      outcome = .success(Chorus_V1_EmbedResponse())
    } else {
      do {
        let response = try await withDaemon(connection) { client in
          try await Chorus_V1_EmbeddingService.Client(wrapping: client).embed(request)
        }
        guard response.results.count == request.inputs.count else {
          throw CLIFailure.failed("the daemon answered \(response.results.count) results for \(request.inputs.count) inputs")
        }
        outcome = .success(response)
      } catch let error as RPCError {
        outcome = .failure(error)
      }
    }

    var results = (try? outcome.get().results[...]) ?? []
    var anyFailed = false
    for item in planned {
      let result: Result<Chorus_V1_Embedding, RPCError>
      switch (item.input, outcome) {
      case (.failure(let error), _), (.success, .failure(let error)):
        result = .failure(error)
      case (.success, .success):
        let answer = results.removeFirst()
        switch answer.outcome {
        case .embedding(let embedding): result = .success(embedding)
        case .error(let error): result = .failure(RPCError(code: Status.Code(rawValue: Int(error.code)).flatMap(RPCError.Code.init) ?? .unknown, message: error.message))
        case nil: result = .failure(RPCError(code: .internalError, message: "the daemon sent an empty result"))
        }
      }
      if case .failure = result { anyFailed = true }
      report(item, result, dimension: (try? outcome.get().dimension) ?? 0)
    }
    if anyFailed { throw ExitCode(1) }
  }

  /// Inputs in command-line order. ArgumentParser groups repeated options by name, so the order across
  /// --text/--image/--audio is recovered from the raw arguments.
  private func plannedInputs() -> [PlannedInput] {
    var texts = text[...], images = image[...], audios = audio[...]
    var planned: [PlannedInput] = []
    for kind in Self.inputOrder(CommandLine.arguments) {
      switch kind {
      case "text":
        guard let value = texts.popFirst() else { continue }
        planned.append(PlannedInput(modality: "text", label: value, input: .success(.with { $0.text = value })))
      case "image":
        guard let path = images.popFirst() else { continue }
        planned.append(PlannedInput(modality: "image", label: path, input: Self.read(path).map { data in .with { $0.image = data } }))
      default:
        guard let path = audios.popFirst() else { continue }
        planned.append(PlannedInput(modality: "audio", label: path, input: Self.read(path).map { data in .with { $0.audio = data } }))
      }
    }
    return planned
  }

  /// The sequence of input kinds ("text", "image", "audio") as they appear in `arguments`.
  static func inputOrder(_ arguments: [String]) -> [String] {
    var kinds: [String] = []
    var index = arguments.startIndex
    while index < arguments.endIndex {
      let argument = arguments[index]
      if argument == "--" { break }
      for kind in ["text", "image", "audio"] {
        if argument == "--\(kind)" {
          kinds.append(kind)
          index += 1  // its value, whatever it looks like
        } else if argument.hasPrefix("--\(kind)=") {
          kinds.append(kind)
        }
      }
      index += 1
    }
    return kinds
  }

  private static func read(_ path: String) -> Result<Data, RPCError> {
    do {
      return .success(try Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
      return .failure(RPCError(code: .invalidArgument, message: "cannot read \(path): \(error.localizedDescription)"))
    }
  }

  private func report(_ item: PlannedInput, _ result: Result<Chorus_V1_Embedding, RPCError>, dimension: UInt32) {
    switch result {
    case .success(let embedding):
      if json {
        printJSONLine(
          EmbeddingJSON(
            modality: embedding.modality.name, dimension: embedding.vector.count, vector: embedding.vector,
            cached: embedding.cached, truncated: embedding.truncated,
            segments: embedding.segments.isEmpty ? nil : embedding.segments.map { .init(start: $0.startSeconds, end: $0.endSeconds, vector: $0.vector) },
            chunks: chunks ? embedding.chunks.map { .init(start: Int($0.start), end: Int($0.end), vector: $0.vector) } : nil,
            tokens: tokens ? embedding.tokens.map { .init(id: Int($0.id), text: $0.text, start: Int($0.start), end: Int($0.end), vector: $0.vector) } : nil))
      } else {
        let preview = embedding.vector.prefix(4).map { String(format: "%.4f", $0) }.joined(separator: ", ")
        var notes: [String] = []
        if embedding.cached { notes.append("cached") }
        if embedding.truncated { notes.append("truncated") }
        if !embedding.segments.isEmpty { notes.append("\(embedding.segments.count) segments") }
        if !embedding.chunks.isEmpty { notes.append("\(embedding.chunks.count) chunks") }
        if !embedding.tokens.isEmpty { notes.append("\(embedding.tokens.count) tokens") }
        let suffix = notes.isEmpty ? "" : " (" + notes.joined(separator: ", ") + ")"
        print("\(item.modality) \(Self.shorten(item.label)): \(embedding.vector.count)-d [\(preview), …]\(suffix)")
      }
    case .failure(let error):
      if json {
        printJSONLine(ErrorJSON(error: .init(code: StatusName.of(error.code), message: error.message)))
      } else {
        print("\(item.modality) \(Self.shorten(item.label)): error \(describe(error))")
      }
    }
  }

  private static func shorten(_ label: String) -> String {
    label.count <= 40 ? "\"\(label)\"" : "\"\(label.prefix(37))…\""
  }

  struct EmbeddingJSON: Encodable {
    struct SegmentJSON: Encodable {
      var start: Double
      var end: Double
      var vector: [Float]
    }
    var modality: String
    var dimension: Int
    var vector: [Float]
    var cached: Bool
    var truncated: Bool
    var segments: [SegmentJSON]?
    var chunks: [ChunkJSON]?
    var tokens: [TokenJSON]?

    struct ChunkJSON: Encodable {
      var start: Int
      var end: Int
      var vector: [Float]
    }

    struct TokenJSON: Encodable {
      var id: Int
      var text: String
      var start: Int
      var end: Int
      var vector: [Float]
    }
  }

  struct ErrorJSON: Encodable {
    struct Body: Encodable {
      var code: String
      var message: String
    }
    var error: Body
  }
}
