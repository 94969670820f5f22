import CBLAS
import Foundation

/// Scaled dot-product multi-head attention over a padded batch.
///
/// `q`, `k`, `v` point at [batch · seq, hidden] matrices (hidden = heads · headDim) whose rows are `rowStride`
/// floats apart (a fused QKV projection gives rows of 3·hidden with q, k and v side by side); the result is a
/// dense [batch · seq, hidden]. A head is a column block addressed through BLAS leading dimensions, so nothing is
/// transposed or copied.
/// `lengths[b]` is the number of real tokens of item b; keys past it are masked (padding). With `causal`, token i
/// sees keys ≤ i only. `bias`, if given, is added to the scaled scores: [heads, sequence, sequence], the same for
/// every item (MPNet's relative position buckets). Padded query rows are computed against the real keys and are
/// to be ignored by the caller.
public func attention(
  q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, rowStride: Int, into output: Tensor,
  batch: Int, sequence: Int, heads: Int, lengths: [Int], causal: Bool, bias: UnsafePointer<Float>? = nil
) {
  let hidden = output.shape[output.shape.count - 1]
  let headDim = hidden / heads
  let scale = 1 / Float(headDim).squareRoot()
  if sequence <= shortAttentionLimit {
    shortAttention(q: q, k: k, v: v, rowStride: rowStride, into: output, batch: batch, sequence: sequence, heads: heads, headDim: headDim, scale: scale, lengths: lengths, causal: causal, bias: bias)
    return
  }
  // Per (item, head): scores by one GEMM, softmax in place, then one GEMM with the values; items and heads are
  // spread over the cores (OpenBLAS itself runs single-threaded).
  parallelChunks(batch * heads) { range in
    let scores = UnsafeMutablePointer<Float>.allocate(capacity: sequence * sequence)
    defer { scores.deallocate() }
    for job in range {
      let b = job / heads, h = job % heads
      let length = lengths[b]
      let offset = b * sequence * rowStride + h * headDim
      // scores[i, j] = q_i · k_j · scale, for the item's real keys only.
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(sequence), Int32(length), Int32(headDim),
        scale, q + offset, Int32(rowStride), k + offset, Int32(rowStride), 0, scores, Int32(length))
      for i in 0..<sequence {
        let row = scores + i * length
        let visible = causal ? min(i + 1, length) : length
        if let bias {
          let biasRow = bias + (h * sequence + i) * sequence
          for j in 0..<visible { row[j] += biasRow[j] }
        }
        for j in visible..<length { row[j] = -.infinity }
        softmaxRow(row, count: length)
      }
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(sequence), Int32(headDim), Int32(length),
        1, scores, Int32(length), v + offset, Int32(rowStride), 0, output.data + b * sequence * hidden + h * headDim, Int32(hidden))
    }
  }
}

/// Attention for short sequences (text): per (item, head) the work is a few thousand multiply-adds, too small
/// for a BLAS call to pay for its packing and thread hand-off, so it is plain loops, items and heads spread
/// over the cores.
private func shortAttention(
  q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, rowStride: Int, into output: Tensor,
  batch: Int, sequence: Int, heads: Int, headDim: Int, scale: Float, lengths: [Int], causal: Bool, bias: UnsafePointer<Float>?
) {
  let hidden = heads * headDim
  let out = output.data
  parallelChunks(batch * heads) { range in
    withUnsafeTemporaryAllocation(of: Float.self, capacity: sequence) { scores in
      for job in range {
        let b = job / heads, h = job % heads
        let length = lengths[b]
        let base = b * sequence * rowStride + h * headDim
        for i in 0..<sequence {
          let visible = causal ? min(i + 1, length) : length
          let query = q + base + i * rowStride
          var maximum = -Float.infinity
          for j in 0..<visible {
            let key = k + base + j * rowStride
            var dot: Float = 0
            for d in 0..<headDim { dot += query[d] * key[d] }
            scores[j] = dot * scale + (bias?[(h * sequence + i) * sequence + j] ?? 0)
            maximum = max(maximum, scores[j])
          }
          var sum: Float = 0
          for j in 0..<visible {
            scores[j] = fastExp(scores[j] - maximum)
            sum += scores[j]
          }
          let inverse = 1 / sum
          let row = out + (b * sequence + i) * hidden + h * headDim
          for d in 0..<headDim { row[d] = 0 }
          for j in 0..<visible {
            let weight = scores[j] * inverse
            let value = v + base + j * rowStride
            for d in 0..<headDim { row[d] += weight * value[d] }
          }
        }
      }
    }
  }
}

/// Longest sequence the loop kernel takes; longer ones go through BLAS per head.
let shortAttentionLimit = Int(ProcessInfo.processInfo.environment["CHORUS_SHORT_ATTENTION"] ?? "") ?? 32
