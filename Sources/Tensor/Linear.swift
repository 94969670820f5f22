import CBLAS

/// y = x · Wᵀ + b for every row of x at once, as PyTorch's `nn.Linear` (weight shaped [out, in]).
/// One GEMM over all rows: callers pass all tokens of all batch items together so BLAS sees big matrices.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor) {
  let rows = x.count / x.shape[x.shape.count - 1]
  let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
  precondition(x.shape[x.shape.count - 1] == inFeatures, "linear: input width \(x.shape) vs weight \(weight.shape)")
  precondition(y.count == rows * outFeatures, "linear: output \(y.shape) for \(rows)×\(outFeatures)")
  if let bias {
    for r in 0..<rows { (y.data + r * outFeatures).update(from: bias.data, count: outFeatures) }
  }
  cblas_sgemm(
    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outFeatures), Int32(inFeatures),
    1, x.data, Int32(inFeatures), weight.data, Int32(inFeatures), bias == nil ? 0 : 1, y.data, Int32(outFeatures))
}

/// y += x · Wᵀ + b: the residual add folded into the GEMM (β = 1), saving a pass over y.
public func linearAccumulate(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor) {
  let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
  let rows = x.count / inFeatures
  precondition(y.count == rows * outFeatures, "linearAccumulate: output \(y.shape) for \(rows)×\(outFeatures)")
  if let bias {
    for r in 0..<rows {
      let row = y.data + r * outFeatures
      for o in 0..<outFeatures { row[o] += bias.data[o] }
    }
  }
  cblas_sgemm(
    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outFeatures), Int32(inFeatures),
    1, x.data, Int32(inFeatures), weight.data, Int32(inFeatures), 1, y.data, Int32(outFeatures))
}

/// Returns a new tensor y = x · Wᵀ + b.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
  var shape = x.shape
  shape[shape.count - 1] = weight.shape[0]
  let y = Tensor(zeros: shape)
  linear(x, weight: weight, bias: bias, into: y)
  return y
}

/// Limits OpenBLAS's own threads (it otherwise takes every core).
public func setBLASThreads(_ count: Int) {
  openblas_set_num_threads(Int32(count))
}
