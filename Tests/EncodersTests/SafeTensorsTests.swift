import Foundation
import XCTest

@testable import Encoders

final class SafeTensorsTests: XCTestCase {
  var directory: URL!

  override func setUp() {
    directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("st-\(UUID().uuidString.prefix(8))")
    try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDown() {
    try? FileManager.default.removeItem(at: directory)
  }

  /// Writes a safetensors file: 8-byte little-endian header length, JSON header, data.
  private func write(header: String, data: [UInt8], name: String = "t.safetensors", lengthOverride: UInt64? = nil) -> String {
    var bytes = [UInt8]()
    let length = lengthOverride ?? UInt64(header.utf8.count)
    withUnsafeBytes(of: length.littleEndian) { bytes.append(contentsOf: $0) }
    bytes.append(contentsOf: header.utf8)
    bytes.append(contentsOf: data)
    let path = directory.appendingPathComponent(name).path
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
  }

  private func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
  }

  func testReadsF32InPlaceAndConvertsF16AndBF16() throws {
    let f32 = floatBytes([1, -2.5, 3, 0.125])
    let f16 = [Float16(1.5), Float16(-0.25)].flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    let bf16 = [Float(2), Float(-8.5)].flatMap { v in withUnsafeBytes(of: UInt16(v.bitPattern >> 16).littleEndian) { Array($0) } }
    let header = """
      {"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"h":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},\
      "b":{"dtype":"BF16","shape":[2],"data_offsets":[20,24]},"__metadata__":{"format":"pt"}}
      """
    // Pad the header so the data section starts 8-byte aligned, as writers do.
    let padded = header + String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)
    let file = try SafeTensorsFile(path: write(header: padded, data: f32 + f16 + bf16))
    XCTAssertEqual(file.metadata["format"], "pt")
    XCTAssertEqual(try file.tensor("a", shape: [2, 2]).array, [1, -2.5, 3, 0.125])
    XCTAssertEqual(try file.tensor("h").array, [1.5, -0.25])
    XCTAssertEqual(try file.tensor("b").array, [2, -8.5])
  }

  func testMisalignedF32IsCopied() throws {
    let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#  // 55 bytes: data starts at 63
    let file = try SafeTensorsFile(path: write(header: header, data: floatBytes([7, -7])))
    XCTAssertEqual(try file.tensor("a").array, [7, -7])
  }

  func testCorruptFilesNameTheFileAndTheProblem() {
    let cases: [(String, String)] = [
      (write(header: "", data: [], name: "empty-header.safetensors"), "header length 0"),
      (write(header: "{}", data: [], name: "huge.safetensors", lengthOverride: 1 << 40), "does not fit"),
      (write(header: "{not json", data: [], name: "json.safetensors"), "not a JSON object"),
      (write(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: floatBytes([1]), name: "outside.safetensors"), "outside the data section"),
      (write(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,4]}}"#, data: floatBytes([1]), name: "size.safetensors"), "needs 12 bytes"),
      (write(header: #"{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#, data: [0], name: "dtype.safetensors"), "unsupported dtype Q4"),
    ]
    for (path, problem) in cases {
      XCTAssertThrowsError(try SafeTensorsFile(path: path)) { error in
        XCTAssertTrue("\(error)".hasPrefix(path), "\(error)")
        XCTAssertTrue("\(error)".contains(problem), "\(error)")
      }
    }
    let tiny = directory.appendingPathComponent("tiny.safetensors").path
    FileManager.default.createFile(atPath: tiny, contents: Data([1, 2, 3]))
    XCTAssertThrowsError(try SafeTensorsFile(path: tiny)) { XCTAssertTrue("\($0)".contains("too short"), "\($0)") }
  }

  func testMissingAndMisshapenTensorsAreNamed() throws {
    let file = try SafeTensorsFile(path: write(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: floatBytes([1, 2])))
    XCTAssertThrowsError(try file.tensor("b", shape: [2])) { XCTAssertTrue("\($0)".contains("tensor 'b' is missing (expected shape [2])"), "\($0)") }
    XCTAssertThrowsError(try file.tensor("a", shape: [3])) { XCTAssertTrue("\($0)".contains("tensor 'a' has shape [2], expected [3]"), "\($0)") }
  }

  func testRealMiniLMCheckpoint() throws {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Models/all-MiniLM-L6-v2/model.safetensors").path
    let file = try SafeTensorsFile(path: path)
    let embeddings = try file.tensor("embeddings.word_embeddings.weight", shape: [30522, 384])
    XCTAssertTrue(embeddings.buffer.allSatisfy(\.isFinite))
  }
}
