import Foundation

/// Rotary position embeddings as transformers applies them (`rotate_half`: the head's first and second halves
/// are the pairs): x'ᵢ = xᵢ·cos θ − xᵢ₊d/2·sin θ, x'ᵢ₊d/2 = xᵢ₊d/2·cos θ + xᵢ·sin θ, θ = position · base^(−2i/d).
/// Frequencies, angles, cos and sin in float32, as the reference computes them.
public struct RotaryEmbedding: Sendable, Hashable {
  public let base: Float
  public let headDim: Int

  public init(base: Float, headDim: Int) {
    self.base = base
    self.headDim = headDim
  }

  /// cos θ and sin θ for positions 0 ..< count: computed once per forward pass, shared by every layer with this
  /// base and by q and k.
  public func table(positions count: Int) -> RotaryTable {
    let half = headDim / 2
    let inverseFrequencies = (0..<half).map { 1 / powf(base, Float(2 * $0) / Float(headDim)) }
    var cosines = [Float](repeating: 0, count: count * half), sines = cosines
    for position in 0..<count {
      for i in 0..<half {
        let angle = Float(position) * inverseFrequencies[i]
        cosines[position * half + i] = cosf(angle)
        sines[position * half + i] = sinf(angle)
      }
    }
    return RotaryTable(headDim: headDim, cosines: cosines, sines: sines)
  }
}

/// One rotary base's cos and sin by position.
public struct RotaryTable: Sendable {
  public let headDim: Int
  let cosines: [Float]
  let sines: [Float]

  /// Rotates the first `heads` heads of every row in place (q's heads and k's, side by side in a fused
  /// projection), row r by `positions[r]`; `rowStride` floats between rows.
  public func apply(_ data: UnsafeMutablePointer<Float>, positions: [Int32], rowStride: Int, heads: Int) {
    let half = headDim / 2
    cosines.withUnsafeBufferPointer { cosines in
      sines.withUnsafeBufferPointer { sines in
        parallelChunks(positions.count, minimumPerChunk: 8) { range in
          for row in range {
            let c = cosines.baseAddress! + Int(positions[row]) * half, s = sines.baseAddress! + Int(positions[row]) * half
            for h in 0..<heads {
              let x = data + row * rowStride + h * headDim
              for i in 0..<half {
                let first = x[i], second = x[i + half]
                x[i] = first * c[i] - second * s[i]
                x[i + half] = second * c[i] + first * s[i]
              }
            }
          }
        }
      }
    }
  }
}

/// Multi-head attention with grouped key/value heads (GQA: `heads / kvHeads` query heads share one), an
/// optional causal mask and an optional sliding window (keys with |i − j| ≤ window). q, k and v are column
/// blocks of one fused projection [batch · sequence, rowStride]: q at column 0 (heads · headDim wide), k at
/// `keyColumn`, v at `valueColumn` (kvHeads · headDim each), rows as `layout` places the items. Output
/// [layout.rows, heads · headDim].
public func groupedAttention(
  _ qkv: Tensor, rowStride: Int, keyColumn: Int, valueColumn: Int, into output: Tensor, layout: TokenLayout, heads: Int,
  kvHeads: Int, headDim: Int, causal: Bool, window: Int?
) {
  let scale = 1 / Float(headDim).squareRoot()
  let group = heads / kvHeads
  let hidden = heads * headDim
  let base = qkv.data, out = output.data
  zeroPadding(output, layout: layout)
  parallelChunks(layout.count * heads) { range in
    withUnsafeTemporaryAllocation(of: Float.self, capacity: max(layout.longest, 1)) { scores in
      for job in range {
        let b = job / heads, h = job % heads, kvHead = h / group
        let length = layout.lengths[b], first = layout.starts[b]
        for i in 0..<length {
          var lower = 0, upper = length
          if causal { upper = min(upper, i + 1) }
          if let window {
            lower = max(0, i - window)
            upper = min(upper, i + window + 1)
          }
          let row = out + (first + i) * hidden + h * headDim
          guard lower < upper else {
            for d in 0..<headDim { row[d] = 0 }
            continue
          }
          let query = base + (first + i) * rowStride + h * headDim
          var maximum = -Float.infinity
          for j in lower..<upper {
            let key = base + (first + j) * rowStride + keyColumn + kvHead * headDim
            var dot: Float = 0
            for d in 0..<headDim { dot += query[d] * key[d] }
            scores[j] = dot * scale
            maximum = max(maximum, scores[j])
          }
          var sum: Float = 0
          for j in lower..<upper {
            scores[j] = expf(scores[j] - maximum)
            sum += scores[j]
          }
          let inverse = 1 / sum
          for d in 0..<headDim { row[d] = 0 }
          for j in lower..<upper {
            let weight = scores[j] * inverse
            let value = base + (first + j) * rowStride + valueColumn + kvHead * headDim
            for d in 0..<headDim { row[d] += weight * value[d] }
          }
        }
      }
    }
  }
}
