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

  init(encoder: any TextEncoder, fingerprint: String, label: String, configuration: EngineConfiguration, cache: VectorCache? = nil) {
    self.encoder = encoder
    self.fingerprint = fingerprint
    self.cache = cache
    maxTextBytes = configuration.maxTextBytes
    batcher = Batcher(
      label: "\(label).text", maxBatchSize: configuration.maxBatchSize, maxWaitMicroseconds: configuration.maxBatchWaitMicroseconds,
      maxQueued: configuration.maxQueuedInputs
    ) { batch in encoder.embed(batch) }
  }

  /// Embeds texts together (one batch where they fit), each with its own result. Throws when the queue refuses
  /// the request (full, or the deadline cannot be met) or the caller leaves; `exempt` (internal) work is never refused.
  func embed(_ texts: [String], options: EmbedOptions, call: CallContext = CallContext(), exempt: Bool = false) async throws
    -> [Result<EmbeddingOutput, InputError>]
  {
    var results = [Result<EmbeddingOutput, InputError>?](repeating: nil, count: texts.count)
    var misses: [(index: Int, text: String, hash: String, key: String)] = []
    let refused = InputError(.invalidArgument, "text is longer than the model's limit of \(encoder.maxTokens) tokens and truncation was refused (fail_on_truncation)")
    for (index, text) in texts.enumerated() {
      let bytes = text.utf8.count
      guard bytes <= maxTextBytes else {
        results[index] = .failure(InputError(.invalidArgument, "text of \(bytes) bytes is over the limit of \(maxTextBytes) bytes (max_text_bytes)"))
        continue
      }
      let hash = SHA256Hasher.hexDigest(of: Data(text.utf8))
      let key = CacheKey.make(fingerprint: fingerprint, modality: .text, contentHash: hash)
      if !options.bypassCache, let entry = cache?.get(key) {
        results[index] = entry.truncated && options.failOnTruncation
          ? .failure(refused)
          : .success(EmbeddingOutput(modality: .text, vector: options.raw ? entry.vector : l2Normalized(entry.vector), cached: true, truncated: entry.truncated, contentHash: hash))
        continue
      }
      misses.append((index, text, hash, key))
    }
    // Places in the queue are taken before tokenizing, so a refused request costs nothing more.
    let admission = misses.isEmpty ? nil : try batcher.admit(Set(misses.map(\.hash)).count, deadline: call.deadline, exempt: exempt)
    defer { admission?.release() }
    var runnable: [(index: Int, tokens: TokenizedText, hash: String, key: String)] = []
    for miss in misses {
      let tokens = encoder.tokenize(miss.text)
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
          contentHash: item.hash))
    }
    return results.map { $0! }
  }

  /// One batch of one short text straight through the encoder (nothing cached).
  func warmUp() async throws {
    _ = try await batcher.submit([encoder.tokenize("warming up").ids], admission: batcher.admit(1, deadline: nil, exempt: true))
  }
}
