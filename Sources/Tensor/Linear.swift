import CBLAS
import Foundation

/// y = x · Wᵀ + b for every row of x at once, as PyTorch's `nn.Linear` (weight shaped [out, in]).
/// One GEMM over all rows: callers pass all tokens of all batch items together so BLAS sees big matrices.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor) {
  let rows = x.count / x.shape[x.shape.count - 1]
  let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
  precondition(x.shape[x.shape.count - 1] == inFeatures, "linear: input width \(x.shape) vs weight \(weight.shape)")
  precondition(y.count == rows * outFeatures, "linear: output \(y.shape) for \(rows)×\(outFeatures)")
  _ = blasConfigured
  if let bias {
    for r in 0..<rows { (y.data + r * outFeatures).update(from: bias.data, count: outFeatures) }
  }
  gemmOverOutputs(x, weight: weight, into: y, rows: rows, beta: bias == nil ? 0 : 1)
}

/// x · Wᵀ (+ β·y), the output columns split across the cores, each running single-threaded OpenBLAS on its
/// share of W. Splitting outputs packs every weight once (splitting rows would pack W on every core), and our
/// own workers, unlike OpenBLAS's, do not spin between calls and steal the cores from the elementwise kernels.
func gemmOverOutputs(_ x: Tensor, weight: Tensor, into y: Tensor, rows: Int, beta: Float) {
  let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
  let step = 64
  let smallStep = max(16, (smallGEMMLimit / max(rows * inFeatures, 1)) / 16 * 16)
  parallelChunks((outFeatures + step - 1) / step, minimumPerChunk: 2) { blocks in
    let first = blocks.lowerBound * step, end = min(blocks.upperBound * step, outFeatures)
    // Few rows: calls small enough for OpenBLAS's unpacked small-matrix kernels (packing W would cost more
    // than multiplying it).
    let chunk = rows <= 32 ? smallStep : end - first
    for start in stride(from: first, to: end, by: chunk) {
      let count = min(chunk, end - start)
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(count), Int32(inFeatures),
        1, x.data, Int32(inFeatures), weight.data + start * inFeatures, Int32(inFeatures), beta, y.data + start, Int32(outFeatures))
    }
  }
}

/// y += x · Wᵀ + b: the residual add folded into the GEMM (β = 1), saving a pass over y.
public func linearAccumulate(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor) {
  let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
  let rows = x.count / inFeatures
  precondition(y.count == rows * outFeatures, "linearAccumulate: output \(y.shape) for \(rows)×\(outFeatures)")
  _ = blasConfigured
  if let bias {
    for r in 0..<rows {
      let row = y.data + r * outFeatures
      for o in 0..<outFeatures { row[o] += bias.data[o] }
    }
  }
  gemmOverOutputs(x, weight: weight, into: y, rows: rows, beta: 1)
}

/// Returns a new tensor y = x · Wᵀ + b.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
  var shape = x.shape
  shape[shape.count - 1] = weight.shape[0]
  let y = Tensor(zeros: shape)
  linear(x, weight: weight, bias: bias, into: y)
  return y
}

/// Limits OpenBLAS's own threads. Chorus runs it single-threaded and parallelises GEMMs itself
/// (`gemmOverOutputs`); this is for comparisons.
public func setBLASThreads(_ count: Int) {
  openblas_set_num_threads(Int32(count))
}

/// Largest m·n·k OpenBLAS sends to its small-matrix kernels (SMALL_MATRIX_OPT, 0.3.17+).
let smallGEMMLimit = Int(ProcessInfo.processInfo.environment["CHORUS_SMALL_GEMM"] ?? "") ?? 300_000

/// OpenBLAS single-threaded, once per process, before the first GEMM.
let blasConfigured: Void = openblas_set_num_threads(1)

/// y = x · B with B already laid out [k, n] (benchmarks compare it with the [n, k] layout `linear` uses).
public func gemmNN(_ x: Tensor, _ b: Tensor, _ y: Tensor, m: Int, n: Int, k: Int) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, x.data, Int32(k), b.data, Int32(n), 0, y.data, Int32(n))
}
