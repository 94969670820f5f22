import CMatmul
import XCTest

/// The oneDNN linear (`CMatmul`): packed once, equal to a plain product for every row count, in fp32, bf16 and int8.
final class OneDNNMatmulTests: XCTestCase {
  func message(_ buffer: [CChar]) -> String { String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }

  func product(_ x: [Float], _ w: [Float], rows: Int, n: Int, k: Int) -> [Float] {
    var y = [Float](repeating: 0, count: rows * n)
    for r in 0..<rows {
      for o in 0..<n {
        var sum: Double = 0
        for i in 0..<k { sum += Double(x[r * k + i]) * Double(w[o * k + i]) }
        y[r * n + o] = Float(sum)
      }
    }
    return y
  }

  func check(_ precision: chorus_matmul_precision, tolerance: Float) throws {
    let (n, k) = (96, 80)
    var generator = SystemRandomNumberGenerator()
    let w = (0..<n * k).map { _ in Float.random(in: -1...1, using: &generator) }
    var error = [CChar](repeating: 0, count: 256)
    guard let packed = chorus_matmul_create(w, Int64(n), Int64(k), precision, &error, error.count) else {
      let reason = message(error)
      if precision == CHORUS_MATMUL_BF16 { throw XCTSkip("bf16 matmul not available on this CPU: \(reason)") }
      return XCTFail(reason)
    }
    defer { chorus_matmul_destroy(packed) }
    for rows in [1, 7, 32, 129] {
      let x = (0..<rows * k).map { _ in Float.random(in: -1...1, using: &generator) }
      var y = [Float](repeating: .nan, count: rows * n)
      XCTAssertEqual(chorus_matmul_run(packed, x, Int64(rows), &y, &error, error.count), 0, message(error))
      let expected = product(x, w, rows: rows, n: n, k: k)
      let worst = zip(y, expected).map { abs($0 - $1) }.max()!
      XCTAssertLessThan(worst, tolerance, "\(rows) rows, kernel \(chorus_matmul_kernel(packed, Int64(rows)).map { String(cString: $0) } ?? "?")")
    }
  }

  func testFP32EqualsThePlainProduct() throws {
    try check(CHORUS_MATMUL_FP32, tolerance: 1e-4)
  }

  /// bf16 keeps 8 bits of mantissa: over 80 products of values in [-1, 1] the error stays near 0.1 at worst.
  func testBF16IsCloseToThePlainProduct() throws {
    try check(CHORUS_MATMUL_BF16, tolerance: 0.15)
  }

  /// int8 (weights per channel, rows per row): over 80 products of values in [-1, 1] the error stays under 0.2 at
  /// worst (the exact bound is checked element by element in KernelTests).
  func testInt8IsCloseToThePlainProduct() throws {
    try check(CHORUS_MATMUL_INT8, tolerance: 0.2)
  }
}
