import Dispatch
import Foundation

/// Splits `0..<count` into one contiguous chunk per core and runs `body` on each chunk in parallel; small
/// jobs (under `minimumPerChunk` items per core) run inline, where spreading them would cost more than it saves.
@inline(__always)
public func parallelChunks(_ count: Int, minimumPerChunk: Int = 1, _ body: (Range<Int>) -> Void) {
  let cores = ProcessInfo.processInfo.activeProcessorCount
  let chunks = max(1, min(cores, count / max(minimumPerChunk, 1)))
  if chunks == 1 {
    body(0..<count)
    return
  }
  let size = (count + chunks - 1) / chunks
  // The chunks touch disjoint ranges and concurrentPerform returns only when all are done, so handing the
  // non-Sendable body (and the pointers it holds) to the workers is safe.
  nonisolated(unsafe) let body = body
  DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
    let start = chunk * size
    if start < count { body(start..<min(start + size, count)) }
  }
}

/// Multiply-adds below which a bf16 or int8 product of at most 32 rows is not split across cores: waking the other
/// core costs more than it saves (measured on MiniLM's 14-token texts, `chorus-bench text`: int8 batch 1 337 → 487
/// texts/s, bf16 288 → 306). Not by size alone: EfficientNet's small products have many rows and gained from the
/// split (int8 batch 16 169–171 → 187–191 images/s); fp32 always splits (OpenBLAS MiniLM batch 1 149 → 187, CLIP's
/// packed fp32 16.9 → 17.6 images/s). `CHORUS_INLINE_WORK` overrides it for such measurements.
let inlineMultiplyAdds = Int(ProcessInfo.processInfo.environment["CHORUS_INLINE_WORK"] ?? "") ?? 32_000_000
