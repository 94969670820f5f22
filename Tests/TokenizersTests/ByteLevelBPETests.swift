import Foundation
import XCTest

@testable import Tokenizers

final class ByteLevelBPETests: XCTestCase {
  /// Ids equal to Hugging Face's fast CLIP tokenizer on 574 strings (Fixtures/generate_bpe.py).
  func testIdsEqualReferenceOnCorpus() throws {
    let tokenizer = try ByteLevelBPETokenizer.load(directory: Repository.root.appendingPathComponent("Models/clip-bpe"))
    let fixture = Repository.root.appendingPathComponent("Tests/TokenizersTests/Fixtures/bpe_clip.jsonl")
    let lines = try String(contentsOf: fixture, encoding: .utf8).split(separator: "\n")
    XCTAssertGreaterThanOrEqual(lines.count, 500)
    var mismatches = 0
    for line in lines {
      let entry = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      let text = try XCTUnwrap(entry["text"] as? String)
      let expected = try XCTUnwrap(entry["ids"] as? [Int]).map(Int32.init)
      let encoding = tokenizer.encode(text, maxLength: 77)
      if encoding.ids != expected || encoding.truncated != (entry["truncated"] as? Bool) {
        mismatches += 1
        if mismatches <= 5 { XCTFail("\(text.debugDescription):\n  got      \(encoding.ids)\n  expected \(expected)") }
      }
    }
    XCTAssertEqual(mismatches, 0, "\(mismatches) of \(lines.count) strings differ")
  }

  func testKnownCLIPIds() throws {
    let tokenizer = try ByteLevelBPETokenizer.load(directory: Repository.root.appendingPathComponent("Models/clip-bpe"))
    XCTAssertEqual(tokenizer.encode("a photo of a cat", maxLength: 77).ids, [49406, 320, 1125, 539, 320, 2368, 49407])
  }

  /// A directory with only tokenizer.json (merges as pairs) tokenizes like vocab.json + merges.txt.
  func testTokenizerJSONOnlyDirectory() throws {
    let fromFiles = try ByteLevelBPETokenizer.load(directory: Repository.root.appendingPathComponent("Tests/EncodersTests/Fixtures/tiny-clip"))
    let fromJSON = try ByteLevelBPETokenizer.load(tokenizerJSON: Repository.root.appendingPathComponent("Tests/EncodersTests/Fixtures/tiny-clip/tokenizer.json"))
    for text in ["a photo of a cat", "it's 42!", ""] {
      XCTAssertEqual(fromFiles.encode(text, maxLength: 77), fromJSON.encode(text, maxLength: 77))
    }
  }

  func testPreTokenizerPattern() {
    XCTAssertEqual(ByteLevelBPETokenizer.preTokenize("it's a 42nd go!!'s"), ["it", "'s", "a", "4", "2", "nd", "go", "!!'", "s"])
  }
}
