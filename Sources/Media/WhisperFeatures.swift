import CBLAS
import CFFTW
import Foundation
import Synchronization

/// Whisper's log-mel spectrogram (`WhisperFeatureExtractor`): the clip zero-padded or cut to `chunkLength`
/// seconds, a periodic Hann window of n_fft samples every `hop` samples with reflect padding at both ends (STFT
/// centre=True), power spectrum, mel filters (slaney), log10 with a 1e-10 floor, the last frame dropped, values
/// raised to at least (max − 8), then (x + 4) / 4. Output: [melBins, frames] row-major, frames = samples / hop.
public struct WhisperFeatureExtractor: Sendable {
  public let melBins: Int
  public let fftSize: Int
  public let hop: Int
  public let samplingRate: Int
  /// Samples per window (30 s at 16 kHz for every Whisper).
  public let windowSamples: Int
  let filters: [Float]  // [melBins, fftSize / 2 + 1]
  let window: [Float]

  public init(melBins: Int = 80, fftSize: Int = 400, hop: Int = 160, samplingRate: Int = 16000, chunkLengthSeconds: Int = 30) {
    self.melBins = melBins
    self.fftSize = fftSize
    self.hop = hop
    self.samplingRate = samplingRate
    windowSamples = chunkLengthSeconds * samplingRate
    filters = MelFilterBank.filters(
      frequencyBins: fftSize / 2 + 1, melBins: melBins, minFrequency: 0, maxFrequency: 8000, samplingRate: samplingRate, scale: .slaney,
      slaneyNorm: true)
    window = (0..<fftSize).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(fftSize))) }
  }

  /// From a model directory's `preprocessor_config.json` (feature_size, n_fft, hop_length, sampling_rate,
  /// chunk_length).
  public init(configFile: URL) throws {
    guard let json = try JSONSerialization.jsonObject(with: Data(contentsOf: configFile)) as? [String: Any] else {
      throw MediaDecodeError(.invalid, "\(configFile.path) is not a JSON object")
    }
    func int(_ key: String, _ fallback: Int) -> Int { (json[key] as? NSNumber)?.intValue ?? fallback }
    self.init(
      melBins: int("feature_size", 80), fftSize: int("n_fft", 400), hop: int("hop_length", 160), samplingRate: int("sampling_rate", 16000),
      chunkLengthSeconds: int("chunk_length", 30))
  }

  public var frames: Int { windowSamples / hop }

  public func features(_ samples: ArraySlice<Float>) -> [Float] {
    let bins = fftSize / 2 + 1, frames = self.frames
    // The clip padded with zeros to the window.
    let power = CentredSTFT.power(length: windowSamples, fftSize: fftSize, hop: hop, frames: frames, window: window) { target in
      _ = target.update(fromContentsOf: samples.prefix(windowSamples))
    }
    // mel[m, t] = Σₖ filters[m, k]·power[t, k]: one GEMM.
    var mel = [Float](repeating: 0, count: melBins * frames)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(melBins), Int32(frames), Int32(bins), 1, filters, Int32(bins), power, Int32(bins), 0, &mel, Int32(frames))
    var peak = -Float.infinity
    for i in mel.indices {
      mel[i] = log10(max(mel[i], 1e-10))
      peak = max(peak, mel[i])
    }
    for i in mel.indices { mel[i] = (max(mel[i], peak - 8) + 4) / 4 }
    return mel
  }
}

/// FFTW plans are made once per size (planning is not thread-safe; executing a plan on new arrays is).
enum FFTPlans {
  private static let plans = Mutex<[Int: OpaquePointer]>([:])

  static func realForward(_ size: Int) -> OpaquePointer {
    plans.withLock { plans in
      if let plan = plans[size] { return plan }
      let input = fftwf_alloc_real(size), output = fftwf_alloc_complex(size / 2 + 1)
      defer {
        fftwf_free(input)
        fftwf_free(output)
      }
      let plan = fftwf_plan_dft_r2c_1d(Int32(size), input, output, UInt32(FFTW_ESTIMATE | FFTW_UNALIGNED))!
      plans[size] = plan
      return plan
    }
  }
}
