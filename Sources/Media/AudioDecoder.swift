import CAudio
import CSoxr
import Foundation

/// Encoded audio → mono float samples at the model's rate, read a piece at a time: libsndfile decodes (WAV, FLAC,
/// Ogg Vorbis/Opus, MP3, …), channels are averaged, libsoxr resamples (HQ, as librosa's default `soxr_hq`).
/// A long file is never held whole as float samples: `read` hands out what the caller asks for.
public final class AudioReader {
  public static let supportedFormats = "WAV, FLAC, Ogg Vorbis, Ogg Opus, MP3 (and the other formats libsndfile reads: AIFF, AU, CAF, W64, …)"
  /// Highest sample rate accepted from a header (libsndfile's own formats go to 655 kHz; 768 kHz is the top of
  /// real converters).
  public static let maxSourceRate = 768_000

  private let data: Data
  private var handle: OpaquePointer?
  private var resampler: soxr_t?
  public let sourceRate: Int
  public let channels: Int
  public let targetRate: Int
  public let formatName: String
  private let maxSeconds: Double
  private var sourceFramesRead = 0
  private var finished = false
  private var pending: [Float] = []
  /// Most resampled samples held at once (the streaming bound tests check).
  public private(set) var peakBufferedSamples = 0
  private var chunk: [Float]
  private var scratch: [Float]
  private static let chunkFrames = 65_536
  /// SF_FORMAT_FLAC (lossless formats whose headers give the exact length; WAV's is corrected by libsndfile).
  private static let exactLengthFormats: Set<Int32> = [0x170000]

  /// Opens the bytes; throws for anything unreadable, a sample rate outside 1 Hz–768 kHz, or a header stating a
  /// duration over `maxSeconds`.
  public init(_ data: Data, targetRate: Int, maxSeconds: Double) throws(MediaDecodeError) {
    guard !data.isEmpty else { throw MediaDecodeError(.invalid, "the audio file is empty") }
    self.data = data
    self.targetRate = targetRate
    self.maxSeconds = maxSeconds
    var error = [CChar](repeating: 0, count: 256)
    let opened = data.withUnsafeBytes { chorus_audio_open($0.baseAddress, $0.count, &error, error.count) }
    guard let opened else {
      throw MediaDecodeError(.invalid, "cannot read the audio (\(Self.text(error))); supported: \(Self.supportedFormats)")
    }
    handle = opened
    sourceRate = Int(chorus_audio_sample_rate(opened))
    channels = Int(chorus_audio_channels(opened))
    formatName = String(cString: chorus_audio_format_name(opened))
    chunk = []
    scratch = []
    guard (1...Self.maxSourceRate).contains(sourceRate) else {
      throw MediaDecodeError(.invalid, "the \(formatName) header states a sample rate of \(sourceRate) Hz; accepted: 1 Hz to \(Self.maxSourceRate) Hz")
    }
    guard (1...64).contains(channels) else { throw MediaDecodeError(.invalid, "the \(formatName) header states \(channels) channels") }
    let frames = Int(chorus_audio_frames(opened))
    if frames <= 0 { throw MediaDecodeError(.invalid, "the \(formatName) file holds no audio samples") }
    let seconds = Double(frames) / Double(sourceRate)
    if seconds > maxSeconds {
      throw MediaDecodeError(.overLimit, String(format: "the clip lasts %.1f s, over the limit of %.0f s (max_audio_seconds)", seconds, maxSeconds))
    }
    chunk = [Float](repeating: 0, count: Self.chunkFrames)
    scratch = [Float](repeating: 0, count: Self.chunkFrames * channels)
    if sourceRate != targetRate {
      var soxrError: soxr_error_t?
      var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
      var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
      resampler = soxr_create(Double(sourceRate), Double(targetRate), 1, &soxrError, &io, &quality, nil)
      if resampler == nil { throw MediaDecodeError(.invalid, "the resampler could not start: \(soxrError.map { String(cString: $0) } ?? "?")") }
    }
  }

  deinit {
    chorus_audio_close(handle)
    if let resampler { soxr_delete(resampler) }
  }

  /// Seconds of audio the header states.
  public var statedSeconds: Double { Double(chorus_audio_frames(handle)) / Double(sourceRate) }

  /// Up to `count` samples at the target rate; fewer only at the end of the clip (empty once it is over).
  public func read(_ count: Int) throws(MediaDecodeError) -> [Float] {
    while pending.count < count && !finished { try decodeMore() }
    peakBufferedSamples = max(peakBufferedSamples, pending.count)
    let taken = Array(pending.prefix(count))
    pending.removeFirst(taken.count)
    return taken
  }

  /// The whole clip (bounded by the duration limit).
  public func readAll() throws(MediaDecodeError) -> [Float] {
    while !finished { try decodeMore() }
    defer { pending = [] }
    return pending
  }

  private func decodeMore() throws(MediaDecodeError) {
    var error = [CChar](repeating: 0, count: 256)
    // Data's bytes have a stable address only inside withUnsafeBytes: the handle is pointed at them for each read.
    let got = data.withUnsafeBytes { bytes in
      chorus_audio_rebind(handle, bytes.baseAddress)
      return Int(chorus_audio_read_mono(handle, &chunk, Int64(Self.chunkFrames), &scratch, &error, error.count))
    }
    if got < 0 { throw MediaDecodeError(.invalid, "the \(formatName) data is damaged: \(Self.text(error))") }
    sourceFramesRead += got
    if Double(sourceFramesRead) / Double(sourceRate) > maxSeconds {
      throw MediaDecodeError(.overLimit, String(format: "the clip lasts over %.0f s, the limit (max_audio_seconds)", maxSeconds))
    }
    for i in 0..<got where !chunk[i].isFinite {
      throw MediaDecodeError(.invalid, String(format: "sample %d (%.3f s) is not a finite number", sourceFramesRead - got + i, Double(sourceFramesRead - got + i) / Double(sourceRate)))
    }
    if got == 0 {
      finished = true
      if sourceFramesRead == 0 { throw MediaDecodeError(.invalid, "the \(formatName) file holds no audio samples") }
      // Lossless formats state their length exactly; coming up short means the file was cut (MP3 and Ogg only
      // estimate it).
      let stated = Int(chorus_audio_frames(handle))
      if Self.exactLengthFormats.contains(chorus_audio_format(handle)), sourceFramesRead < stated {
        throw MediaDecodeError(.invalid, "the \(formatName) file is truncated: its header states \(stated) frames, \(sourceFramesRead) could be decoded")
      }
    }
    guard let resampler else {
      pending.append(contentsOf: chunk[0..<got])
      return
    }
    // Feed the chunk (or, at the end, nothing: soxr then flushes what it holds back).
    let room = got * targetRate / sourceRate + 1024
    var out = [Float](repeating: 0, count: room)
    var consumed = 0
    repeat {
      var inputDone = 0, outputDone = 0
      let status = chunk.withUnsafeBufferPointer { input in
        out.withUnsafeMutableBufferPointer { output in
          got == 0
            ? soxr_process(resampler, nil, 0, nil, output.baseAddress, room, &outputDone)
            : soxr_process(resampler, input.baseAddress! + consumed, got - consumed, &inputDone, output.baseAddress, room, &outputDone)
        }
      }
      if let status { throw MediaDecodeError(.invalid, "resampling failed: \(String(cString: status))") }
      consumed += inputDone
      pending.append(contentsOf: out[0..<outputDone])
      if got == 0 && outputDone == 0 { break }
    } while consumed < got || got == 0
  }

  private static func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
