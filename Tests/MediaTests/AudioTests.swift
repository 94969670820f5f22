import Foundation
import XCTest

@testable import Media

/// Audio decoding, resampling and Whisper's log-mel against the reference (Fixtures/generate_audio_fixtures.py:
/// soundfile + channel mean + soxr HQ, then WhisperFeatureExtractor), and bad input.
final class AudioTests: XCTestCase {
  static let audio = MediaFixtures.directory.appendingPathComponent("audio")

  func floats(_ name: String) throws -> [Float] {
    let data = try Data(contentsOf: Self.audio.appendingPathComponent(name))
    return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
  }

  func testEveryFormatDecodesAndResamplesAsTheReference() throws {
    let meta = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: Self.audio.appendingPathComponent("meta.json"))) as? [String: [String: Int]])
    XCTAssertEqual(Set(meta.keys), ["speech.wav", "chord-stereo-44k.flac", "noise-48k.ogg", "speech.opus", "sweep.mp3"])
    for (name, facts) in meta.sorted(by: { $0.key < $1.key }) {
      let reader = try AudioReader(Data(contentsOf: Self.audio.appendingPathComponent(name)), targetRate: 16000, maxSeconds: 60)
      XCTAssertEqual(reader.sourceRate, facts["source_rate"], name)
      XCTAssertEqual(reader.channels, facts["channels"], name)
      let samples = try reader.readAll()
      let reference = try floats(name + ".samples.f32")
      XCTAssertEqual(samples.count, reference.count, name)
      var worst: Float = 0
      for (a, b) in zip(samples, reference) { worst = max(worst, abs(a - b)) }
      print("\(name): \(samples.count) samples, max abs difference to the reference \(worst)")
      // Same libraries (libsndfile, libsoxr); lossy decoders may differ in the last bits between builds.
      XCTAssertLessThan(worst, name.hasSuffix(".wav") || name.hasSuffix(".flac") ? 1e-5 : 2e-3, name)
    }
  }

  func testStreamingReadsEqualOneRead() throws {
    let data = try Data(contentsOf: Self.audio.appendingPathComponent("chord-stereo-44k.flac"))
    let whole = try AudioReader(data, targetRate: 16000, maxSeconds: 60).readAll()
    let reader = try AudioReader(data, targetRate: 16000, maxSeconds: 60)
    var pieces: [Float] = []
    while true {
      let piece = try reader.read(777)
      if piece.isEmpty { break }
      pieces += piece
    }
    XCTAssertEqual(pieces, whole)
  }

  /// Twenty minutes of 44.1 kHz stereo FLAC read a 30-second window at a time: the reader never holds more than
  /// one window plus one decoded chunk of resampled samples, however long the clip.
  func testLongClipsStreamWithinOneWindow() throws {
    let path = NSTemporaryDirectory() + "long-\(UUID().uuidString.prefix(6)).flac"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let sox = Process()
    sox.executableURL = URL(fileURLWithPath: "/usr/bin/sox")
    sox.arguments = ["-n", "-r", "44100", "-c", "2", "-b", "16", path, "synth", "1200", "sine", "200-2000", "vol", "0.5"]
    try sox.run()
    sox.waitUntilExit()
    let reader = try AudioReader(Data(contentsOf: URL(fileURLWithPath: path)), targetRate: 16000, maxSeconds: 4000)
    var total = 0
    while true {
      let window = try reader.read(480_000)
      if window.isEmpty { break }
      total += window.count
    }
    XCTAssertEqual(total, 1200 * 16000)
    // One window plus what one 65,536-frame chunk at 44.1 kHz becomes at 16 kHz (and soxr's slack).
    XCTAssertLessThan(reader.peakBufferedSamples, 480_000 + 65_536 * 16_000 / 44_100 + 2048)
  }

  func testWhisperLogMelEqualsTheReference() throws {
    let extractor = WhisperFeatureExtractor()
    XCTAssertEqual(extractor.frames, 3000)
    for name in ["speech.wav", "chord-stereo-44k.flac", "noise-48k.ogg", "sweep.mp3"] {
      let samples = try floats(name + ".samples.f32")
      let features = extractor.features(samples[...])
      XCTAssertEqual(features.count, 80 * 3000)
      let reference = try floats(name + ".whisper100.f32")  // [80, 100]
      var worst: Float = 0
      for m in 0..<80 {
        for t in 0..<100 { worst = max(worst, abs(features[m * 3000 + t] - reference[m * 100 + t])) }
      }
      print("\(name): Whisper log-mel max abs difference \(worst)")
      XCTAssertLessThan(worst, 1e-3, name)
    }
  }

  func testKaldiFilterBankEqualsASTFeatureExtractor() throws {
    let bank = KaldiFilterBank()
    XCTAssertEqual(bank.featureShape, [1024, 128])
    for name in ["speech.wav", "chord-stereo-44k.flac", "noise-48k.ogg", "sweep.mp3"] {
      let samples = try floats(name + ".samples.f32")
      let features = bank.features(samples[...])
      let reference = try floats(name + ".ast50.f32")  // the first 50 frames, [50, 128]
      var worst: Float = 0
      for i in 0..<50 * 128 { worst = max(worst, abs(features[i] - reference[i])) }
      print("\(name): AST fbank max abs difference \(worst)")
      XCTAssertLessThan(worst, 1e-3, name)
      // Frames past the clip are the padding's normalised zeros.
      XCTAssertEqual(features[1023 * 128], (0 - -4.2677393) / (2 * 4.5689974), accuracy: 1e-6)
    }
  }

  func testBadAudioGetsClearErrors() throws {
    func refusal(_ data: Data, maxSeconds: Double = 60) -> MediaDecodeError? {
      do {
        _ = try AudioReader(data, targetRate: 16000, maxSeconds: maxSeconds).readAll()
        return nil
      } catch {
        return error
      }
    }
    let wav = try Data(contentsOf: Self.audio.appendingPathComponent("speech.wav"))
    XCTAssertEqual(refusal(Data())?.message, "the audio file is empty")
    // A header-only WAV: 44 bytes, no samples.
    let headerOnly = Self.wavHeader(rate: 16000, frames: 0)
    XCTAssertTrue(refusal(headerOnly)?.message.contains("no audio samples") ?? false, "\(String(describing: refusal(headerOnly)))")
    for rate in [0, 10_000_000] {
      let bad = Self.wavHeader(rate: rate, frames: 100) + Data(count: 200)
      let error = refusal(bad)
      XCTAssertEqual(error?.kind, .invalid, "\(rate) Hz")
      XCTAssertNotNil(error?.message, "\(rate) Hz")
      print("\(rate) Hz: \(error?.message ?? "")")
    }
    let flac = try Data(contentsOf: Self.audio.appendingPathComponent("chord-stereo-44k.flac"))
    let truncated = refusal(flac.prefix(flac.count / 2))
    XCTAssertEqual(truncated?.kind, .invalid)
    print("truncated FLAC: \(truncated?.message ?? "")")
    // NaN and infinity in a float WAV.
    var samples = [Float](repeating: 0.1, count: 1000)
    samples[500] = .nan
    XCTAssertTrue(refusal(Self.floatWAV(samples))?.message.contains("not a finite number") ?? false)
    samples[500] = .infinity
    XCTAssertTrue(refusal(Self.floatWAV(samples))?.message.contains("not a finite number") ?? false)
    let long = refusal(wav, maxSeconds: 1)
    XCTAssertEqual(long?.kind, .overLimit)
    XCTAssertTrue(long?.message.contains("max_audio_seconds") ?? false)
    let garbage = refusal(Data("this is not audio at all, just some text in a file".utf8))
    XCTAssertEqual(garbage?.kind, .invalid)
    XCTAssertTrue(garbage?.message.contains("WAV, FLAC, Ogg Vorbis, Ogg Opus, MP3") ?? false, "\(String(describing: garbage))")
  }

  /// Mutants of every fixture either decode or get an MediaDecodeError; nothing crashes, memory stays flat.
  func testMutatedAudioNeverCrashesOrLeaks() throws {
    let names = ["speech.wav", "chord-stereo-44k.flac", "noise-48k.ogg", "speech.opus", "sweep.mp3"]
    let seeds = try names.map { try Data(contentsOf: Self.audio.appendingPathComponent($0)) }
    var random = SplitMix64(seed: 5)
    var decoded = 0, refused = 0, resident = 0
    let deadline = Date().addingTimeInterval(25)
    for index in 0..<15_000 {
      if index == 100 { resident = DecoderFuzzTests.residentBytes() }
      if Date() > deadline { break }
      let mutant = DecoderFuzzTests.mutate(seeds[Int(random.next() % UInt64(seeds.count))], &random)
      do throws(MediaDecodeError) {
        let samples = try AudioReader(mutant, targetRate: 16000, maxSeconds: 30).readAll()
        XCTAssertTrue(samples.allSatisfy { $0.isFinite })
        decoded += 1
      } catch {
        XCTAssertFalse(error.message.isEmpty)
        refused += 1
      }
    }
    let growth = DecoderFuzzTests.residentBytes() - resident
    print("audio fuzz: \(decoded + refused) cases, \(decoded) decoded, \(refused) refused, resident growth \(growth >> 10) KiB")
    XCTAssertGreaterThan(decoded + refused, 500)
    XCTAssertGreaterThan(decoded, 20)
    XCTAssertGreaterThan(refused, 20)
    XCTAssertLessThan(growth, 64 << 20)
  }

  static func wavHeader(rate: Int, frames: Int, bitsPerSample: Int = 16, format: UInt16 = 1) -> Data {
    var data = Data()
    func u32(_ v: Int) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { data.append(contentsOf: $0) } }
    func u16(_ v: Int) { withUnsafeBytes(of: UInt16(truncatingIfNeeded: v).littleEndian) { data.append(contentsOf: $0) } }
    let bytes = frames * bitsPerSample / 8
    data.append(contentsOf: Array("RIFF".utf8)); u32(36 + bytes); data.append(contentsOf: Array("WAVE".utf8))
    data.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(Int(format)); u16(1); u32(rate); u32(rate * bitsPerSample / 8); u16(bitsPerSample / 8); u16(bitsPerSample)
    data.append(contentsOf: Array("data".utf8)); u32(bytes)
    return data
  }

  static func floatWAV(_ samples: [Float]) -> Data {
    var data = wavHeader(rate: 16000, frames: samples.count, bitsPerSample: 32, format: 3)
    samples.withUnsafeBytes { data.append(contentsOf: $0) }
    return data
  }
}
