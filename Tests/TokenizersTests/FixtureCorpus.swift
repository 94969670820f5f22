import Foundation
import XCTest

/// Compares a tokenizer with a corpus fixture (lines of {"text", "ids", "truncated"} from the reference).
func assertMatchesCorpus(
  _ fixtureName: String, encode: (String) -> (ids: [Int32], truncated: Bool), file: StaticString = #filePath, line: UInt = #line
) throws {
  let fixture = Repository.root.appendingPathComponent("Tests/TokenizersTests/Fixtures/\(fixtureName)")
  let lines = try String(contentsOf: fixture, encoding: .utf8).split(separator: "\n")
  XCTAssertGreaterThanOrEqual(lines.count, 500, file: file, line: line)
  var mismatches = 0
  for entryLine in lines {
    let entry = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(entryLine.utf8)) as? [String: Any])
    let text = try XCTUnwrap(entry["text"] as? String)
    let expected = try XCTUnwrap(entry["ids"] as? [Int]).map(Int32.init)
    let encoding = encode(text)
    if encoding.ids != expected || encoding.truncated != (entry["truncated"] as? Bool) {
      mismatches += 1
      if mismatches <= 5 { XCTFail("\(text.debugDescription):\n  got      \(encoding.ids)\n  expected \(expected)", file: file, line: line) }
    }
  }
  XCTAssertEqual(mismatches, 0, "\(mismatches) of \(lines.count) strings differ", file: file, line: line)
}
