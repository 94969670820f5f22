import Foundation
import XCTest

@testable import Tokenizers

/// Where the repository's files are, for fixtures and the models scripts/fetch-models puts in Models/.
enum Repository {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  static let miniLM = root.appendingPathComponent("Models/all-MiniLM-L6-v2")
}

final class WordPieceTests: XCTestCase {
  /// Token ids equal to Hugging Face's on 560 varied strings (fixture made by Fixtures/generate_wordpiece.py).
  func testIdsEqualReferenceOnCorpus() throws {
    let tokenizer = try WordPieceTokenizer.load(directory: Repository.miniLM)
    let fixture = Repository.root.appendingPathComponent("Tests/TokenizersTests/Fixtures/wordpiece_minilm.jsonl")
    let lines = try String(contentsOf: fixture, encoding: .utf8).split(separator: "\n")
    XCTAssertGreaterThanOrEqual(lines.count, 500)
    var mismatches = 0
    for line in lines {
      let entry = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      let text = try XCTUnwrap(entry["text"] as? String)
      let expected = try XCTUnwrap(entry["ids"] as? [Int]).map(Int32.init)
      let encoding = tokenizer.encode(text, maxLength: 256)
      if encoding.ids != expected || encoding.truncated != (entry["truncated"] as? Bool) {
        mismatches += 1
        if mismatches <= 5 { XCTFail("\(text.debugDescription):\n  got      \(encoding.ids)\n  expected \(expected)") }
      }
    }
    XCTAssertEqual(mismatches, 0, "\(mismatches) of \(lines.count) strings differ")
  }

  func testVocabTxtFallbackAgreesWithTokenizerJSON() throws {
    let fromJSON = try WordPieceTokenizer.load(directory: Repository.miniLM)
    let fromTXT = try WordPieceTokenizer.load(
      vocabTXT: Repository.miniLM.appendingPathComponent("vocab.txt"),
      config: Repository.miniLM.appendingPathComponent("tokenizer_config.json"))
    for text in ["Hello, World! naïve café", "北京 [SEP] 😀", ""] {
      XCTAssertEqual(fromJSON.encode(text, maxLength: 64), fromTXT.encode(text, maxLength: 64), text)
    }
  }

  func testNormalizerRules() {
    let normalizer = BertNormalizer()
    XCTAssertEqual(normalizer.normalize("Crème\tBRÛLÉE\u{0007}"), "creme brulee")
    XCTAssertEqual(normalizer.normalize("ΣΑΣ"), "σασ", "each scalar lower-cased alone: no final sigma")
    XCTAssertEqual(normalizer.normalize("a北b"), "a 北 b")
  }

  func testTruncationKeepsSpecialTokensAndSaysSo() throws {
    let tokenizer = try WordPieceTokenizer.load(directory: Repository.miniLM)
    let encoding = tokenizer.encode(String(repeating: "word ", count: 50), maxLength: 10)
    XCTAssertEqual(encoding.ids.count, 10)
    XCTAssertEqual(encoding.ids.first, tokenizer.clsID)
    XCTAssertEqual(encoding.ids.last, tokenizer.sepID)
    XCTAssertTrue(encoding.truncated)
    XCTAssertFalse(tokenizer.encode("word", maxLength: 10).truncated)
  }
}
