import CBLAS
import CKernels
import Foundation

/// Scaled dot-product multi-head attention over a batch of token sequences laid out by `layout`.
///
/// `q`, `k`, `v` point at [layout.rows, hidden] matrices (hidden = heads · headDim) whose rows are `rowStride`
/// floats apart (a fused QKV projection gives rows of 3·hidden with q, k and v side by side); the result is a
/// dense [layout.rows, hidden]. A head is a column block addressed through BLAS leading dimensions, so nothing is
/// transposed or copied. Item b's queries see its own `lengths[b]` keys only; with `causal`, token i sees keys ≤ i.
/// `bias`, if given, is added to the scaled scores: [heads, L, L] with L = layout.longest, the same for every item
/// (MPNet's relative position buckets). Padding rows of a padded layout come out as zeros.
public func attention(
  q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, rowStride: Int, into output: Tensor,
  layout: TokenLayout, heads: Int, causal: Bool, bias: UnsafePointer<Float>? = nil
) {
  let hidden = output.shape[output.shape.count - 1]
  let headDim = hidden / heads
  let scale = 1 / Float(headDim).squareRoot()
  let longest = layout.longest
  zeroPadding(output, layout: layout)
  if longest <= shortAttentionLimit {
    shortAttention(q: q, k: k, v: v, rowStride: rowStride, into: output, layout: layout, heads: heads, headDim: headDim, scale: scale, causal: causal, bias: bias)
    return
  }
  // Per (item, head): scores by one GEMM, softmax in place, then one GEMM with the values; items and heads are
  // spread over the cores (OpenBLAS itself runs single-threaded).
  parallelChunks(layout.count * heads) { range in
    let scores = UnsafeMutablePointer<Float>.allocate(capacity: longest * longest)
    defer { scores.deallocate() }
    for job in range {
      let b = job / heads, h = job % heads
      let length = layout.lengths[b]
      guard length > 0 else { continue }
      let offset = layout.starts[b] * rowStride + h * headDim
      // scores[i, j] = q_i · k_j · scale over the item's tokens.
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(length), Int32(length), Int32(headDim),
        scale, q + offset, Int32(rowStride), k + offset, Int32(rowStride), 0, scores, Int32(length))
      for i in 0..<length {
        let row = scores + i * length
        let visible = causal ? i + 1 : length
        if let bias {
          let biasRow = bias + (h * longest + i) * longest
          for j in 0..<visible { row[j] += biasRow[j] }
        }
        for j in visible..<length { row[j] = -.infinity }
        softmaxRow(row, count: length)
      }
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(length), Int32(headDim), Int32(length),
        1, scores, Int32(length), v + offset, Int32(rowStride), 0, output.data + layout.starts[b] * hidden + h * headDim, Int32(hidden))
    }
  }
}

/// Zeros the rows of a padded layout that belong to no token (attention never writes them).
func zeroPadding(_ output: Tensor, layout: TokenLayout) {
  let width = output.shape[output.shape.count - 1]
  for b in 0..<layout.count {
    let end = layout.starts[b] + layout.lengths[b]
    let next = b + 1 < layout.count ? layout.starts[b + 1] : layout.rows
    if next > end { (output.data + end * width).update(repeating: 0, count: (next - end) * width) }
  }
}

/// Attention for short sequences (text): per (item, head) the work is a few thousand multiply-adds, too small
/// for a BLAS call to pay for its packing and thread hand-off, so it is plain loops, items and heads spread
/// over the cores.
private func shortAttention(
  q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, rowStride: Int, into output: Tensor,
  layout: TokenLayout, heads: Int, headDim: Int, scale: Float, causal: Bool, bias: UnsafePointer<Float>?
) {
  let hidden = heads * headDim
  let out = output.data
  let longest = layout.longest
  parallelChunks(layout.count * heads) { range in
    withUnsafeTemporaryAllocation(of: Float.self, capacity: max(longest, 1)) { scores in
      for job in range {
        let b = job / heads, h = job % heads
        let length = layout.lengths[b]
        let base = layout.starts[b] * rowStride + h * headDim
        for i in 0..<length {
          let row = out + (layout.starts[b] + i) * hidden + h * headDim
          chorus_attention_row(
            q + base + i * rowStride, k + base, v + base, rowStride, causal ? i + 1 : length, headDim, scale,
            bias.map { $0 + (h * longest + i) * longest }, scores.baseAddress!, row)
        }
      }
    }
  }
}

/// Longest sequence the loop kernel takes; longer ones go through BLAS per head.
let shortAttentionLimit = Int(ProcessInfo.processInfo.environment["CHORUS_SHORT_ATTENTION"] ?? "") ?? 32
