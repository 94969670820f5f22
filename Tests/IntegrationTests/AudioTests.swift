import ChorusAPI
import Foundation
import GRPCCore
import XCTest

/// Audio through the real daemon: a Hugging Face Whisper directory (tiny, random weights) served with `--model`,
/// real files of five formats, bad files answered one by one, long clips cut into windows, and the CLI.
final class AudioTests: XCTestCase {
  static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  static let whisper = tests.appendingPathComponent("EncodersTests/Fixtures/whisper-tiny-random").path
  static let ast = tests.appendingPathComponent("EncodersTests/Fixtures/ast-tiny-random").path
  static let audio = tests.appendingPathComponent("MediaTests/Fixtures/audio")
  var daemon: DaemonProcess!

  override func setUp() async throws {
    daemon = DaemonProcess(arguments: ["--model", "whisper=\(Self.whisper)", "--model", "ast=\(Self.ast)", "--max-audio-seconds", "60"])
    try await daemon.startServing()
  }

  override func tearDown() {
    daemon.stop()
  }

  func embed(_ clips: [Data], segments: Bool = false, space: String = "whisper") async throws -> Chorus_V1_EmbedResponse {
    try await daemon.withClient { client in
      try await Chorus_V1_EmbeddingService.Client(wrapping: client).embed(.with {
        $0.space = space
        $0.inputs = clips.map { data in .with { $0.audio = data } }
        $0.options.segments = segments
      })
    }
  }

  func testFilesEmbedLikeTheReferenceAndBadOnesFailAlone() async throws {
    let expected = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: Self.tests.appendingPathComponent("EncodersTests/Fixtures/whisper_expected.json"))) as? [String: Any])
    let names = ["speech.wav", "chord-stereo-44k.flac", "noise-48k.ogg", "speech.opus", "sweep.mp3"]
    let flac = try Data(contentsOf: Self.audio.appendingPathComponent("chord-stereo-44k.flac"))
    let bad = [Data(), Data("not audio, just words".utf8), flac.prefix(flac.count / 2)]
    let response = try await embed(try names.map { try Data(contentsOf: Self.audio.appendingPathComponent($0)) } + bad)
    XCTAssertEqual(response.results.count, names.count + bad.count)
    for (index, name) in names.enumerated() {
      let vector = response.results[index].embedding.vector
      let reference = try XCTUnwrap((expected[name] as? [String: Any])?["embedding"] as? [Double])
      let cosine = zip(vector, reference).reduce(0.0) { $0 + Double($1.0) * $1.1 }
      XCTAssertGreaterThanOrEqual(cosine, 0.9999, name)
      XCTAssertEqual(response.results[index].embedding.modality, .audio)
    }
    let errors = response.results.suffix(bad.count).map(\.error)
    XCTAssertEqual(errors.map(\.code), [3, 3, 3], "\(errors)")
    XCTAssertEqual(errors[0].message, "audio: the audio file is empty")
    XCTAssertTrue(errors[1].message.contains("supported: WAV, FLAC, Ogg Vorbis, Ogg Opus, MP3"), errors[1].message)
    // Still serving, and now from the cache.
    let again = try await embed([try Data(contentsOf: Self.audio.appendingPathComponent("speech.wav"))])
    XCTAssertTrue(again.results[0].embedding.cached)
  }

  func testASTDirectoryEmbedsFilesLikeTheReference() async throws {
    let expected = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: Self.tests.appendingPathComponent("EncodersTests/Fixtures/ast_expected.json"))) as? [String: Any])
    let names = ["speech.wav", "chord-stereo-44k.flac", "noise-48k.ogg", "speech.opus", "sweep.mp3"]
    let response = try await embed(try names.map { try Data(contentsOf: Self.audio.appendingPathComponent($0)) }, space: "ast")
    for (index, name) in names.enumerated() {
      let vector = response.results[index].embedding.vector
      let reference = try XCTUnwrap((expected[name] as? [String: Any])?["embedding"] as? [Double])
      let cosine = zip(vector, reference).reduce(0.0) { $0 + Double($1.0) * $1.1 }
      XCTAssertGreaterThanOrEqual(cosine, 0.9999, name)
    }
    let spaces = try await daemon.withClient { try await Chorus_V1_EmbeddingService.Client(wrapping: $0).listSpaces(.init()) }
    let ast = try XCTUnwrap(spaces.spaces.first { $0.name == "ast" })
    XCTAssertEqual(ast.encoders.map(\.modality), [.audio])
    XCTAssertEqual(ast.encoders[0].architecture, "audio_spectrogram_transformer")
    XCTAssertEqual(ast.dimension, 32)
  }

  func testLongClipsAreCutIntoWindowsAndOverlongOnesRefused() async throws {
    let speech = try Data(contentsOf: Self.audio.appendingPathComponent("speech.wav.samples.f32")).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    func clip(seconds: Int) -> Data {
      var samples: [Float] = []
      while samples.count < seconds * 16000 { samples += speech }
      return Self.floatWAV(Array(samples.prefix(seconds * 16000)))
    }
    let response = try await embed([clip(seconds: 45), clip(seconds: 70)], segments: true)
    let segments = response.results[0].embedding.segments
    XCTAssertEqual(segments.map(\.startSeconds), [0, 25])
    XCTAssertEqual(segments.map(\.endSeconds), [30, 45])
    XCTAssertEqual(segments.map(\.vector.count), [64, 64])
    XCTAssertEqual(response.results[0].embedding.vector.count, 64)
    XCTAssertEqual(response.results[1].error.code, 8)
    XCTAssertTrue(response.results[1].error.message.contains("over the limit of 60 s (max_audio_seconds)"), response.results[1].error.message)
  }

  /// A one-hour file (16-bit WAV, 115 MB) read by the daemon itself: 144 windows, and the daemon's peak memory
  /// grows by less than the file plus the hour's float samples (345 MB) would take.
  func testOneHourFileIsEmbeddedInWindowsWithBoundedMemory() async throws {
    daemon.stop()
    daemon = DaemonProcess(arguments: ["--model", "whisper=\(Self.whisper)", "--max-audio-seconds", "4000", "--max-file-bytes", "200000000"])
    try await daemon.startServing()
    let path = NSTemporaryDirectory() + "hour-\(UUID().uuidString.prefix(6)).wav"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let seconds = 3600, rate = 16000
    let speech = try Data(contentsOf: Self.audio.appendingPathComponent("speech.wav.samples.f32")).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    var pcm = [Int16](repeating: 0, count: seconds * rate)
    for i in pcm.indices { pcm[i] = Int16(speech[i % speech.count] * 32000) }
    var file = Self.wavHeader(frames: pcm.count)
    pcm.withUnsafeBytes { file.append(contentsOf: $0) }
    try file.write(to: URL(fileURLWithPath: path))
    file = Data()
    pcm = []
    let before = Self.peakResidentBytes(daemon.process.processIdentifier)
    let response = try await daemon.withClient { client in
      try await Chorus_V1_EmbeddingService.Client(wrapping: client).embed(.with {
        $0.space = "whisper"
        $0.inputs = [.with { $0.file = .with { $0.path = path } }]
        $0.options.segments = true
      })
    }
    let growth = Self.peakResidentBytes(daemon.process.processIdentifier) - before
    let segments = response.results[0].embedding.segments
    XCTAssertEqual(segments.count, 144, response.results[0].error.message)  // windows every 25 s
    XCTAssertEqual(segments.last?.endSeconds, 3600)
    print("one hour: \(segments.count) windows, daemon peak resident growth \(growth >> 20) MiB")
    // The file's bytes (115 MB) and eight windows at a time, with allocator slack: measured 248 MiB. Holding the
    // hour as float samples would add 230 MB on top of the file, well over this bound.
    XCTAssertLessThan(growth, 300 << 20, "the daemon must not hold the hour's samples at once")
  }

  static func peakResidentBytes(_ pid: Int32) -> Int {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
  }

  static func wavHeader(frames: Int) -> Data {
    var data = Data()
    func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { data.append(contentsOf: $0) } }
    func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { data.append(contentsOf: $0) } }
    data.append(contentsOf: Array("RIFF".utf8)); u32(36 + frames * 2); data.append(contentsOf: Array("WAVE".utf8))
    data.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(1); u16(1); u32(16000); u32(32000); u16(2); u16(16)
    data.append(contentsOf: Array("data".utf8)); u32(frames * 2)
    return data
  }

  func testCLIEmbedsAudioWithSegments() throws {
    let file = Self.audio.appendingPathComponent("speech.wav").path
    let result = try daemon.cli(["embed", "--space", "whisper", "--audio", file, "--segments", "--json"])
    XCTAssertEqual(result.status, 0, result.stderr)
    let line = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    XCTAssertEqual(line["modality"] as? String, "audio")
    XCTAssertEqual((line["vector"] as? [Double])?.count, 64)
    XCTAssertEqual((line["segments"] as? [[String: Any]])?.count, 1)
  }

  static func floatWAV(_ samples: [Float]) -> Data {
    var data = Data()
    func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { data.append(contentsOf: $0) } }
    func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { data.append(contentsOf: $0) } }
    data.append(contentsOf: Array("RIFF".utf8)); u32(36 + samples.count * 4); data.append(contentsOf: Array("WAVE".utf8))
    data.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(3); u16(1); u32(16000); u32(64000); u16(4); u16(32)
    data.append(contentsOf: Array("data".utf8)); u32(samples.count * 4)
    samples.withUnsafeBytes { data.append(contentsOf: $0) }
    return data
  }
}
