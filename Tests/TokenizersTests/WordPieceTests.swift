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
    try assertMatchesCorpus("wordpiece_minilm.jsonl") { text in
      let encoding = tokenizer.encode(text, maxLength: 256)
      return (encoding.ids, encoding.truncated)
    }
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

final class BertNormalizerFastPathTests: XCTestCase {
  /// The ASCII fast path gives what the Unicode rules give, for every ASCII character and every option.
  func testASCIIFastPathEqualsTheUnicodeRules() {
    let every = String(String.UnicodeScalarView((0..<128).map { Unicode.Scalar(UInt8($0)) }))
    let samples = [every, "Hello,\tWORLD!\r\n\u{0B}\u{0C}\u{7F}x", "", "A  B"]
    for clean in [true, false] {
      for lower in [true, false] {
        let normalizer = BertNormalizer(cleanText: clean, lowercase: lower)
        for sample in samples {
          XCTAssertEqual(normalizer.normalizeASCII(sample), normalizer.normalizeUnicode(sample), "clean \(clean) lower \(lower) \(sample.debugDescription)")
        }
      }
    }
    XCTAssertNil(BertNormalizer().normalizeASCII("café"))
  }
}
