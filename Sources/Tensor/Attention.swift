import CBLAS

/// Scaled dot-product multi-head attention over a padded batch.
///
/// `q`, `k`, `v` point at [batch · seq, hidden] matrices (hidden = heads · headDim) whose rows are `rowStride`
/// floats apart (a fused QKV projection gives rows of 3·hidden with q, k and v side by side); the result is a
/// dense [batch · seq, hidden]. A head is a column block addressed through BLAS leading dimensions, so nothing is
/// transposed or copied.
/// `lengths[b]` is the number of real tokens of item b; keys past it are masked (padding). With `causal`, token i
/// sees keys ≤ i only. Padded query rows are computed against the real keys and are to be ignored by the caller.
public func attention(
  q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, rowStride: Int, into output: Tensor,
  batch: Int, sequence: Int, heads: Int, lengths: [Int], causal: Bool
) {
  let hidden = output.shape[output.shape.count - 1]
  let headDim = hidden / heads
  let scale = 1 / Float(headDim).squareRoot()
  let scores = UnsafeMutablePointer<Float>.allocate(capacity: sequence * sequence)
  defer { scores.deallocate() }
  for b in 0..<batch {
    let length = lengths[b]
    for h in 0..<heads {
      let offset = b * sequence * rowStride + h * headDim
      // scores[i, j] = q_i · k_j · scale, for the item's real keys only.
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(sequence), Int32(length), Int32(headDim),
        scale, q + offset, Int32(rowStride), k + offset, Int32(rowStride), 0, scores, Int32(length))
      for i in 0..<sequence {
        let row = scores + i * length
        let visible = causal ? min(i + 1, length) : length
        for j in visible..<length { row[j] = -.infinity }
        softmaxRow(row, count: length)
      }
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(sequence), Int32(headDim), Int32(length),
        1, scores, Int32(length), v + offset, Int32(rowStride), 0, output.data + b * sequence * hidden + h * headDim, Int32(hidden))
    }
  }
}
