import Foundation
import SyntheticCheckpoints
import Media
import Tensor
import XCTest

@testable import Encoders

/// CLAP at the published shapes on synthetic weights vs transformers (Fixtures/generate_clap_fixtures.py):
/// clap-htsat-unfused (HTS-AT tiny, Slaney mels) and larger_clap_general (HTS-AT base with the fusion branch, HTK
/// mels). Text features, audio features from WAV/FLAC/Ogg/MP3 files at 16–48 kHz end to end (decode, 48 kHz,
/// ClapFeatureExtractor, HTS-AT), and zero-shot probabilities.
final class ClapParityTests: XCTestCase {
  static let fixtures = ArchitectureParityTests.fixtures
  static let audio = fixtures.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("MediaTests/Fixtures/audio")

  func assertParity(_ name: String, architecture: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let directory = try SyntheticCheckpoint.directory(for: Self.fixtures.appendingPathComponent(name))
    let expected = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("\(name).expected.json"))) as? [String: Any])
    let model = try ModelDirectory.load(directory.path)
    let text = try XCTUnwrap(model.text), audio = try XCTUnwrap(model.audio)
    XCTAssertEqual(text.architecture, "clap_text", file: file, line: line)
    XCTAssertEqual(audio.architecture, architecture, file: file, line: line)
    func check(_ ours: [[Float]], _ key: String) throws {
      let reference = try XCTUnwrap(expected[key] as? [[Double]]).map { $0.map(Float.init) }
      XCTAssertEqual(ours.count, reference.count, file: file, line: line)
      var worst: Float = 1
      for (index, (mine, theirs)) in zip(ours, reference).enumerated() {
        worst = min(worst, cosineSimilarity(mine, theirs))
        XCTAssertGreaterThanOrEqual(cosineSimilarity(mine, theirs), 0.99999, "\(name) \(key) \(index)", file: file, line: line)
        XCTAssertLessThanOrEqual(maxAbsDifference(l2Normalized(mine), theirs), 1e-4, "\(name) \(key) \(index)", file: file, line: line)
      }
      print("parity \(name) \(key): worst cosine \(String(format: "%.8f", worst))")
    }
    let texts = try XCTUnwrap(expected["texts"] as? [String])
    try check(text.embed(texts.map { text.tokenize($0).ids }), "text_vectors")

    let front = try ClapFeatureExtractor(configFile: model.directory.appendingPathComponent("preprocessor_config.json"))
    XCTAssertEqual(front.featureShape, audio.featureShape, file: file, line: line)
    let files = try XCTUnwrap(expected["files"] as? [String])
    let features = try files.map { name -> [Float] in
      let reader = try AudioReader(Data(contentsOf: Self.audio.appendingPathComponent(name)), targetRate: 48000, maxSeconds: 10)
      return front.features(try reader.read(480_000)[...])
    }
    let audioVectors = audio.embed(features: features, samples: features.map { _ in 0 })
    try check(audioVectors, "audio_vectors")

    let head = try XCTUnwrap(model.zeroShot)
    let template = try XCTUnwrap(expected["template"] as? String)
    let labels = try XCTUnwrap(expected["labels"] as? [String])
    let labelVectors = text.embed(labels.map { text.tokenize(template.replacingOccurrences(of: "{}", with: $0)).ids })
    for (index, reference) in try XCTUnwrap(expected["probabilities"] as? [[Double]]).enumerated() {
      for (mine, theirs) in zip(head.probabilities(input: audioVectors[index], labels: labelVectors), reference) {
        XCTAssertEqual(Double(mine), theirs, accuracy: 1e-5, "\(name) \(files[index])", file: file, line: line)
      }
    }
  }

  func testUnfusedHTSATTiny() throws { try assertParity("clap-htsat-unfused", architecture: "clap_htsat") }
  func testFusedHTSATBase() throws { try assertParity("clap-larger-fused", architecture: "clap_htsat_fused") }
}
