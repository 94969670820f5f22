import CFFTW

/// The power spectrogram of a centred STFT, as transformers' `spectrogram` and `torch.stft(center=True)` take it:
/// the window's `length` samples reflected by fftSize/2 at both ends, a windowed real FFT every `hop` samples,
/// |X|² per bin. Returns [frames, fftSize/2 + 1], time-major. `fill` writes the window's samples (zeros are there
/// already: a front end fills as much as it pads).
enum CentredSTFT {
  static func power(
    length: Int, fftSize: Int, hop: Int, frames: Int, window: [Float], fill: (UnsafeMutableBufferPointer<Float>) -> Void
  ) -> [Float] {
    let half = fftSize / 2, bins = fftSize / 2 + 1
    var padded = [Float](repeating: 0, count: length + fftSize)
    padded.withUnsafeMutableBufferPointer { p in
      fill(UnsafeMutableBufferPointer(rebasing: p[half..<half + length]))
      for i in 0..<half {
        p[half - 1 - i] = p[half + 1 + i]
        p[half + length + i] = p[half + length - 2 - i]
      }
    }
    var power = [Float](repeating: 0, count: frames * bins)
    let plan = FFTPlans.realForward(fftSize)
    var frame = [Float](repeating: 0, count: fftSize)
    var spectrum = [fftwf_complex](repeating: (0, 0), count: bins)
    for t in 0..<frames {
      for j in 0..<fftSize { frame[j] = padded[t * hop + j] * window[j] }
      fftwf_execute_dft_r2c(plan, &frame, &spectrum)
      for k in 0..<bins { power[t * bins + k] = spectrum[k].0 * spectrum[k].0 + spectrum[k].1 * spectrum[k].1 }
    }
    return power
  }
}
