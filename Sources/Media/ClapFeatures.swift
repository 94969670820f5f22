import CBLAS
import CFFTW
import Foundation

/// CLAP's log-mel front end (`ClapFeatureExtractor`) for clips up to `max_length_s` (10 s): a shorter clip is
/// repeated whole as often as it fits and zero-padded (`repeatpad`); a periodic Hann window of `fft_window_size`
/// every `hop_length` samples with reflect padding (centre=True), power spectrum, mel filters, 10·log10 with a
/// 1e-10 floor. The filters follow `truncation`: "fusion" (the fused checkpoints) uses HTK-scale filters without
/// norm and repeats the mel four times (the global view and three "local" crops, the same spectrogram for a clip
/// that fits); "rand_trunc" uses Slaney's, one channel. Output: [channels, frames, mel] row-major, frames =
/// samples / hop + 1 (1001). Longer clips are cut into windows by the engine, so the reference's random crops of
/// long clips never happen here.
public struct ClapFeatureExtractor: AudioFrontEnd {
  public let melBins: Int
  public let fftSize: Int
  public let hop: Int
  public let samplingRate: Int
  public let windowSamples: Int
  /// Four for "fusion", one for "rand_trunc".
  public let channels: Int
  let filters: [Float]  // [melBins, fftSize / 2 + 1]
  let window: [Float]

  public var frames: Int { windowSamples / hop + 1 }
  public var featureShape: [Int] { [channels, frames, melBins] }

  public init(
    melBins: Int = 64, fftSize: Int = 1024, hop: Int = 480, samplingRate: Int = 48000, maxLengthSeconds: Int = 10, minFrequency: Double = 0,
    maxFrequency: Double = 14000, fusion: Bool = true
  ) {
    self.melBins = melBins
    self.fftSize = fftSize
    self.hop = hop
    self.samplingRate = samplingRate
    windowSamples = maxLengthSeconds * samplingRate
    channels = fusion ? 4 : 1
    filters = MelFilterBank.filters(
      frequencyBins: fftSize / 2 + 1, melBins: melBins, minFrequency: minFrequency, maxFrequency: maxFrequency, samplingRate: samplingRate,
      scale: fusion ? .htk : .slaney, slaneyNorm: !fusion)
    window = (0..<fftSize).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(fftSize))) }
  }

  /// From a model directory's `preprocessor_config.json`; settings it does not support are refused by name.
  public init(configFile: URL) throws {
    guard let json = try JSONSerialization.jsonObject(with: Data(contentsOf: configFile)) as? [String: Any] else {
      throw MediaDecodeError(.invalid, "\(configFile.path) is not a JSON object")
    }
    func number(_ key: String) -> NSNumber? { json[key] as? NSNumber }
    let truncation = json["truncation"] as? String ?? "fusion"
    guard ["fusion", "rand_trunc"].contains(truncation) else {
      throw MediaDecodeError(.invalid, "\(configFile.path): truncation '\(truncation)' is not supported (fusion, rand_trunc are)")
    }
    let padding = json["padding"] as? String ?? "repeatpad"
    guard padding == "repeatpad" else { throw MediaDecodeError(.invalid, "\(configFile.path): padding '\(padding)' is not supported (repeatpad is)") }
    guard json["top_db"] == nil || json["top_db"] is NSNull else { throw MediaDecodeError(.invalid, "\(configFile.path): top_db is not supported (null is)") }
    self.init(
      melBins: number("feature_size")?.intValue ?? 64, fftSize: number("fft_window_size")?.intValue ?? 1024, hop: number("hop_length")?.intValue ?? 480,
      samplingRate: number("sampling_rate")?.intValue ?? 48000, maxLengthSeconds: number("max_length_s")?.intValue ?? 10,
      minFrequency: number("frequency_min")?.doubleValue ?? 0, maxFrequency: number("frequency_max")?.doubleValue ?? 14000, fusion: truncation == "fusion")
  }

  /// A clip CLAP cannot describe: shorter than one FFT frame, or silent (repeating silence to 10 s gives a
  /// spectrogram of nothing but the floor).
  public func refusal(_ samples: ArraySlice<Float>) -> String? {
    if samples.count < fftSize {
      return "the clip is \(samples.count) samples at \(samplingRate) Hz, shorter than one \(fftSize)-sample FFT frame (\(fftSize * 1000 / samplingRate) ms)"
    }
    if samples.allSatisfy({ $0 == 0 }) { return "the clip is silent (every sample is 0): there is no sound to describe" }
    return nil
  }

  public func features(_ samples: ArraySlice<Float>) -> [Float] {
    let n = windowSamples, bins = fftSize / 2 + 1, frames = self.frames
    // repeatpad: the clip repeated whole as often as it fits (int(n / count)), then zeros.
    let clip = samples.prefix(n)
    let power = CentredSTFT.power(length: n, fftSize: fftSize, hop: hop, frames: frames, window: window) { target in
      guard !clip.isEmpty else { return }
      for r in 0..<max(1, n / clip.count) { _ = UnsafeMutableBufferPointer(rebasing: target[(r * clip.count)...]).update(fromContentsOf: clip) }
    }
    // mel[t, m] = Σₖ power[t, k]·filters[m, k]: one GEMM, time-major as the reference returns it.
    var mel = [Float](repeating: 0, count: frames * melBins)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(frames), Int32(melBins), Int32(bins), 1, power, Int32(bins), filters, Int32(bins), 0, &mel, Int32(melBins))
    for i in mel.indices { mel[i] = 10 * log10(max(mel[i], 1e-10)) }
    guard channels > 1 else { return mel }
    return Array([[Float]](repeating: mel, count: channels).joined())
  }
}
