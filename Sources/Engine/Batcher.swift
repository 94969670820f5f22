import Foundation
import Synchronization

/// Gathers concurrent requests for one encoder into batches and runs them on a thread of their own, so inference
/// never blocks Swift's cooperative pool.
///
/// Batches form while the encoder is busy: a request that finds it idle starts at once (after `maxWait`, when
/// that is set, to gather company), and whatever arrives while a batch runs goes into the next one, up to
/// `maxBatchSize`. A lone client pays no waiting; many clients get batches as large as their concurrency.
final class Batcher<Input: Sendable, Output: Sendable>: Sendable {
  private struct Waiting {
    var input: Input
    var continuation: CheckedContinuation<Output, Never>
  }
  private struct State {
    var pending: [Waiting] = []
    var scheduled = false
  }

  private let state = Mutex(State())
  private let queue: DispatchQueue
  private let maxBatchSize: Int
  private let maxWait: DispatchTimeInterval
  private let run: @Sendable ([Input]) -> [Output]

  init(label: String, maxBatchSize: Int, maxWaitMicroseconds: Int, run: @escaping @Sendable ([Input]) -> [Output]) {
    queue = DispatchQueue(label: "chorus.batcher.\(label)", qos: .userInitiated)
    self.maxBatchSize = max(1, maxBatchSize)
    maxWait = .microseconds(max(0, maxWaitMicroseconds))
    self.run = run
  }

  /// Runs `input` in the next batch and returns its output.
  func submit(_ input: Input) async -> Output {
    await withCheckedContinuation { continuation in
      let start = state.withLock { state -> Bool in
        state.pending.append(Waiting(input: input, continuation: continuation))
        defer { state.scheduled = true }
        return !state.scheduled
      }
      guard start else { return }
      if maxWait == .microseconds(0) {
        queue.async { self.drain() }
      } else {
        queue.asyncAfter(deadline: .now() + maxWait) { self.drain() }
      }
    }
  }

  /// Runs batches until nothing is pending. Only ever runs on `queue`, so batches never overlap.
  private func drain() {
    while true {
      let batch = state.withLock { state -> [Waiting] in
        let batch = Array(state.pending.prefix(maxBatchSize))
        state.pending.removeFirst(batch.count)
        if batch.isEmpty { state.scheduled = false }
        return batch
      }
      if batch.isEmpty { return }
      let outputs = run(batch.map(\.input))
      for (waiting, output) in zip(batch, outputs) { waiting.continuation.resume(returning: output) }
    }
  }
}
