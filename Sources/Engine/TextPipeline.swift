import Encoders
import Foundation
import Hashing
import Store
import Tensor
import Tokenizers

/// Text → vector for one encoder: validate, tokenize, batch, normalise. Prompts, chunking and token vectors are
/// options of the same path; anything that changes a vector is part of its cache key.
final class TextPipeline: Sendable {
  let encoder: any TextEncoder
  let fingerprint: String
  private let batcher: Batcher<TextJob, TextJobResult>
  private let maxTextBytes: Int
  private let cache: VectorCache?
  /// Inputs being computed right now, by cache key: a second request for one joins the first.
  private let inFlight = SingleFlight<[Float]>()
  /// Windows of a chunked text handed to the batcher at once: the queue stays bounded, memory with it.
  static let windowsPerRound = 32

  /// Inputs admitted to this encoder's queue and not yet started.
  var queuedInputs: Int { batcher.queuedInputs }

  struct TextJob: Sendable {
    var ids: [Int32]
    var tokenStates: Bool
  }

  struct TextJobResult: Sendable {
    var vector: [Float]
    var tokens: [[Float]]?
  }

  init(encoder: any TextEncoder, fingerprint: String, label: String, configuration: EngineConfiguration, cache: VectorCache? = nil) {
    self.encoder = encoder
    self.fingerprint = fingerprint
    self.cache = cache
    maxTextBytes = configuration.maxTextBytes
    batcher = Batcher(
      space: label, modality: .text, maxBatchSize: configuration.maxBatchSize, maxWaitMicroseconds: configuration.maxBatchWaitMicroseconds,
      maxQueued: configuration.maxQueuedInputs
    ) { batch in
      encoder.embed(batch.map(\.ids), tokenStates: batch.contains(where: \.tokenStates)).map { TextJobResult(vector: $0.vector, tokens: $0.tokens) }
    }
  }

  /// Embeds texts together (one batch where they fit), each with its own result. Throws when the queue refuses
  /// the request (full, or the deadline cannot be met) or the caller leaves; `exempt` (internal) work is never refused.
  func embed(_ texts: [String], options: EmbedOptions, call: CallContext = CallContext(), exempt: Bool = false) async throws
    -> [Result<EmbeddingOutput, InputError>]
  {
    try await embed(inputs: texts.map(TextInput.string), options: options, call: call, exempt: exempt)
  }

  /// The prompt a request's options ask for ("" for none), or why they cannot have one.
  func prompt(for options: EmbedOptions) throws -> String {
    let known = encoder.prompts.keys.sorted()
    let available = known.isEmpty ? "this model defines no prompts" : "the model's prompts: " + known.joined(separator: ", ")
    switch (options.promptName, options.prompt) {
    case (.some, .some):
      throw EngineError.invalidOption("set prompt_name or prompt, not both")
    case (.some(let name), nil):
      guard let prompt = encoder.prompts[name] else { throw EngineError.invalidOption("prompt_name '\(name)' is not a prompt of this model (\(available))") }
      return prompt
    case (nil, .some(let prompt)):
      return prompt
    case (nil, nil):
      return encoder.defaultPromptName.flatMap { encoder.prompts[$0] } ?? ""
    }
  }

  /// Checks the request-wide text options and answers the prompt they ask for; throws
  /// `EngineError.invalidOption` naming the problem.
  func validate(_ options: EmbedOptions) throws -> String {
    if let prompt = options.prompt, prompt.utf8.count > maxTextBytes {
      throw EngineError.invalidOption("a prompt of \(prompt.utf8.count) bytes is over the limit of \(maxTextBytes) bytes (max_text_bytes)")
    }
    let prompt = try prompt(for: options)
    if let dimensions = options.dimensions, dimensions < 1 || dimensions > encoder.dimension {
      throw EngineError.invalidOption("dimensions \(dimensions) is out of range: this text encoder gives 1 to \(encoder.dimension)")
    }
    if options.chunking && (options.chunkOverlapTokens < 0 || options.chunkOverlapTokens * 2 > windowRoom) {
      throw EngineError.invalidOption("chunk_overlap_tokens \(options.chunkOverlapTokens) must be 0 to \(windowRoom / 2) (half a window of this model)")
    }
    return prompt
  }

  /// A text's own tokens per window (the model's limit less its special tokens).
  var windowRoom: Int { max(encoder.maxTokens - encoder.tokenizer.specialTokenCount, 1) }

  /// Embeds texts and token-id sequences together. Token ids are used as given (no special tokens are added):
  /// they are checked against the vocabulary and cut to the model's limit like tokenized text.
  func embed(inputs: [TextInput], options: EmbedOptions, call: CallContext = CallContext(), exempt: Bool = false) async throws
    -> [Result<EmbeddingOutput, InputError>]
  {
    let prompt = try validate(options)
    var results = [Result<EmbeddingOutput, InputError>?](repeating: nil, count: inputs.count)
    for (index, input) in inputs.enumerated() {
      if let problem = problem(with: input, options: options, prompt: prompt) { results[index] = .failure(problem) }
    }
    if options.chunking {
      for (index, input) in inputs.enumerated() where results[index] == nil {
        guard case .string(let text) = input else { continue }
        results[index] = try await embedChunked(text, prompt: prompt, options: options, call: call, exempt: exempt)
      }
      return results.map { $0! }
    }
    // The prompt is part of the key: the same text with another prompt is another vector.
    let variant = prompt.isEmpty ? "" : "prompt\u{0}" + prompt
    var misses: [(index: Int, input: TextInput, hash: String, key: String)] = []
    let refused = InputError(.invalidArgument, "text is longer than the model's limit of \(encoder.maxTokens) tokens and truncation was refused (fail_on_truncation)")
    for (index, input) in inputs.enumerated() where results[index] == nil {
      let hash = input.contentHash
      let key = CacheKey.make(fingerprint: fingerprint, modality: .text, contentHash: hash, variant: variant)
      // Token vectors are never cached: a request for them always runs the model.
      if !options.bypassCache && !options.tokenEmbeddings, let entry = await cache?.get(key) {
        results[index] = entry.truncated && options.failOnTruncation
          ? .failure(refused)
          : .success(
            finish(
              EmbeddingOutput(
                modality: .text, vector: entry.vector, cached: true, truncated: entry.truncated, contentHash: hash,
                tokens: options.countTokens ? tokenize(input, prompt: prompt).ids.count : 0), options: options))
        continue
      }
      misses.append((index, input, hash, key))
    }
    // Places in the queue are taken before tokenizing, so a refused request costs nothing more.
    // Token-vector requests run every input (no joining); otherwise equal inputs are computed once.
    let places = options.tokenEmbeddings ? misses.count : Set(misses.map(\.key)).count
    let admission = misses.isEmpty ? nil : try batcher.admit(places, deadline: call.deadline, exempt: exempt)
    defer { admission?.release() }
    var runnable: [(index: Int, tokens: Encoding, hash: String, key: String)] = []
    for miss in misses {
      let tokens = tokenize(miss.input, prompt: prompt)
      if tokens.truncated && options.failOnTruncation {
        results[miss.index] = .failure(refused)
        continue
      }
      runnable.append((miss.index, tokens, miss.hash, miss.key))
    }
    var vectors: [[Float]]
    var tokenStates: [[[Float]]] = []
    if options.tokenEmbeddings {
      // Each input's own job (its token states are its own); same batches as everything else.
      let outputs = try await batcher.submit(runnable.map { TextJob(ids: $0.tokens.ids, tokenStates: true) }, admission: admission!)
      vectors = outputs.map(\.vector)
      tokenStates = outputs.map { $0.tokens ?? [] }
    } else {
      // One group for the batcher: the request's new texts share a batch; texts in flight elsewhere are joined.
      let tokens = Dictionary(runnable.map { ($0.key, $0.tokens.ids) }) { first, _ in first }
      let computed = try await inFlight.run(runnable.map(\.key)) { keys in
        let outputs = try await self.batcher.submit(keys.map { TextJob(ids: tokens[$0]!, tokenStates: false) }, admission: admission!)
        return Dictionary(uniqueKeysWithValues: zip(keys, outputs.map(\.vector)))
      }
      vectors = runnable.map { computed[$0.key]! }
    }
    await cache?.put(zip(runnable, vectors).map { item, vector in (item.key, VectorCache.Entry(vector: vector, truncated: item.tokens.truncated)) })
    for (position, (item, vector)) in zip(runnable, vectors).enumerated() {
      var output = EmbeddingOutput(
        modality: .text, vector: vector, cached: false, truncated: item.tokens.truncated, contentHash: item.hash, tokens: item.tokens.ids.count)
      if options.tokenEmbeddings { output.tokenVectors = tokenVectors(item.tokens, states: tokenStates[position], promptLength: prompt.unicodeScalars.count) }
      results[item.index] = .success(finish(output, options: options))
    }
    if options.previews {
      for (index, input) in inputs.enumerated() {
        if case .string(let text) = input, case .success(var output) = results[index] {
          output.preview = .text(text)
          results[index] = .success(output)
        }
      }
    }
    return results.map { $0! }
  }

  /// Normalisation (unless raw) and the dimensions cut, applied to a model's vector on the way out.
  private func finish(_ output: EmbeddingOutput, options: EmbedOptions) -> EmbeddingOutput {
    var output = output
    output.vector = shape(output.vector, options: options)
    output.chunks = output.chunks.map { TextChunk(start: $0.start, end: $0.end, vector: shape($0.vector, options: options)) }
    return output
  }

  private func shape(_ vector: [Float], options: EmbedOptions) -> [Float] {
    var vector = options.raw ? vector : l2Normalized(vector)
    if let dimensions = options.dimensions, dimensions < vector.count {
      vector = Array(vector.prefix(dimensions))
      if !options.raw { vector = l2Normalized(vector) }
    }
    return vector
  }

  /// Every token with its id, spelling, span in the caller's text (the prompt's own tokens get 0..<0) and vector.
  private func tokenVectors(_ encoding: Encoding, states: [[Float]], promptLength: Int) -> [TokenVector] {
    zip(encoding.ids.indices, states).map { index, state in
      let id = encoding.ids[index]
      let range = index < encoding.offsets.count ? encoding.offsets[index] : 0..<0
      let inText = !encoding.special[index] && range.upperBound > promptLength
      return TokenVector(
        id: id, text: encoder.tokenizer.token(of: id) ?? "", start: inText ? max(range.lowerBound - promptLength, 0) : 0,
        end: inText ? range.upperBound - promptLength : 0, vector: state)
    }
  }

  /// A long text as overlapping windows: every window is embedded (rounds of `windowsPerRound`, each through the
  /// same queue and batches as other work), and the document vector is the windows' mean, each weighted by the
  /// tokens it adds to the ones before it. A text that fits one window gives its plain vector.
  private func embedChunked(_ text: String, prompt: String, options: EmbedOptions, call: CallContext, exempt: Bool) async throws
    -> Result<EmbeddingOutput, InputError>
  {
    let hash = TextInput.string(text).contentHash
    let variant = "chunking\u{0}\(options.chunkOverlapTokens)" + (prompt.isEmpty ? "" : "\u{0}prompt\u{0}" + prompt)
    let key = CacheKey.make(fingerprint: fingerprint, modality: .text, contentHash: hash, variant: variant)
    if !options.bypassCache && !options.returnChunks, let entry = await cache?.get(key) {
      return .success(finish(EmbeddingOutput(modality: .text, vector: entry.vector, cached: true, truncated: false, contentHash: hash), options: options))
    }
    let tokenizer = encoder.tokenizer
    let full = tokenizer.encodeWithoutSpecials(encoder.prepared(prompt + text))
    let room = windowRoom, step = max(room - options.chunkOverlapTokens, 1)
    var windows: [Range<Int>] = []
    var start = 0
    repeat {
      windows.append(start..<min(start + room, full.ids.count))
      start += step
    } while windows.last!.upperBound < full.ids.count
    let promptLength = prompt.unicodeScalars.count
    var sum = [Double](repeating: 0, count: encoder.dimension)
    var weights = 0.0
    var chunks: [TextChunk] = []
    var covered = 0
    var tokenCount = 0
    for round in stride(from: 0, to: windows.count, by: Self.windowsPerRound) {
      let group = Array(windows[round..<min(round + Self.windowsPerRound, windows.count)])
      let jobs = group.map { window -> TextJob in
        var piece = Encoding()
        piece.ids = Array(full.ids[window])
        piece.offsets = Array(full.offsets[window])
        piece.special = Array(full.special[window])
        return TextJob(ids: tokenizer.addingSpecialTokens(piece).ids, tokenStates: false)
      }
      tokenCount += jobs.reduce(0) { $0 + $1.ids.count }
      let admission = try batcher.admit(jobs.count, deadline: call.deadline, exempt: exempt)
      defer { admission.release() }
      let outputs = try await batcher.submit(jobs, admission: admission)
      for (window, output) in zip(group, outputs) {
        let added = Double(max(window.upperBound - max(window.lowerBound, covered), 0))
        covered = max(covered, window.upperBound)
        weights += added
        for (i, value) in output.vector.enumerated() { sum[i] += added * Double(value) }
        if options.returnChunks {
          let first = full.offsets[window].first.map(\.lowerBound) ?? promptLength, last = full.offsets[window].last.map(\.upperBound) ?? promptLength
          chunks.append(TextChunk(start: max(first - promptLength, 0), end: max(last - promptLength, 0), vector: output.vector))
        }
      }
    }
    let document = sum.map { Float($0 / max(weights, 1)) }
    await cache?.put([(key, VectorCache.Entry(vector: document, truncated: false))])
    var output = EmbeddingOutput(modality: .text, vector: document, cached: false, truncated: false, contentHash: hash, tokens: tokenCount)
    output.chunks = chunks
    if options.previews { output.preview = .text(text) }
    return .success(finish(output, options: options))
  }

  private func problem(with input: TextInput, options: EmbedOptions, prompt: String) -> InputError? {
    switch input {
    case .string(let text):
      let bytes = text.utf8.count
      return bytes <= maxTextBytes ? nil : InputError(.invalidArgument, "text of \(bytes) bytes is over the limit of \(maxTextBytes) bytes (max_text_bytes)")
    case .tokenIDs(let ids):
      if !prompt.isEmpty && (options.prompt != nil || options.promptName != nil) {
        return InputError(.invalidArgument, "a prompt cannot be put before token ids: send text, or put the prompt's ids first yourself")
      }
      if options.chunking { return InputError(.invalidArgument, "chunking takes text, not token ids") }
      if ids.isEmpty { return InputError(.invalidArgument, "the list of token ids is empty") }
      if ids.count * 4 > maxTextBytes {
        return InputError(.invalidArgument, "\(ids.count) token ids are over the limit of \(maxTextBytes / 4) (max_text_bytes / 4)")
      }
      let vocabulary = encoder.vocabularySize
      if let bad = ids.firstIndex(where: { $0 < 0 || Int($0) >= vocabulary }) {
        return InputError(.invalidArgument, "token id \(ids[bad]) at position \(bad) is outside the model's vocabulary (0 to \(vocabulary - 1))")
      }
      return nil
    }
  }

  /// Tokens with offsets; the prompt, if any, goes before the text.
  private func tokenize(_ input: TextInput, prompt: String) -> Encoding {
    switch input {
    case .string(let text): return encoder.tokenizer.encode(encoder.prepared(prompt + text), maxLength: encoder.maxTokens)
    case .tokenIDs(let ids):
      let limit = encoder.maxTokens
      var encoding = Encoding()
      encoding.ids = Array(ids.prefix(limit))
      encoding.offsets = Array(repeating: 0..<0, count: encoding.ids.count)
      encoding.special = Array(repeating: false, count: encoding.ids.count)
      encoding.truncated = ids.count > limit
      return encoding
    }
  }

  /// One batch of one short text straight through the encoder (nothing cached).
  func warmUp() async throws {
    let ids = encoder.tokenize("warming up").ids
    _ = try await batcher.submit([TextJob(ids: ids, tokenStates: false)], admission: batcher.admit(1, deadline: nil, exempt: true))
  }
}
