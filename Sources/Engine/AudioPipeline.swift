import Encoders
import Foundation
import Hashing
import Media
import Store
import Tensor

/// Audio bytes → vector for one encoder: cache, decode and resample (off the event loops), cut into windows,
/// features, batch, pool, normalise.
///
/// A clip longer than the model's window (30 s for Whisper) is cut into windows overlapping by
/// `audioWindowOverlapSeconds`; the clip's vector is the mean of the window vectors weighted by the new audio
/// each brings, then normalised. Windows are decoded, featurised and encoded a batch at a time, so a long file
/// is never held whole as samples or features.
final class AudioPipeline: Sendable {
  let encoder: any AudioEncoder
  let fingerprint: String
  private let features: any AudioFrontEnd
  private let batcher: Batcher<AudioWindow, [Float]>
  private let cache: VectorCache?
  private let inFlight = SingleFlight<Result<AudioResult, InputError>>()
  private let maxSeconds: Double
  private let overlapSamples: Int
  private let windowsPerStep: Int

  struct AudioWindow: Sendable {
    var features: [Float]
    var samples: Int
  }

  struct AudioResult: Sendable {
    var vector: [Float]
    var segments: [AudioSegment]
  }

  /// The dimension of the vectors it returns (the projection's, when the model has one).
  let dimension: Int

  /// Inputs admitted to this encoder's queue and not yet started.
  var queuedInputs: Int { batcher.queuedInputs }

  /// `projection`: a trained head into another space (the starter's text space), applied to every window.
  init(
    encoder: any AudioEncoder, projection: ProjectionHead? = nil, features: any AudioFrontEnd, modelFingerprint: String, label: String,
    configuration: EngineConfiguration, cache: VectorCache?
  ) {
    self.encoder = encoder
    dimension = projection?.outputDimension ?? encoder.dimension
    self.features = features
    self.cache = cache
    maxSeconds = configuration.maxAudioSeconds
    overlapSamples = min(features.windowSamples / 2, Int(configuration.audioWindowOverlapSeconds * Double(features.samplingRate)))
    // Eight 30-second windows are 12,000 tokens per GEMM for Whisper: enough to keep BLAS busy, and a long clip
    // then holds at most eight windows of samples and features at a time.
    windowsPerStep = max(1, min(8, configuration.maxBatchSize))
    var hasher = SHA256Hasher()
    hasher.update("\(modelFingerprint)\naudio soxr_hq mono-mean overlap=\(overlapSamples)\n")
    fingerprint = hasher.hexDigest()
    batcher = Batcher(
      space: label, modality: .audio, maxBatchSize: configuration.maxBatchSize, maxWaitMicroseconds: configuration.maxBatchWaitMicroseconds,
      maxQueued: configuration.maxQueuedInputs
    ) {
      batch in
      let vectors = encoder.embed(features: batch.map(\.features), samples: batch.map(\.samples))
      return projection?.apply(vectors) ?? vectors
    }
  }

  var maxInputSeconds: Double { Double(features.windowSamples) / Double(features.samplingRate) }

  /// Embeds clips, each with its own result. Throws when the queue refuses the request (each clip takes one
  /// place before it is decoded) or the caller leaves (checked between windows, so a long clip stops early).
  func embed(_ clips: [Data], options: EmbedOptions, call: CallContext = CallContext()) async throws -> [Result<EmbeddingOutput, InputError>] {
    let hashes = clips.map { SHA256Hasher.hexDigest(of: $0) }
    func output(_ result: AudioResult, hash: String, cached: Bool) -> EmbeddingOutput {
      var segments = options.segments ? result.segments : []
      if !options.raw { for i in segments.indices { segments[i].vector = l2Normalized(segments[i].vector) } }
      return EmbeddingOutput(
        modality: .audio, vector: options.raw ? result.vector : l2Normalized(result.vector), cached: cached, truncated: false, contentHash: hash,
        segments: segments)
    }
    var results = [Result<EmbeddingOutput, InputError>?](repeating: nil, count: clips.count)
    var missing: [Int] = []
    for (index, hash) in hashes.enumerated() {
      // The cache holds the pooled vector; per-window vectors are computed when asked for.
      if !options.bypassCache, !options.segments, let entry = await cache?.get(key(hash)) {
        results[index] = .success(output(AudioResult(vector: entry.vector, segments: []), hash: hash, cached: true))
      } else {
        missing.append(index)
      }
    }
    let contents = Dictionary(missing.map { (hashes[$0], clips[$0]) }) { first, _ in first }
    let computed = try await inFlight.run(missing.map { hashes[$0] }) { fresh in
      let admission = try self.batcher.admit(fresh.count, deadline: call.deadline)
      defer { admission.release() }
      return try await withThrowingTaskGroup(of: (String, Result<AudioResult, InputError>).self) { group in
        for hash in fresh { group.addTask { (hash, try await self.compute(contents[hash]!, admission: admission)) } }
        return try await group.reduce(into: [String: Result<AudioResult, InputError>]()) { $0[$1.0] = $1.1 }
      }
    }
    var stored: [(key: String, entry: VectorCache.Entry)] = []
    for index in missing {
      let hash = hashes[index]
      results[index] = computed[hash]!.map { result in
        stored.append((key(hash), VectorCache.Entry(vector: result.vector, truncated: false)))
        return output(result, hash: hash, cached: false)
      }
    }
    await cache?.put(stored)
    if options.previews { await attachPreviews(to: &results, from: clips, mediaType: "audio/wav", make: AudioPreview.wav(of:)) }
    return results.map { $0! }
  }

  private func key(_ hash: String) -> String {
    CacheKey.make(fingerprint: fingerprint, modality: .audio, contentHash: hash)
  }

  /// One clip: windows read, featurised (on Dispatch workers) and encoded a batch at a time.
  private func compute(_ data: Data, admission: Admission) async throws -> Result<AudioResult, InputError> {
    let features = self.features, window = features.windowSamples
    let rate = Double(features.samplingRate)
    let overlap = overlapSamples, maxSeconds = self.maxSeconds
    let opened = await offload { () -> Result<AudioWindows, InputError> in
      do throws(MediaDecodeError) {
        let reader = try AudioReader(data, targetRate: features.samplingRate, maxSeconds: maxSeconds)
        return .success(AudioWindows(reader: reader, window: window, overlap: overlap))
      } catch {
        return .failure(Self.inputError(error))
      }
    }
    let cutter: AudioWindows
    switch opened {
    case .success(let windows): cutter = windows
    case .failure(let error): return .failure(error)
    }
    var segments: [AudioSegment] = []
    var weights: [Double] = []
    while !cutter.finished {
      try Task.checkCancellation()
      let batchSize = windowsPerStep
      let next = await offload { () -> Result<[AudioWindows.Window], InputError> in
        do throws(MediaDecodeError) {
          return .success(try cutter.next(batchSize))
        } catch {
          return .failure(Self.inputError(error))
        }
      }
      let windows: [AudioWindows.Window]
      switch next {
      case .success(let read): windows = read
      case .failure(let error): return .failure(error)
      }
      if windows.isEmpty { break }
      // A clip that fits one window is the whole input: the front end may find it unusable (too short, silent).
      if segments.isEmpty, windows.count == 1, cutter.finished, let reason = features.refusal(windows[0].samples[...]) {
        return .failure(InputError(.invalidArgument, "audio: \(reason)"))
      }
      let inputs = await withTaskGroup(of: (Int, AudioWindow).self) { group in
        for (index, w) in windows.enumerated() {
          group.addTask { (index, await offload { AudioWindow(features: features.features(w.samples[...]), samples: w.samples.count) }) }
        }
        var inputs = [AudioWindow?](repeating: nil, count: windows.count)
        for await (index, input) in group { inputs[index] = input }
        return inputs.map { $0! }
      }
      // The clip's first windows take its place in the queue; later ones join without a limit (an admitted clip
      // is finished), after the cancellation check above.
      let vectors = try await batcher.submit(inputs, admission: admission)
      for (w, vector) in zip(windows, vectors) {
        segments.append(AudioSegment(startSeconds: Double(w.start) / rate, endSeconds: Double(w.start + w.samples.count) / rate, vector: vector))
        weights.append(Double(w.fresh))
      }
    }
    if segments.count == 1 { return .success(AudioResult(vector: segments[0].vector, segments: segments)) }
    // Each window counts by the new audio it brought (its first, whole; the others, past the overlap).
    var pooled = [Double](repeating: 0, count: dimension)
    let total = weights.reduce(0, +)
    for (segment, weight) in zip(segments, weights) {
      let normalised = l2Normalized(segment.vector)
      for i in pooled.indices { pooled[i] += Double(normalised[i]) * weight / total }
    }
    return .success(AudioResult(vector: pooled.map { Float($0) }, segments: segments))
  }

  /// One batch of one second of silence straight through the front end and the encoder.
  func warmUp() async throws {
    let silence = [Float](repeating: 0, count: features.samplingRate)
    let window = AudioWindow(features: features.features(silence[...]), samples: silence.count)
    _ = try await batcher.submit([window], admission: batcher.admit(1, deadline: nil, exempt: true))
  }

  private static func inputError(_ error: MediaDecodeError) -> InputError {
    InputError(error.kind == .overLimit ? .resourceExhausted : .invalidArgument, "audio: \(error.message)")
  }
}
