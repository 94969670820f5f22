import Foundation
import SyntheticCheckpoints
import Tensor
import XCTest

@testable import Encoders

/// Full-size architectures on synthetic weights of the real shapes vs sentence-transformers
/// (Fixtures/generate_text_architectures.py): cosine ≥ 0.99999 for every text, prompts included.
final class ArchitectureParityTests: XCTestCase {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

  func assertParity(_ name: String, architecture: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let directory = try SyntheticCheckpoint.directory(for: Self.fixtures.appendingPathComponent(name))
    let expected = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("\(name).expected.json"))) as? [String: Any])
    let texts = try XCTUnwrap(expected["texts"] as? [String])
    let encoder = try XCTUnwrap(ModelDirectory.load(directory.path).text as? SentenceTransformer)
    XCTAssertEqual(encoder.architecture, architecture, file: file, line: line)
    var worstCosine: Float = 1, worstAbs: Float = 0
    defer { print("parity \(name): worst cosine \(String(format: "%.8f", worstCosine)), worst max-abs \(String(format: "%.1e", worstAbs))") }
    for run in try XCTUnwrap(expected["runs"] as? [[String: Any]]) {
      let promptName = run["prompt_name"] as? String
      let prompt = promptName.map { encoder.prompts[$0] ?? "?" } ?? ""
      let reference = try XCTUnwrap(run["vectors"] as? [[Double]]).map { $0.map(Float.init) }
      let ours = encoder.embed(texts.map { encoder.tokenize(prompt + $0).ids })
      for (index, (mine, theirs)) in zip(ours, reference).enumerated() {
        worstCosine = min(worstCosine, cosineSimilarity(mine, theirs))
        worstAbs = max(worstAbs, maxAbsDifference(mine, theirs))
        XCTAssertGreaterThanOrEqual(cosineSimilarity(mine, theirs), 0.99999, "\(name) prompt \(promptName ?? "none") text \(index)", file: file, line: line)
        XCTAssertLessThanOrEqual(maxAbsDifference(mine, theirs), 1e-4, "\(name) prompt \(promptName ?? "none") text \(index)", file: file, line: line)
      }
    }
  }

  func testXLMRobertaBase() throws { try assertParity("xlm-roberta-base", architecture: "xlm-roberta") }
  func testMPNetBase() throws { try assertParity("mpnet-base", architecture: "mpnet") }
  func testModernBertBase() throws { try assertParity("modernbert-base", architecture: "modernbert") }
  func testQwen3EmbeddingShape() throws { try assertParity("qwen3-0.6b", architecture: "qwen3") }

  func testMPNetBucketsMatchTheReference() {
    // transformers' float32 formula, evaluated in Python for these distances (j − i).
    let expected: [Int: Int] = [0: 0, 1: 17, -1: 1, 7: 23, -7: 7, 8: 24, -8: 8, 15: 25, 16: 26, -16: 10, 31: 27, 32: 28, 64: 30, 127: 31, 128: 31, 500: 31, -500: 15]
    for (relative, bucket) in expected { XCTAssertEqual(MPNetModel.bucket(relative: relative, buckets: 32), bucket, "distance \(relative)") }
  }
}
