import CBLAS
import CFFTW
import Foundation

/// The Kaldi-compatible log-mel filter bank of `ASTFeatureExtractor` (torchaudio's `kaldi.fbank` with its
/// defaults, or transformers' numpy equivalent): 25 ms frames every 10 ms without padding (snip_edges), each with
/// its mean removed, pre-emphasis 0.97, a symmetric Hann window, a 512-point FFT, power, 128 triangular filters
/// drawn in Kaldi's mel space from 20 Hz to Nyquist, natural log with float epsilon as the floor. Then cut or
/// zero-padded to `maxLength` frames and normalised as (x − mean) / (2·std). Output: [maxLength, melBins].
public struct KaldiFilterBank: AudioFrontEnd {
  public let melBins: Int
  public let maxLength: Int
  public let samplingRate: Int
  let mean: Float
  let std: Float
  let normalize: Bool
  let frameLength = 400
  let hop = 160
  let fftSize = 512
  let filters: [Float]  // [melBins, fftSize / 2 + 1]
  let window: [Float]

  public init(melBins: Int = 128, maxLength: Int = 1024, samplingRate: Int = 16000, mean: Float = -4.2677393, std: Float = 4.5689974, normalize: Bool = true) {
    self.melBins = melBins
    self.maxLength = maxLength
    self.samplingRate = samplingRate
    self.mean = mean
    self.std = std
    self.normalize = normalize
    filters = MelFilterBank.filters(
      frequencyBins: fftSize / 2 + 1, melBins: melBins, minFrequency: 20, maxFrequency: Double(samplingRate / 2), samplingRate: samplingRate,
      scale: .kaldi, slaneyNorm: false, inMelSpace: true)
    let length = 400
    window = (0..<length).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(length - 1))) }
  }

  public init(configFile: URL) throws {
    guard let json = try JSONSerialization.jsonObject(with: Data(contentsOf: configFile)) as? [String: Any] else {
      throw MediaDecodeError(.invalid, "\(configFile.path) is not a JSON object")
    }
    func number(_ key: String) -> NSNumber? { json[key] as? NSNumber }
    self.init(
      melBins: number("num_mel_bins")?.intValue ?? 128, maxLength: number("max_length")?.intValue ?? 1024,
      samplingRate: number("sampling_rate")?.intValue ?? 16000, mean: number("mean")?.floatValue ?? -4.2677393,
      std: number("std")?.floatValue ?? 4.5689974, normalize: (json["do_normalize"] as? Bool) ?? true)
  }

  /// Samples that fill exactly `maxLength` frames.
  public var windowSamples: Int { frameLength + (maxLength - 1) * hop }
  public var featureShape: [Int] { [maxLength, melBins] }

  public func features(_ samples: ArraySlice<Float>) -> [Float] {
    let bins = fftSize / 2 + 1
    let frames = samples.count < frameLength ? 0 : min(maxLength, 1 + (samples.count - frameLength) / hop)
    var power = [Float](repeating: 0, count: max(frames, 1) * bins)
    let plan = FFTPlans.realForward(fftSize)
    var buffer = [Float](repeating: 0, count: fftSize)
    var spectrum = [fftwf_complex](repeating: (0, 0), count: bins)
    var frame = [Double](repeating: 0, count: frameLength)
    samples.withUnsafeBufferPointer { x in
      for t in 0..<frames {
        // In Double, as the reference's numpy path, then rounded once.
        var sum = 0.0
        for j in 0..<frameLength {
          frame[j] = Double(x[t * hop + j])
          sum += frame[j]
        }
        let dc = sum / Double(frameLength)
        for j in 0..<frameLength { frame[j] -= dc }
        for j in stride(from: frameLength - 1, to: 0, by: -1) { frame[j] -= 0.97 * frame[j - 1] }
        frame[0] *= 1 - 0.97
        for j in 0..<frameLength { buffer[j] = Float(frame[j] * Double(window[j])) }
        for j in frameLength..<fftSize { buffer[j] = 0 }
        fftwf_execute_dft_r2c(plan, &buffer, &spectrum)
        for k in 0..<bins { power[t * bins + k] = spectrum[k].0 * spectrum[k].0 + spectrum[k].1 * spectrum[k].1 }
      }
    }
    // out[t, m] = Σₖ power[t, k]·filters[m, k]: one GEMM; rows past the clip stay zero before normalising.
    var out = [Float](repeating: 0, count: maxLength * melBins)
    if frames > 0 {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(frames), Int32(melBins), Int32(bins), 1, power, Int32(bins), filters, Int32(bins), 0, &out, Int32(melBins))
      for i in 0..<frames * melBins { out[i] = log(max(out[i], Float.ulpOfOne)) }
    }
    if normalize {
      let scale = 1 / (2 * std)
      for i in out.indices { out[i] = (out[i] - mean) * scale }
    }
    return out
  }
}
