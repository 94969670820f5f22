import CBLAS
import CMatmul
import Foundation
import Synchronization

/// A linear layer's weights packed once into oneDNN's preferred layout, cut by output columns into one part per
/// core: each core multiplies its part on its own thread (as `gemmOverOutputs` does with OpenBLAS), so no library
/// thread pool spins between calls, and no weight is packed again per call (OpenBLAS repacks W on every call).
/// A part oneDNN cannot run falls back to OpenBLAS for its columns, so a call always completes.
///
/// Only oneDNN's brgemm kernels (AVX-512 and up) beat OpenBLAS here; on an AVX2 CPU oneDNN 2.6 offers its jit GEMM,
/// 3–5 % slower than OpenBLAS on these shapes (measured with ONEDNN_MAX_CPU_ISA=AVX2), so packing is declined there.
public final class PackedLinear: Sendable {
  public let outFeatures: Int
  public let inFeatures: Int
  public let precision: Precision
  private let weight: Tensor
  private let parts: [Part]

  private struct Part: @unchecked Sendable {
    let columns: Range<Int>
    let matmul: OpaquePointer?
  }

  /// Whether fp32 linear layers are packed for oneDNN or left to OpenBLAS (`CHORUS_GEMM=openblas`).
  public static let enabled = ProcessInfo.processInfo.environment["CHORUS_GEMM"] != "openblas"

  /// nil when oneDNN would not run these fp32 weights on a brgemm kernel (see above): the caller keeps OpenBLAS.
  public convenience init?(ifFasterFor weight: Tensor) {
    self.init(weight: weight)
    guard let first = parts.first?.matmul, let kernel = chorus_matmul_kernel(first, 256), String(cString: kernel).hasPrefix("brg") else { return nil }
  }

  /// `precision` must be one the CPU computes (`Precision.check()`); a part oneDNN refuses falls back to fp32 OpenBLAS.
  public init(weight: Tensor, precision: Precision = .fp32, parts count: Int = ProcessInfo.processInfo.activeProcessorCount) {
    self.weight = weight
    self.precision = precision
    outFeatures = weight.shape[0]
    inFeatures = weight.shape[1]
    // Whole 16-column blocks (a kernel's vector width) per part, one part per core.
    let blocks = (outFeatures + 15) / 16, perPart = (blocks + max(1, count) - 1) / max(1, count)
    var error = [CChar](repeating: 0, count: 256)
    parts = stride(from: 0, to: blocks, by: perPart).map { first in
      let columns = first * 16..<min((first + perPart) * 16, weight.shape[0])
      let matmul = chorus_matmul_create(
        weight.data + columns.lowerBound * weight.shape[1], Int64(columns.count), Int64(weight.shape[1]), precision.oneDNN, &error, error.count)
      return Part(columns: columns, matmul: matmul)
    }
  }

  deinit {
    for part in parts { chorus_matmul_destroy(part.matmul) }
  }

  /// The oneDNN kernel serving `rows` rows (e.g. "brg:avx512_core_vnni"), for benchmarks and tests.
  public func kernel(rows: Int) -> String? {
    parts.first?.matmul.flatMap { chorus_matmul_kernel($0, Int64(rows)) }.map { String(cString: $0) }
  }

  /// y = x · Wᵀ + b, or y += x · Wᵀ + b when `accumulate`.
  public func apply(_ x: Tensor, bias: Tensor?, into y: Tensor, accumulate: Bool) {
    let rows = x.count / inFeatures, out = outFeatures, k = inFeatures
    precondition(y.count == rows * out, "packed linear: output \(y.shape) for \(rows)×\(out)")
    let parts = self.parts, weight = self.weight
    func multiply(_ range: Range<Int>) {
      var error = [CChar](repeating: 0, count: 256)
      for index in range {
        let part = parts[index], first = part.columns.lowerBound
        if let matmul = part.matmul,
          chorus_matmul_run_part(
            matmul, x.data, Int64(rows), y.data + first, Int64(out), bias.map { UnsafePointer($0.data + first) }, accumulate ? 1 : 0, &error, error.count)
            == 0
        {
          continue
        }
        // OpenBLAS for these columns: bias first, then the product added (β = 1) or written (β = 0).
        if let bias {
          for r in 0..<rows {
            let row = y.data + r * out + first
            for c in 0..<part.columns.count { row[c] = (accumulate ? row[c] : 0) + bias.data[first + c] }
          }
        }
        cblas_sgemm(
          CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(part.columns.count), Int32(k), 1, x.data, Int32(k),
          weight.data + first * k, Int32(k), accumulate || bias != nil ? 1 : 0, y.data + first, Int32(out))
      }
    }
    // Small bf16/int8 products run every part on the calling thread: they are 2–3× faster than fp32's, so waking the
    // other core costs more than it saves (fp32 gains from the split even there: measured, see `inlineMultiplyAdds`).
    if precision != .fp32 && rows * k * out < inlineMultiplyAdds { multiply(0..<parts.count) } else { parallelChunks(parts.count, multiply) }
  }
}

/// Packs a layer's weights on first use (layers whose weights only feed a fused one, q, k, v, are never packed);
/// nil when packing would not be faster on this CPU.
public final class LazyPackedLinear: Sendable {
  private let weight: Tensor
  public let precision: Precision
  private let packed = Mutex<PackedLinear??>(nil)

  public init(weight: Tensor, precision: Precision = .fp32) {
    self.weight = weight
    self.precision = precision
  }

  public var value: PackedLinear? {
    packed.withLock { slot in
      if let slot { return slot }
      let made = precision == .fp32 ? PackedLinear(ifFasterFor: weight) : PackedLinear(weight: weight, precision: precision)
      slot = .some(made)
      return made
    }
  }
}
