import ChorusAPI
import Engine
import GRPCCore

/// `chorus.v1.EmbeddingService`: maps the API onto the engine.
public struct EmbeddingService: Chorus_V1_EmbeddingService.SimpleServiceProtocol {
  private let engine: Engine

  public init(engine: Engine) {
    self.engine = engine
  }

  public func embed(request: Chorus_V1_EmbedRequest, context: ServerContext) async throws -> Chorus_V1_EmbedResponse {
    // Inputs with nothing set are answered here; the rest go to the engine in one call so they batch together.
    var inputs: [EmbedInput] = []
    var positions: [Int] = []
    var results = [Chorus_V1_EmbedResult](repeating: Chorus_V1_EmbedResult(), count: request.inputs.count)
    for (index, input) in request.inputs.enumerated() {
      guard let converted = Self.embedInput(input) else {
        results[index].error = ItemErrors.message(.invalidArgument, "input \(index) is empty: set text, image, audio or file")
        continue
      }
      inputs.append(converted)
      positions.append(index)
    }
    let options = Self.embedOptions(request.options)
    let (space, outputs) = try await RPCError.mapping { try await engine.embed(space: request.space, inputs: inputs, options: options, call: CallScope.current) }
    for (index, output) in zip(positions, outputs) {
      switch output {
      case .success(let embedding):
        results[index].embedding = .with {
          $0.modality = Chorus_V1_Modality(embedding.modality)
          $0.vector = embedding.vector
          $0.cached = embedding.cached
          $0.truncated = embedding.truncated
          $0.contentHash = embedding.contentHash
          $0.segments = embedding.segments.map { segment in
            .with {
              $0.startSeconds = segment.startSeconds
              $0.endSeconds = segment.endSeconds
              $0.vector = segment.vector
            }
          }
          $0.chunks = embedding.chunks.map { chunk in
            .with {
              $0.start = UInt32(chunk.start)
              $0.end = UInt32(chunk.end)
              $0.vector = chunk.vector
            }
          }
          $0.tokens = embedding.tokenVectors.map { token in
            .with {
              $0.id = token.id
              $0.text = token.text
              $0.start = UInt32(token.start)
              $0.end = UInt32(token.end)
              $0.vector = token.vector
            }
          }
        }
      case .failure(let error):
        results[index].error = ItemErrors.message(error)
      }
    }
    var response = Chorus_V1_EmbedResponse()
    response.space = space.name
    response.dimension = UInt32(space.dimension)
    response.results = results
    return response
  }

  public func classify(request: Chorus_V1_ClassifyRequest, context: ServerContext) async throws -> Chorus_V1_ClassifyResponse {
    guard request.hasInput, let input = Self.embedInput(request.input) else {
      throw RPCError(code: .invalidArgument, message: "classify needs an input: set text, image, audio or file")
    }
    let outcome = try await RPCError.mapping {
      try await engine.classify(
        space: request.space, input: input, labels: request.labels, template: request.template.isEmpty ? nil : request.template, call: CallScope.current)
    }
    return .with {
      $0.space = outcome.space.name
      $0.modality = Chorus_V1_Modality(outcome.modality)
      $0.scores = outcome.scores.map { score in
        .with {
          $0.label = score.label
          $0.probability = score.probability
          $0.cosine = score.cosine
        }
      }
      $0.rule = outcome.head.rule.rawValue
      $0.logitScale = outcome.head.scale
      $0.logitBias = outcome.head.bias
      $0.learnedTemperature = outcome.head.learned
      $0.note = outcome.note
    }
  }

  /// The engine's view of the API's options (proto3 defaults: 0 and "" mean unset).
  static func embedOptions(_ options: Chorus_V1_EmbedOptions) -> EmbedOptions {
    var converted = EmbedOptions(raw: options.raw, failOnTruncation: options.failOnTruncation, segments: options.segments, bypassCache: options.bypassCache)
    converted.dimensions = options.dimensions == 0 ? nil : Int(options.dimensions)
    converted.promptName = options.promptName.isEmpty ? nil : options.promptName
    converted.prompt = options.prompt.isEmpty ? nil : options.prompt
    converted.chunking = options.chunking
    if options.chunkOverlapTokens > 0 { converted.chunkOverlapTokens = Int(options.chunkOverlapTokens) }
    converted.returnChunks = options.returnChunks
    converted.tokenEmbeddings = options.tokenEmbeddings
    return converted
  }

  /// The engine's view of an API input; nil when nothing is set.
  static func embedInput(_ input: Chorus_V1_Input) -> EmbedInput? {
    switch input.content {
    case .text(let text): .text(text)
    case .image(let data): .image(data)
    case .audio(let data): .audio(data)
    case .file(let file): .file(path: file.path, modality: Modality(file.modality))
    case nil: nil
    }
  }

  public func listSpaces(request: Chorus_V1_ListSpacesRequest, context: ServerContext) async throws -> Chorus_V1_ListSpacesResponse {
    var response = Chorus_V1_ListSpacesResponse()
    response.defaultSpace = engine.defaultSpace ?? ""
    response.spaces = engine.spaces.map { space in
      var message = Chorus_V1_Space()
      message.name = space.name
      message.dimension = UInt32(space.dimension)
      message.encoders = space.encoders.map { encoder in
        var e = Chorus_V1_Encoder()
        e.modality = Chorus_V1_Modality(encoder.modality)
        e.modelID = encoder.modelID
        e.architecture = encoder.architecture
        e.fingerprint = encoder.fingerprint
        e.maxInput = encoder.maxInput
        e.prompts = encoder.prompts
        e.defaultPromptName = encoder.defaultPromptName ?? ""
        e.precision = encoder.precision.rawValue
        return e
      }
      return message
    }
    return response
  }
}
