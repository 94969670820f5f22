import Foundation
import XCTest

@testable import Media

/// A mutation fuzzer over the fixture files, bounded in cases and time: every mutant either decodes (and then
/// preprocesses) or gets an MediaDecodeError; nothing crashes, and resident memory does not grow with the cases.
final class DecoderFuzzTests: XCTestCase {
  func testMutatedFilesNeverCrashOrLeak() throws {
    let folders = ["formats", "bad"].map { MediaFixtures.directory.appendingPathComponent($0) }
    let seeds = try folders.flatMap { folder in
      try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map { try Data(contentsOf: folder.appendingPathComponent($0)) }
    }.filter { !$0.isEmpty }
    XCTAssertGreaterThan(seeds.count, 30)
    let decoder = ImageDecoder(maxPixels: 4_000_000)
    let preprocessor = try ImagePreprocessor(values: ["size": ["shortest_edge": 17], "crop_size": 16], origin: "fuzz")
    var random = SplitMix64(seed: 20261125)
    var decoded = 0, refused = 0
    var residentAfterWarmUp = 0
    let deadline = Date().addingTimeInterval(40)
    let cases = 50_000
    for index in 0..<cases {
      if index == 500 { residentAfterWarmUp = Self.residentBytes() }
      if Date() > deadline { break }
      let mutant = Self.mutate(seeds[Int(random.next() % UInt64(seeds.count))], &random)
      do {
        let image = try decoder.decode(mutant)
        XCTAssertEqual(image.pixels.count, image.width * image.height * 3)
        XCTAssertEqual(preprocessor.pixels(image).count, 3 * 16 * 16)
        decoded += 1
      } catch {
        XCTAssertFalse(error.message.isEmpty)
        refused += 1
      }
    }
    let growth = Self.residentBytes() - residentAfterWarmUp
    print("decoder fuzz: \(decoded + refused) cases, \(decoded) decoded, \(refused) refused, resident growth \(growth >> 10) KiB")
    XCTAssertGreaterThanOrEqual(decoded + refused, 5000, "too few cases ran in the time allowed")
    XCTAssertGreaterThan(decoded, 100)
    XCTAssertGreaterThan(refused, 100)
    XCTAssertLessThan(growth, 40 << 20, "resident memory grew by \(growth >> 20) MiB over the cases: a leak")
  }

  static func mutate(_ seed: Data, _ random: inout SplitMix64) -> Data {
    var bytes = [UInt8](seed)
    func position() -> Int { Int(random.next() % UInt64(max(bytes.count, 1))) }
    for _ in 0..<(1 + random.next() % 3) {
      guard !bytes.isEmpty else { break }
      switch random.next() % 6 {
      case 0:  // flip bits
        for _ in 0..<(1 + random.next() % 8) { bytes[position()] ^= UInt8(1 << (random.next() % 8)) }
      case 1:  // overwrite a run with random bytes
        let start = position(), count = min(Int(1 + random.next() % 16), bytes.count - start)
        for i in start..<(start + count) { bytes[i] = UInt8(truncatingIfNeeded: random.next()) }
      case 2:  // truncate
        bytes.removeLast(bytes.count - position())
      case 3:  // duplicate a slice
        let start = position(), count = min(Int(1 + random.next() % 64), bytes.count - start)
        bytes.insert(contentsOf: bytes[start..<(start + count)], at: position())
      case 4:  // the header, where sizes and types live
        if bytes.count > 32 { bytes[Int(random.next() % 32)] = UInt8(truncatingIfNeeded: random.next()) }
      default:  // interesting values
        let values: [UInt8] = [0, 0xFF, 0x7F, 0x80, 1]
        bytes[position()] = values[Int(random.next() % UInt64(values.count))]
      }
    }
    return Data(bytes)
  }

  static func residentBytes() -> Int {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let pages = statm.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
  }
}

/// A small seeded generator, so a failing case can be replayed.
struct SplitMix64 {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
