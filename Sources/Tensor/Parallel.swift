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
