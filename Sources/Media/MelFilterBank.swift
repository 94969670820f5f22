import Foundation

/// Triangular mel filters as transformers' `audio_utils.mel_filter_bank` builds them (Whisper: slaney scale and
/// slaney area normalisation), computed in Double as numpy does. Row-major [melBins, frequencyBins].
public enum MelFilterBank {
  public enum Scale: Sendable { case slaney, htk, kaldi }

  static func hertzToMel(_ f: Double, _ scale: Scale) -> Double {
    switch scale {
    case .htk: return 2595 * log10(1 + f / 700)
    case .kaldi: return 1127 * log(1 + f / 700)
    case .slaney:
      // Linear below 1 kHz, logarithmic above.
      let minLogHertz = 1000.0, minLogMel = 15.0, logStep = 27 / log(6.4)
      return f >= minLogHertz ? minLogMel + log(f / minLogHertz) * logStep : 3 * f / 200
    }
  }

  static func melToHertz(_ m: Double, _ scale: Scale) -> Double {
    switch scale {
    case .htk: return 700 * (pow(10, m / 2595) - 1)
    case .kaldi: return 700 * (exp(m / 1127) - 1)
    case .slaney:
      let minLogHertz = 1000.0, minLogMel = 15.0, logStep = log(6.4) / 27
      return m >= minLogMel ? minLogHertz * exp(logStep * (m - minLogMel)) : 200 * m / 3
    }
  }

  /// `inMelSpace`: the triangles are drawn over mel values of the FFT bins (Kaldi's fbank, AST) instead of hertz.
  public static func filters(
    frequencyBins: Int, melBins: Int, minFrequency: Double, maxFrequency: Double, samplingRate: Int, scale: Scale, slaneyNorm: Bool,
    inMelSpace: Bool = false
  ) -> [Float] {
    let melMin = hertzToMel(minFrequency, scale), melMax = hertzToMel(maxFrequency, scale)
    let melEdges = (0..<melBins + 2).map { melMin + (melMax - melMin) * Double($0) / Double(melBins + 1) }
    let edges = inMelSpace ? melEdges : melEdges.map { melToHertz($0, scale) }
    let fftFrequencies: [Double]
    if inMelSpace {
      let binWidth = Double(samplingRate) / Double((frequencyBins - 1) * 2)
      fftFrequencies = (0..<frequencyBins).map { hertzToMel(binWidth * Double($0), scale) }
    } else {
      // numpy.linspace(0, sampling_rate // 2, frequency_bins)
      let nyquist = Double(samplingRate / 2)
      fftFrequencies = (0..<frequencyBins).map { nyquist * Double($0) / Double(frequencyBins - 1) }
    }
    var out = [Float](repeating: 0, count: melBins * frequencyBins)
    for m in 0..<melBins {
      let lower = edges[m], centre = edges[m + 1], upper = edges[m + 2]
      let norm = slaneyNorm ? 2 / (upper - lower) : 1
      for (k, f) in fftFrequencies.enumerated() {
        let down = (f - lower) / (centre - lower), up = (upper - f) / (upper - centre)
        out[m * frequencyBins + k] = Float(max(0, min(down, up)) * norm)
      }
    }
    return out
  }
}
