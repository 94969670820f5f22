import Encoders
import Foundation
import Hashing
import Media
import Store
import Tensor

/// Image bytes → vector for one encoder: cache, decode and preprocess (off the event loops), batch, normalise.
final class ImagePipeline: Sendable {
  let encoder: any ImageEncoder
  /// Maps a classifier's scores into a text space; nil when the encoder's output is the vector.
  let head: LabelSpace?
  /// The model's fingerprint plus the decoding choices that change pixels (EXIF orientation).
  let fingerprint: String
  private let decoder: ImageDecoder
  private let preprocessor: ImagePreprocessor
  private let batcher: Batcher<[Float], [Float]>
  private let cache: VectorCache?
  private let inFlight = SingleFlight<Result<[Float], InputError>>()

  /// Inputs admitted to this encoder's queue and not yet started.
  var queuedInputs: Int { batcher.queuedInputs }

  init(
    encoder: any ImageEncoder, head: LabelSpace? = nil, preprocessor: ImagePreprocessor, modelFingerprint: String, label: String, configuration: EngineConfiguration,
    cache: VectorCache?
  ) {
    self.encoder = encoder
    self.head = head
    self.preprocessor = preprocessor
    self.cache = cache
    decoder = ImageDecoder(maxPixels: configuration.maxImagePixels, applyEXIFOrientation: configuration.applyEXIFOrientation)
    var hasher = SHA256Hasher()
    hasher.update("\(modelFingerprint)\nimage exif_orientation=\(configuration.applyEXIFOrientation)\n")
    fingerprint = hasher.hexDigest()
    let side = encoder.imageSize
    batcher = Batcher(
      space: label, modality: .image, maxBatchSize: configuration.maxBatchSize, maxWaitMicroseconds: configuration.maxBatchWaitMicroseconds,
      maxQueued: configuration.maxQueuedInputs
    ) {
      batch in
      // All images of the batch in one tensor, so every layer runs as one GEMM over all their patches.
      let pixels = Tensor(zeros: [batch.count, 3, side, side])
      for (index, image) in batch.enumerated() {
        image.withUnsafeBufferPointer { (pixels.data + index * image.count).update(from: $0.baseAddress!, count: image.count) }
      }
      return encoder.embed(pixels: pixels)
    }
  }

  /// Embeds encoded images together (one batch where they fit), each with its own result. Throws when the queue
  /// refuses the request or the caller leaves.
  func embed(_ images: [Data], options: EmbedOptions, call: CallContext = CallContext()) async throws -> [Result<EmbeddingOutput, InputError>] {
    let hashes = images.map { SHA256Hasher.hexDigest(of: $0) }
    func output(_ vector: [Float], hash: String, cached: Bool) -> EmbeddingOutput {
      EmbeddingOutput(modality: .image, vector: options.raw ? vector : l2Normalized(vector), cached: cached, truncated: false, contentHash: hash)
    }
    var results = [Result<EmbeddingOutput, InputError>?](repeating: nil, count: images.count)
    var missing: [Int] = []
    for (index, hash) in hashes.enumerated() {
      if !options.bypassCache, let entry = await cache?.get(key(hash)) {
        results[index] = .success(output(entry.vector, hash: hash, cached: true))
      } else {
        missing.append(index)
      }
    }
    // The request's new images are decoded side by side and reach the batcher as one group; images in flight for
    // another request are joined.
    let contents = Dictionary(missing.map { (hashes[$0], images[$0]) }) { first, _ in first }
    let computed = try await inFlight.run(missing.map { hashes[$0] }) { fresh in
      // Places in the queue are taken before decoding, so a refused request costs no decoding.
      let admission = try self.batcher.admit(fresh.count, deadline: call.deadline)
      defer { admission.release() }
      return Dictionary(uniqueKeysWithValues: zip(fresh, try await self.compute(fresh.map { contents[$0]! }, admission: admission)))
    }
    var stored: [(key: String, entry: VectorCache.Entry)] = []
    for index in missing {
      let hash = hashes[index]
      results[index] = computed[hash]!.map { vector in
        stored.append((key(hash), VectorCache.Entry(vector: vector, truncated: false)))
        return output(vector, hash: hash, cached: false)
      }
    }
    await cache?.put(stored)
    if options.previews {
      // Decoded again: cached images were never decoded here, and a computed one's pixels may belong to another
      // request's single flight. Previews are asked for on upsert, not on the embedding hot path.
      let decoder = decoder
      await attachPreviews(to: &results, from: images, mediaType: "image/jpeg") { data in
        (try? decoder.decode(data)).flatMap { Thumbnail.jpeg(of: $0) }
      }
    }
    return results.map { $0! }
  }

  private func key(_ hash: String) -> String {
    CacheKey.make(fingerprint: fingerprint, modality: .image, contentHash: hash)
  }

  /// Decodes and preprocesses every image on Dispatch workers, runs the decodable ones as one group, and maps
  /// classifier outputs through the head.
  private func compute(_ images: [Data], admission: Admission) async throws -> [Result<[Float], InputError>] {
    let (decoder, preprocessor) = (self.decoder, self.preprocessor)
    let decoded = await withTaskGroup(of: (Int, Result<[Float], InputError>).self) { group in
      for (index, data) in images.enumerated() {
        group.addTask {
          let pixels = await offload { () -> Result<[Float], InputError> in
            do throws(MediaDecodeError) {
              return .success(preprocessor.pixels(try decoder.decode(data)))
            } catch {
              return .failure(InputError(error.kind == .overLimit ? .resourceExhausted : .invalidArgument, "image: \(error.message)"))
            }
          }
          return (index, pixels)
        }
      }
      var decoded = [Result<[Float], InputError>?](repeating: nil, count: images.count)
      for await (index, pixels) in group { decoded[index] = pixels }
      return decoded.map { $0! }
    }
    let ready = decoded.indices.compactMap { index -> (Int, [Float])? in
      if case .success(let pixels) = decoded[index] { (index, pixels) } else { nil }
    }
    try Task.checkCancellation()
    let outputs = try await batcher.submit(ready.map(\.1), admission: admission)
    var results = decoded
    for ((index, _), output) in zip(ready, outputs) {
      results[index] = .success(try await head?.vector(logits: output) ?? output)
    }
    return results
  }

  /// One batch of one blank image straight through the encoder, and the head's class embeddings.
  func warmUp() async throws {
    _ = try await batcher.submit([[Float](repeating: 0, count: 3 * encoder.imageSize * encoder.imageSize)], admission: batcher.admit(1, deadline: nil, exempt: true))
    _ = try await head?.embeddings()
  }
}

/// Sets the preview of every input that got a vector, made from its bytes by `make` on Dispatch workers, side by
/// side (images and clips are decoded again for it).
func attachPreviews(
  to results: inout [Result<EmbeddingOutput, InputError>?], from inputs: [Data], mediaType: String, make: @escaping @Sendable (Data) -> Data?
) async {
  let made = await withTaskGroup(of: (Int, Data?).self) { group in
    for (index, result) in results.enumerated() {
      guard case .success = result else { continue }
      let data = inputs[index]
      group.addTask { (index, await offload { make(data) }) }
    }
    return await group.reduce(into: [Int: Data]()) { $0[$1.0] = $1.1 }
  }
  for (index, bytes) in made {
    if case .success(var output) = results[index] {
      output.preview = ItemPreview(mediaType: mediaType, data: bytes)
      results[index] = .success(output)
    }
  }
}

/// Runs CPU-heavy work (decoding, resizing) on a Dispatch worker: chorusd runs Swift concurrency on NIO's event
/// loops, which must never block for milliseconds.
func offload<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
  await withCheckedContinuation { continuation in
    DispatchQueue.global(qos: .userInitiated).async { continuation.resume(returning: work()) }
  }
}
