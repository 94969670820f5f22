import XCTest

@testable import Tensor

/// Kernels against straightforward loops written from their definitions.
final class KernelTests: XCTestCase {
  /// Weights packed once for oneDNN, calls cut into 1, 2 or 5 row chunks (more than the rows allow, too), equal the
  /// plain product with and without bias, written and accumulated, for row counts around the kernels' blocks.
  func testPackedLinearMatchesTheProduct() {
    var generator = SystemRandomNumberGenerator()
    func random(_ shape: [Int]) -> Tensor { Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &generator) }) }
    for (out, k) in [(40, 24), (200, 96)] {
      let w = random([out, k]), b = random([out])
      for parts in [1, 2, 5] {
        let packed = PackedLinear(weight: w, chunks: parts)
        for rows in [1, 7, 64, 129] {
          let x = random([rows, k])
          for bias in [nil, b] {
            let expected = linear(x, weight: w, bias: bias)
            let written = Tensor(zeros: [rows, out])
            packed.apply(x, bias: bias, into: written, accumulate: false)
            let start = random([rows, out]), accumulated = Tensor(shape: [rows, out], values: start.array)
            packed.apply(x, bias: bias, into: accumulated, accumulate: true)
            for i in 0..<rows * out {
              XCTAssertEqual(written.data[i], expected.data[i], accuracy: 1e-5, "out \(out) parts \(parts) rows \(rows)")
              XCTAssertEqual(accumulated.data[i], start.data[i] + expected.data[i], accuracy: 1e-5, "out \(out) parts \(parts) rows \(rows)")
            }
          }
        }
      }
    }
  }

  /// bf16 and int8 differ from the fp32 product by no more than their rounding allows, element by element: for
  /// y = Σ x·w with x and w each off by at most δx and δw, |error| ≤ Σ (|x|·δw + |w|·δx + δx·δw). bf16 rounds each
  /// factor to 8 significant bits (δ ≤ 2⁻⁹ relative); int8 rounds each input row to 255 steps of its range (δx ≤
  /// one step, allowing for the zero point's clamping) and each weight row to ±127 (±63 without VNNI) steps of its
  /// largest magnitude (δw ≤ half a step). Also for row counts that are not multiples of the padding (8).
  func testPackedLinearInBF16AndInt8StaysWithinItsRoundingBound() throws {
    var generator = SystemRandomNumberGenerator()
    func random(_ shape: [Int]) -> Tensor { Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &generator) }) }
    let (out, k) = (200, 96)
    let w = random([out, k]), b = random([out])
    for precision in [Precision.bf16, .int8] {
      if let reason = precision.unsupportedReason {
        print("skipping \(precision): \(reason)")
        continue
      }
      let packed = PackedLinear(weight: w, precision: precision, chunks: 2)
      XCTAssertNotNil(packed.kernel(rows: 16), "\(precision): oneDNN made no kernel")
      let limit = Float(Precision.int8WeightBits == 8 ? 127 : 63)
      let weightStep = (0..<out).map { o in (0..<k).map { abs(w.data[o * k + $0]) }.max()! / limit }
      for rows in [1, 7, 64, 129] {
        let x = random([rows, k]), expected = linear(x, weight: w, bias: b)
        let y = Tensor(zeros: [rows, out]), start = random([rows, out]), accumulated = Tensor(shape: [rows, out], values: start.array)
        packed.apply(x, bias: b, into: y, accumulate: false)
        packed.apply(x, bias: b, into: accumulated, accumulate: true)
        for r in 0..<rows {
          let row = Array(UnsafeBufferPointer(start: x.data + r * k, count: k))
          let rowStep = (max(0, row.max()!) - min(0, row.min()!)) / 255
          for o in 0..<out {
            let weights = Array(UnsafeBufferPointer(start: w.data + o * k, count: k))
            var bound: Float = 1e-4
            for i in 0..<k {
              let (dx, dw) =
                precision == .bf16
                ? (abs(row[i]) / 512, abs(weights[i]) / 512) : (rowStep, weightStep[o] / 2)
              bound += abs(row[i]) * dw + abs(weights[i]) * dx + dx * dw
            }
            let i = r * out + o
            XCTAssertLessThanOrEqual(abs(y.data[i] - expected.data[i]), bound, "\(precision) rows \(rows) [\(r), \(o)]")
            XCTAssertEqual(accumulated.data[i], start.data[i] + y.data[i], accuracy: 1e-5, "\(precision) accumulate rows \(rows)")
          }
        }
      }
    }
  }

  func testLinearMatchesDefinition() {
    let x = Tensor(shape: [3, 4], values: (0..<12).map { Float($0) * 0.1 - 0.5 })
    let w = Tensor(shape: [2, 4], values: [1, -1, 0.5, 2, 0, 3, -2, 1])
    let b = Tensor(shape: [2], values: [0.25, -1])
    let y = linear(x, weight: w, bias: b)
    for r in 0..<3 {
      for o in 0..<2 {
        var expected = b.data[o]
        for i in 0..<4 { expected += x.data[r * 4 + i] * w.data[o * 4 + i] }
        XCTAssertEqual(y.data[r * 2 + o], expected, accuracy: 1e-5)
      }
    }
  }

  func testLayerNormNormalisesEachRow() {
    let x = Tensor(shape: [2, 4], values: [1, 2, 3, 4, -1, 0, 0, 1])
    layerNorm(x, weight: Tensor(shape: [4], values: [1, 1, 1, 1]), bias: Tensor(shape: [4], values: [0, 0, 0, 0]), epsilon: 1e-12)
    // Row 1: mean 2.5, variance 1.25.
    XCTAssertEqual(x.data[0], Float((1 - 2.5) / 1.25.squareRoot()), accuracy: 1e-5)
    XCTAssertEqual(x.data[3], Float((4 - 2.5) / 1.25.squareRoot()), accuracy: 1e-5)
    XCTAssertEqual(x.row(1).reduce(0, +), 0, accuracy: 1e-5)
  }

  /// The vectorisable erf stays within 5e-7 of glibc's erff everywhere (dense grid over [-6, 6]).
  func testFastErfMatchesErff() {
    var worst: Float = 0
    for i in -600_000...600_000 {
      let x = Float(i) * 1e-5
      worst = max(worst, abs(fastErf(x) - erff(x)))
    }
    XCTAssertLessThan(worst, 5e-7)
  }

  /// The vectorisable exp is within 3e-7 relative of glibc's expf over the range softmax and QuickGELU use.
  func testFastExpMatchesExpf() {
    var worst: Float = 0
    for i in -870_000...200_000 {
      let x = Float(i) * 1e-4
      worst = max(worst, abs(fastExp(x) - expf(x)) / expf(x))
    }
    XCTAssertLessThan(worst, 3e-7)
  }

  func testActivations() {
    let x = Tensor(shape: [3], values: [-1, 0, 2])
    Activation.gelu.apply(x)
    XCTAssertEqual(x.data[0], -0.15865525, accuracy: 1e-6)
    XCTAssertEqual(x.data[2], 1.9544997, accuracy: 1e-6)
    let q = Tensor(shape: [1], values: [1])
    Activation.quickGelu.apply(q)
    XCTAssertEqual(q.data[0], 1 / (1 + expf(-1.702)), accuracy: 1e-6)
  }

  /// GELU's tanh form (as v·σ(2u)) against PyTorch's formula with libm's tanh, over −12…12 and the extremes.
  func testTanhGELUMatchesItsDefinition() {
    let values = stride(from: -12.0 as Float, through: 12, by: 0.001).map { $0 } + [-1e4, -90, 90, 1e4, 0, 1e-8]
    let x = Tensor(shape: [values.count], values: values)
    Activation.geluTanh.apply(x)
    var worst: Float = 0
    for (index, v) in values.enumerated() {
      let reference = 0.5 * v * (1 + tanhf(0.79788456080286536 * (v + 0.044715 * v * v * v)))
      worst = max(worst, abs(x.data[index] - reference) / max(1, abs(reference)))
    }
    XCTAssertLessThan(worst, 5e-7)
  }

  /// The softmax kernel against the sequential definition for row lengths around its 16-lane blocks.
  func testSoftmaxMatchesItsDefinition() {
    var generator = SystemRandomNumberGenerator()
    for count in [1, 5, 15, 16, 17, 64, 197] {
      let values = (0..<count).map { _ in Float.random(in: -30...30, using: &generator) }
      var row = values
      row.withUnsafeMutableBufferPointer { softmaxRow($0.baseAddress!, count: count) }
      let top = values.max()!
      let total = values.reduce(0.0) { $0 + exp(Double($1 - top)) }
      for (mine, value) in zip(row, values) { XCTAssertEqual(Double(mine), exp(Double(value - top)) / total, accuracy: 1e-6, "length \(count)") }
      XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
    }
  }

  /// Attention against a direct loop: two items of different lengths, two heads, with and without causal mask,
  /// through the short-sequence loops (3 tokens) and the per-head BLAS path (40 tokens), padded and packed; the
  /// grouped-query kernel with as many key/value heads as query heads and no window gives the same.
  func testAttentionMatchesDirectComputation() {
    for lengths in [[3, 2], [40, 27]] {
      checkAttention(TokenLayout(batch: 2, sequence: lengths.max()!, lengths: lengths))
      checkAttention(TokenLayout(packed: lengths))
    }
  }

  private func checkAttention(_ layout: TokenLayout) {
    let batch = layout.count, heads = 2, hidden = 4, headDim = 2
    let lengths = layout.lengths
    var generator = SystemRandomNumberGenerator()
    let qkv = Tensor(shape: [layout.rows, 3 * hidden], values: (0..<layout.rows * 3 * hidden).map { _ in Float.random(in: -1...1, using: &generator) })
    let q = Tensor(zeros: [layout.rows, hidden]), k = Tensor(zeros: [layout.rows, hidden]), v = Tensor(zeros: [layout.rows, hidden])
    for row in 0..<layout.rows {
      for c in 0..<hidden {
        q.data[row * hidden + c] = qkv.data[row * 3 * hidden + c]
        k.data[row * hidden + c] = qkv.data[row * 3 * hidden + hidden + c]
        v.data[row * hidden + c] = qkv.data[row * 3 * hidden + 2 * hidden + c]
      }
    }
    for causal in [false, true] {
      let out = Tensor(zeros: [layout.rows, hidden])
      attention(q: q.data, k: k.data, v: v.data, rowStride: hidden, into: out, layout: layout, heads: heads, causal: causal)
      let grouped = Tensor(zeros: [layout.rows, hidden])
      groupedAttention(
        qkv, rowStride: 3 * hidden, keyColumn: hidden, valueColumn: 2 * hidden, into: grouped, layout: layout, heads: heads, kvHeads: heads,
        headDim: headDim, causal: causal, window: nil)
      for i in 0..<out.count { XCTAssertEqual(out.data[i], grouped.data[i], accuracy: 1e-5) }
      for b in 0..<batch {
        for h in 0..<heads {
          for i in 0..<lengths[b] {
            let visible = causal ? i + 1 : lengths[b]
            var weights = (0..<visible).map { j -> Float in
              (0..<headDim).reduce(0) { $0 + q.data[(layout.starts[b] + i) * hidden + h * headDim + $1] * k.data[(layout.starts[b] + j) * hidden + h * headDim + $1] } / Float(headDim).squareRoot()
            }
            let maximum = weights.max()!
            weights = weights.map { expf($0 - maximum) }
            let sum = weights.reduce(0, +)
            for d in 0..<headDim {
              let expected = (0..<visible).reduce(Float(0)) { $0 + weights[$1] / sum * v.data[(layout.starts[b] + $1) * hidden + h * headDim + d] }
              XCTAssertEqual(out.data[(layout.starts[b] + i) * hidden + h * headDim + d], expected, accuracy: 1e-5)
            }
          }
        }
      }
    }
  }
}
