import CBLAS
import CMatmul
import Foundation
import Synchronization

/// A linear layer's weights packed once into oneDNN's preferred layout (OpenBLAS repacks W on every call), the rows
/// of each call cut into one chunk per core, each multiplied on its own thread (our workers: no library thread pool
/// spins between calls). Every chunk writes whole, dense output rows, so oneDNN stores straight into y and adds the
/// residual in its store (cutting by output columns instead made strided outputs, which oneDNN serves with a slower
/// kernel, or a copy through a buffer: 8 % of EfficientNet's time). A chunk oneDNN cannot run falls back to OpenBLAS.
///
/// Only oneDNN's brgemm kernels (AVX-512 and up) beat OpenBLAS in fp32; on an AVX2 CPU oneDNN 2.6 offers its jit
/// GEMM, 3–5 % slower than OpenBLAS on these shapes (measured with ONEDNN_MAX_CPU_ISA=AVX2), so fp32 packing is
/// declined there (`init(ifFasterFor:)`); bf16 and int8 always run here.
public final class PackedLinear: Sendable {
  public let outFeatures: Int
  public let inFeatures: Int
  public let precision: Precision
  private let weight: Tensor
  private let matmul: Matmul
  private let chunks: Int

  private struct Matmul: @unchecked Sendable {
    let pointer: OpaquePointer?
  }

  /// Whether fp32 linear layers are packed for oneDNN or left to OpenBLAS (`CHORUS_GEMM=openblas`).
  public static let enabled = ProcessInfo.processInfo.environment["CHORUS_GEMM"] != "openblas"

  /// nil when oneDNN would not run these fp32 weights on a brgemm kernel (see above): the caller keeps OpenBLAS.
  public convenience init?(ifFasterFor weight: Tensor) {
    self.init(weight: weight)
    guard let kernel = kernel(rows: 256), kernel.hasPrefix("brg") else { return nil }
  }

  /// `precision` must be one the CPU computes (`Precision.unsupportedReason`); if oneDNN refuses the weights, every
  /// call runs in fp32 OpenBLAS. `chunks`: the most row chunks a call is cut into (one per core).
  public init(weight: Tensor, precision: Precision = .fp32, chunks: Int = ProcessInfo.processInfo.activeProcessorCount) {
    self.weight = weight
    self.precision = precision
    self.chunks = max(1, chunks)
    outFeatures = weight.shape[0]
    inFeatures = weight.shape[1]
    var error = [CChar](repeating: 0, count: 256)
    matmul = Matmul(pointer: chorus_matmul_create(weight.data, Int64(outFeatures), Int64(inFeatures), precision.oneDNN, &error, error.count))
  }

  deinit {
    chorus_matmul_destroy(matmul.pointer)
  }

  /// The oneDNN kernel serving `rows` rows (e.g. "brg:avx512_core_vnni"), for benchmarks and tests.
  public func kernel(rows: Int) -> String? {
    matmul.pointer.flatMap { chorus_matmul_kernel($0, Int64(rows)) }.map { String(cString: $0) }
  }

  /// y = x · Wᵀ + b, or y += x · Wᵀ + b when `accumulate`.
  public func apply(_ x: Tensor, bias: Tensor?, into y: Tensor, accumulate: Bool) {
    let rows = x.count / inFeatures, out = outFeatures, k = inFeatures
    precondition(y.count == rows * out, "packed linear: output \(y.shape) for \(rows)×\(out)")
    let matmul = self.matmul, weight = self.weight
    // Equal chunks; bf16 and int8 pad each call's rows to a multiple of 8 (fewer primitives for text's changing row
    // counts), so their chunks are whole blocks of 8 and only the last one is padded.
    let even = (rows + chunks - 1) / chunks, perChunk = precision == .fp32 ? max(1, even) : (even + 7) / 8 * 8
    let count = (rows + perChunk - 1) / perChunk
    func multiply(_ range: Range<Int>) {
      var error = [CChar](repeating: 0, count: 256)
      for chunk in range {
        let first = chunk * perChunk, height = min(perChunk, rows - first)
        let source = x.data + first * k, target = y.data + first * out
        if let pointer = matmul.pointer,
          chorus_matmul_run_part(pointer, source, Int64(height), target, Int64(out), bias.map { UnsafePointer($0.data) }, accumulate ? 1 : 0, &error, error.count)
            == 0
        {
          continue
        }
        // OpenBLAS for these rows: bias first, then the product added (β = 1) or written (β = 0).
        if let bias {
          for r in 0..<height {
            let row = target + r * out
            for c in 0..<out { row[c] = (accumulate ? row[c] : 0) + bias.data[c] }
          }
        }
        cblas_sgemm(
          CblasRowMajor, CblasNoTrans, CblasTrans, Int32(height), Int32(out), Int32(k), 1, source, Int32(k), weight.data, Int32(k),
          accumulate || bias != nil ? 1 : 0, target, Int32(out))
      }
    }
    // Small bf16/int8 products of few rows (a short text) run on the calling thread: they are 2–3× faster than fp32's,
    // so waking the other core costs more than it saves (see `inlineMultiplyAdds`).
    if count == 1 || (precision != .fp32 && rows <= 32 && rows * k * out < inlineMultiplyAdds) {
      multiply(0..<count)
    } else {
      parallelChunks(count, multiply)
    }
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
