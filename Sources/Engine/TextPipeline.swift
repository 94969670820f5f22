import Encoders
import Foundation
import Hashing
import Store
import Tensor

/// Text → vector for one encoder: validate, tokenize, batch, normalise.
final class TextPipeline: Sendable {
  let encoder: any TextEncoder
  let fingerprint: String
  private let batcher: Batcher<[Int32], [Float]>
  private let maxTextBytes: Int
  private let cache: VectorCache?
  /// Texts being computed right now, by content hash: a second request for one joins the first.
  private let inFlight = SingleFlight<[Float]>()

  /// Inputs admitted to this encoder's queue and not yet started.
  var queuedInputs: Int { batcher.queuedInputs }

  init(encoder: any TextEncoder, fingerprint: String, label: String, configuration: EngineConfiguration, cache: VectorCache? = nil) {
    self.encoder = encoder
    self.fingerprint = fingerprint
    self.cache = cache
    maxTextBytes = configuration.maxTextBytes
    batcher = Batcher(
      space: label, modality: .text, maxBatchSize: configuration.maxBatchSize, maxWaitMicroseconds: configuration.maxBatchWaitMicroseconds,
      maxQueued: configuration.maxQueuedInputs
    ) { batch in encoder.embed(batch) }
  }

  /// Embeds texts together (one batch where they fit), each with its own result. Throws when the queue refuses
  /// the request (full, or the deadline cannot be met) or the caller leaves; `exempt` (internal) work is never refused.
  func embed(_ texts: [String], options: EmbedOptions, call: CallContext = CallContext(), exempt: Bool = false) async throws
    -> [Result<EmbeddingOutput, InputError>]
  {
    try await embed(inputs: texts.map(TextInput.string), options: options, call: call, exempt: exempt)
  }

  /// Embeds texts and token-id sequences together. Token ids are used as given (no special tokens are added):
  /// they are checked against the vocabulary and cut to the model's limit like tokenized text.
  func embed(inputs: [TextInput], options: EmbedOptions, call: CallContext = CallContext(), exempt: Bool = false) async throws
    -> [Result<EmbeddingOutput, InputError>]
  {
    var results = [Result<EmbeddingOutput, InputError>?](repeating: nil, count: inputs.count)
    var misses: [(index: Int, input: TextInput, hash: String, key: String)] = []
    let refused = InputError(.invalidArgument, "text is longer than the model's limit of \(encoder.maxTokens) tokens and truncation was refused (fail_on_truncation)")
    for (index, input) in inputs.enumerated() {
      if let problem = problem(with: input) {
        results[index] = .failure(problem)
        continue
      }
      let hash = input.contentHash
      let key = CacheKey.make(fingerprint: fingerprint, modality: .text, contentHash: hash)
      if !options.bypassCache, let entry = cache?.get(key) {
        results[index] = entry.truncated && options.failOnTruncation
          ? .failure(refused)
          : .success(
            EmbeddingOutput(
              modality: .text, vector: options.raw ? entry.vector : l2Normalized(entry.vector), cached: true, truncated: entry.truncated, contentHash: hash,
              tokens: options.countTokens ? tokenize(input).ids.count : 0))
        continue
      }
      misses.append((index, input, hash, key))
    }
    // Places in the queue are taken before tokenizing, so a refused request costs nothing more.
    let admission = misses.isEmpty ? nil : try batcher.admit(Set(misses.map(\.hash)).count, deadline: call.deadline, exempt: exempt)
    defer { admission?.release() }
    var runnable: [(index: Int, tokens: TokenizedText, hash: String, key: String)] = []
    for miss in misses {
      let tokens = tokenize(miss.input)
      if tokens.truncated && options.failOnTruncation {
        results[miss.index] = .failure(refused)
        continue
      }
      runnable.append((miss.index, tokens, miss.hash, miss.key))
    }
    // One group for the batcher: the request's new texts share a batch; texts in flight elsewhere are joined.
    let tokens = Dictionary(runnable.map { ($0.hash, $0.tokens.ids) }) { first, _ in first }
    let computed = try await inFlight.run(runnable.map(\.hash)) { hashes in
      Dictionary(uniqueKeysWithValues: zip(hashes, try await self.batcher.submit(hashes.map { tokens[$0]! }, admission: admission!)))
    }
    let vectors = runnable.map { computed[$0.hash]! }
    cache?.put(zip(runnable, vectors).map { item, vector in (item.key, VectorCache.Entry(vector: vector, truncated: item.tokens.truncated)) })
    for (item, vector) in zip(runnable, vectors) {
      results[item.index] = .success(
        EmbeddingOutput(
          modality: .text, vector: options.raw ? vector : l2Normalized(vector), cached: false, truncated: item.tokens.truncated,
          contentHash: item.hash, tokens: item.tokens.ids.count))
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

  private func problem(with input: TextInput) -> InputError? {
    switch input {
    case .string(let text):
      let bytes = text.utf8.count
      return bytes <= maxTextBytes ? nil : InputError(.invalidArgument, "text of \(bytes) bytes is over the limit of \(maxTextBytes) bytes (max_text_bytes)")
    case .tokenIDs(let ids):
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

  private func tokenize(_ input: TextInput) -> TokenizedText {
    switch input {
    case .string(let text): return encoder.tokenize(text)
    case .tokenIDs(let ids):
      let limit = encoder.maxTokens
      return TokenizedText(ids: Array(ids.prefix(limit)), truncated: ids.count > limit)
    }
  }

  /// One batch of one short text straight through the encoder (nothing cached).
  func warmUp() async throws {
    _ = try await batcher.submit([encoder.tokenize("warming up").ids], admission: batcher.admit(1, deadline: nil, exempt: true))
  }
}
