import Foundation

/// The opening of a clip as a small WAV (mono, 16 kHz, 16-bit PCM) that any browser plays: kept with collection
/// items so a page can play hits without the daemon reading a path a request names.
public enum AudioPreview {
  public static let seconds = 10.0
  public static let rate = 16_000

  /// nil when the bytes are not audio libsndfile reads.
  public static func wav(of data: Data) -> Data? {
    guard let reader = try? AudioReader(data, targetRate: rate, maxSeconds: .infinity), let samples = try? reader.read(Int(seconds) * rate) else { return nil }
    return wav(samples: samples, rate: rate)
  }

  static func wav(samples: [Float], rate: Int) -> Data {
    var out = Data(capacity: 44 + samples.count * 2)
    func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) } }
    out.append(contentsOf: Array("RIFF".utf8))
    put(UInt32(36 + samples.count * 2))
    out.append(contentsOf: Array("WAVEfmt ".utf8))
    put(UInt32(16))  // fmt chunk size
    put(UInt16(1))  // PCM
    put(UInt16(1))  // mono
    put(UInt32(rate))
    put(UInt32(rate * 2))  // bytes per second
    put(UInt16(2))  // block align
    put(UInt16(16))  // bits per sample
    out.append(contentsOf: Array("data".utf8))
    put(UInt32(samples.count * 2))
    for sample in samples { put(Int16((max(-1, min(1, sample)) * 32767).rounded())) }
    return out
  }
}
