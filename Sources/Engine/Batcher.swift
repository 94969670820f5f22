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
    var deliver: @Sendable (Output) -> Void
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

  /// Runs `inputs` in the next batch (they are queued together, so a request's inputs share a batch unless it
  /// is full) and returns their outputs in order.
  func submit(_ inputs: [Input]) async -> [Output] {
    guard !inputs.isEmpty else { return [] }
    return await withCheckedContinuation { continuation in
      let collector = Collector<Output>(count: inputs.count, continuation: continuation)
      let start = state.withLock { state -> Bool in
        for (index, input) in inputs.enumerated() {
          state.pending.append(Waiting(input: input) { collector.deliver($0, at: index) })
        }
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
      for (waiting, output) in zip(batch, outputs) { waiting.deliver(output) }
    }
  }
}

/// Gathers the outputs of one submitted group, which may be spread over batches, and resumes its caller once all
/// have arrived.
private final class Collector<Output: Sendable>: Sendable {
  private let state: Mutex<(outputs: [Output?], missing: Int)>
  private let continuation: CheckedContinuation<[Output], Never>

  init(count: Int, continuation: CheckedContinuation<[Output], Never>) {
    state = Mutex((Array(repeating: nil, count: count), count))
    self.continuation = continuation
  }

  func deliver(_ output: Output, at index: Int) {
    let done = state.withLock { state -> [Output]? in
      state.outputs[index] = output
      state.missing -= 1
      return state.missing == 0 ? state.outputs.map { $0! } : nil
    }
    if let done { continuation.resume(returning: done) }
  }
}
