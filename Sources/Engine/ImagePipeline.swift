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
    batcher = Batcher(label: "\(label).image", maxBatchSize: configuration.maxBatchSize, maxWaitMicroseconds: configuration.maxBatchWaitMicroseconds) {
      batch in
      // All images of the batch in one tensor, so every layer runs as one GEMM over all their patches.
      let pixels = Tensor(zeros: [batch.count, 3, side, side])
      for (index, image) in batch.enumerated() {
        image.withUnsafeBufferPointer { (pixels.data + index * image.count).update(from: $0.baseAddress!, count: image.count) }
      }
      return encoder.embed(pixels: pixels)
    }
  }

  /// Embeds encoded images together (one batch where they fit), each with its own result.
  func embed(_ images: [Data], options: EmbedOptions) async -> [Result<EmbeddingOutput, InputError>] {
    await withTaskGroup(of: (Int, Result<EmbeddingOutput, InputError>).self) { group in
      for (index, data) in images.enumerated() {
        group.addTask { (index, await self.embed(data, options: options)) }
      }
      var results = [Result<EmbeddingOutput, InputError>?](repeating: nil, count: images.count)
      for await (index, result) in group { results[index] = result }
      return results.map { $0! }
    }
  }

  private func embed(_ data: Data, options: EmbedOptions) async -> Result<EmbeddingOutput, InputError> {
    let hash = SHA256Hasher.hexDigest(of: data)
    let key = CacheKey.make(fingerprint: fingerprint, modality: .image, contentHash: hash)
    func output(_ vector: [Float], cached: Bool) -> EmbeddingOutput {
      EmbeddingOutput(modality: .image, vector: options.raw ? vector : l2Normalized(vector), cached: cached, truncated: false, contentHash: hash)
    }
    if !options.bypassCache, let entry = cache?.get(key) { return .success(output(entry.vector, cached: true)) }
    let computed = await inFlight.run(hash) { await self.compute(data) }
    return computed.map { vector in
      cache?.put([(key, VectorCache.Entry(vector: vector, truncated: false))])
      return output(vector, cached: false)
    }
  }

  private func compute(_ data: Data) async -> Result<[Float], InputError> {
    let pixels = await offload { [decoder, preprocessor] () -> Result<[Float], InputError> in
      do throws(ImageDecodeError) {
        return .success(preprocessor.pixels(try decoder.decode(data)))
      } catch {
        return .failure(InputError(error.kind == .tooLarge ? .resourceExhausted : .invalidArgument, "image: \(error.message)"))
      }
    }
    switch pixels {
    case .success(let pixels):
      let output = await batcher.submit(pixels)
      return .success(await head?.vector(logits: output) ?? output)
    case .failure(let error): return .failure(error)
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
