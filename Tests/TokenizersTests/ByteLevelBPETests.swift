import Foundation
import XCTest

@testable import Tokenizers

final class ByteLevelBPETests: XCTestCase {
  /// Ids equal to Hugging Face's fast CLIP tokenizer on 574 strings (Fixtures/generate_bpe.py).
  func testIdsEqualReferenceOnCorpus() throws {
    let tokenizer = try ByteLevelBPETokenizer.load(directory: Repository.root.appendingPathComponent("Models/clip-bpe"))
    try assertMatchesCorpus("bpe_clip.jsonl") { text in
      let encoding = tokenizer.encode(text, maxLength: 77)
      return (encoding.ids, encoding.truncated)
    }
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
