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
      label: "\(label).text", maxBatchSize: configuration.maxBatchSize, maxWaitMicroseconds: configuration.maxBatchWaitMicroseconds
    ) { batch in encoder.embed(batch) }
  }

  /// Embeds texts together (one batch where they fit), each with its own result.
  func embed(_ texts: [String], options: EmbedOptions) async -> [Result<EmbeddingOutput, InputError>] {
    var results = [Result<EmbeddingOutput, InputError>?](repeating: nil, count: texts.count)
    var runnable: [(index: Int, tokens: TokenizedText, hash: String, key: String)] = []
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
      let tokens = encoder.tokenize(text)
      if tokens.truncated && options.failOnTruncation {
        results[index] = .failure(refused)
        continue
      }
      runnable.append((index, tokens, hash, key))
    }
    let vectors = await withTaskGroup(of: (Int, [Float]).self) { group in
      for (position, item) in runnable.enumerated() {
        group.addTask { (position, await self.computeOnce(hash: item.hash, ids: item.tokens.ids)) }
      }
      var vectors = [[Float]](repeating: [], count: runnable.count)
      for await (position, vector) in group { vectors[position] = vector }
      return vectors
    }
    cache?.put(zip(runnable, vectors).map { item, vector in (item.key, VectorCache.Entry(vector: vector, truncated: item.tokens.truncated)) })
    for (item, vector) in zip(runnable, vectors) {
      results[item.index] = .success(
        EmbeddingOutput(
          modality: .text, vector: options.raw ? vector : l2Normalized(vector), cached: false, truncated: item.tokens.truncated,
          contentHash: item.hash))
    }
    return results.map { $0! }
  }

  /// The model's vector for a text, computed once however many callers ask for it at the same time.
  private func computeOnce(hash: String, ids: [Int32]) async -> [Float] {
    await inFlight.run(hash) { await self.batcher.submit(ids) }
  }
}
