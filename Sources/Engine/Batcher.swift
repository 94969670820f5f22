import Foundation
import Synchronization

/// Gathers concurrent requests for one encoder into batches and runs them on a thread of their own, so inference
/// never blocks Swift's cooperative pool.
///
/// Batches form while the encoder is busy: a request that finds it idle starts at once (after `maxWait`, when
/// that is set, to gather company), and whatever arrives while a batch runs goes into the next one, up to
/// `maxBatchSize`. A lone client pays no waiting; many clients get batches as large as their concurrency.
///
/// The queue is bounded: work enters only through `admit`, which reserves places for a request's inputs before
/// they are decoded and refuses at once when `maxQueued` places are taken, or when the work already queued
/// (timed from the batches run so far) would outlast the caller's deadline. Inputs whose caller has left
/// (cancelled, or past its deadline) leave the queue without being computed.
final class Batcher<Input: Sendable, Output: Sendable>: Sendable {
  private struct Waiting {
    var input: Input
    var index: Int
    var collector: Collector<Output>
  }
  private struct State {
    var pending: [Waiting] = []
    var scheduled = false
    /// Places taken: inputs admitted and not yet started (being decoded, or pending here).
    var queued = 0
    /// Seconds one input has cost lately (moving averages over batches), in any batch and in batches at least
    /// half full: a full batch costs less per input, and a long queue runs in full batches. nil until one has run.
    var secondsPerInput: Double?
    var secondsPerInputWhenFull: Double?
    /// When the running batch is expected to end.
    var runningUntil: ContinuousClock.Instant?
  }

  private let state = Mutex(State())
  private let queue: DispatchQueue
  private let maxBatchSize: Int
  let maxQueued: Int
  private let label: String
  private let maxWait: DispatchTimeInterval
  private let run: @Sendable ([Input]) -> [Output]
  private let metrics: EncoderMetrics

  init(
    space: String, modality: Modality, maxBatchSize: Int, maxWaitMicroseconds: Int, maxQueued: Int = .max,
    run: @escaping @Sendable ([Input]) -> [Output]
  ) {
    let label = "\(space).\(modality.rawValue)"
    queue = DispatchQueue(label: "chorus.batcher.\(label)", qos: .userInitiated)
    self.label = label
    metrics = EncoderMetrics(space: space, modality: modality)
    self.maxBatchSize = max(1, maxBatchSize)
    self.maxQueued = max(1, maxQueued)
    maxWait = .microseconds(max(0, maxWaitMicroseconds))
    self.run = run
  }

  /// Inputs admitted and not yet started (the queue's depth).
  var queuedInputs: Int { state.withLock { $0.queued } }

  /// Reserves places for `count` inputs, or refuses: the queue is full (a request alone in an empty queue is
  /// always taken, so no request is too large to ever run), or the queue ahead would outlast `deadline`.
  /// `exempt` work (warm-up, class prompts) skips the size limit.
  func admit(_ count: Int, deadline: ContinuousClock.Instant?, exempt: Bool = false) throws(EngineError) -> Admission {
    let now = ContinuousClock.now
    try state.withLock { state throws(EngineError) in
      let ahead = estimatedSeconds(state, inputs: state.queued + count, now: now)
      if !exempt && state.queued > 0 && state.queued + count > maxQueued {
        metrics.queueFull.increment()
        throw .overloaded(queue: label, limit: maxQueued, retryAfterSeconds: max(0.05, estimatedSeconds(state, inputs: state.queued, now: now) ?? 1))
      }
      if let deadline, let ahead, now + .seconds(ahead) > deadline {
        metrics.deadlineUnmeetable.increment()
        throw .deadlineUnmeetable(queue: label, estimatedSeconds: ahead, remainingSeconds: max(0, (deadline - now).inSeconds))
      }
      state.queued += count
    }
    return Admission(count: count) { [weak self] unused in self?.release(unused) }
  }

  /// Seconds until `inputs` more inputs would be done: the rest of the running batch, then the inputs.
  private func estimatedSeconds(_ state: State, inputs: Int, now: ContinuousClock.Instant) -> Double? {
    let full = inputs >= maxBatchSize ? state.secondsPerInputWhenFull : nil
    guard let perInput = full ?? state.secondsPerInput else { return nil }
    let running = state.runningUntil.map { max(0, ($0 - now).inSeconds) } ?? 0
    return running + Double(inputs) * perInput
  }

  private func release(_ count: Int) {
    guard count > 0 else { return }
    state.withLock { $0.queued -= count }
  }

  /// Runs `inputs` in the next batch (they are queued together, so a request's inputs share a batch unless it
  /// is full) and returns their outputs in order. They take `admission`'s places (more are added when there are
  /// more inputs than it holds). Throws `CancellationError` when the calling task is cancelled (the front ends
  /// cancel a call whose deadline passes or whose client leaves); its inputs that have not started leave the queue.
  func submit(_ inputs: [Input], admission: Admission) async throws -> [Output] {
    let reserved = admission.take(inputs.count)
    guard !inputs.isEmpty else { return [] }
    let collector = Collector<Output>(count: inputs.count)
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        let start = state.withLock { state -> Bool in
          state.queued += inputs.count - reserved
          guard collector.attach(continuation) else {
            state.queued -= inputs.count  // cancelled before it was queued
            return false
          }
          for (index, input) in inputs.enumerated() {
            state.pending.append(Waiting(input: input, index: index, collector: collector))
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
    } onCancel: {
      withdraw(collector, because: CancellationError())
    }
  }

  /// Takes a caller's inputs that have not started out of the queue and fails its call.
  private func withdraw(_ collector: Collector<Output>, because error: any Error) {
    state.withLock { state in
      let before = state.pending.count
      state.pending.removeAll { $0.collector === collector }
      state.queued -= before - state.pending.count
      collector.fail(error)
    }
  }

  /// Runs batches until nothing is pending. Only ever runs on `queue`, so batches never overlap.
  private func drain() {
    while true {
      let batch = state.withLock { state -> [Waiting] in
        let batch = Array(state.pending.prefix(maxBatchSize))
        state.pending.removeFirst(batch.count)
        state.queued -= batch.count
        if batch.isEmpty {
          state.scheduled = false
          state.runningUntil = nil
        } else {
          state.runningUntil = state.secondsPerInput.map { .now + .seconds($0 * Double(batch.count)) }
        }
        return batch
      }
      if batch.isEmpty { return }
      let started = ContinuousClock.now
      let outputs = run(batch.map(\.input))
      let elapsed = (ContinuousClock.now - started).inSeconds
      metrics.batchSize.record(batch.count)
      metrics.inference.recordSeconds(elapsed)
      let seconds = elapsed / Double(batch.count)
      let fullish = batch.count * 2 >= maxBatchSize
      state.withLock { state in
        state.secondsPerInput = state.secondsPerInput.map { 0.7 * $0 + 0.3 * seconds } ?? seconds
        if fullish { state.secondsPerInputWhenFull = state.secondsPerInputWhenFull.map { 0.7 * $0 + 0.3 * seconds } ?? seconds }
      }
      for (waiting, output) in zip(batch, outputs) { waiting.collector.deliver(output, at: waiting.index) }
    }
  }
}

/// Places a request holds in an encoder's queue; places it does not use are given back by `release` (or when it
/// is dropped), so a request that fails half-way never leaves the queue smaller.
final class Admission: Sendable {
  private let remaining: Mutex<Int>
  private let giveBack: @Sendable (Int) -> Void

  init(count: Int, giveBack: @escaping @Sendable (Int) -> Void) {
    remaining = Mutex(count)
    self.giveBack = giveBack
  }

  /// Takes up to `count` of the places; returns how many it took.
  func take(_ count: Int) -> Int {
    remaining.withLock { remaining in
      let taken = min(count, remaining)
      remaining -= taken
      return taken
    }
  }

  func release() {
    giveBack(remaining.withLock { remaining in
      defer { remaining = 0 }
      return remaining
    })
  }

  deinit { release() }
}

/// Gathers the outputs of one submitted group, which may be spread over batches, and resumes its caller once all
/// have arrived, or at once with an error when the caller leaves. It resumes exactly once.
private final class Collector<Output: Sendable>: Sendable {
  private struct State {
    var outputs: [Output?]
    var missing: Int
    var continuation: CheckedContinuation<[Output], any Error>?
    var failure: (any Error)?
    var finished = false
  }
  private let state: Mutex<State>

  init(count: Int) {
    state = Mutex(State(outputs: Array(repeating: nil, count: count), missing: count))
  }

  /// Hands over the continuation; false (and the continuation resumed with the error) when the call already failed.
  func attach(_ continuation: CheckedContinuation<[Output], any Error>) -> Bool {
    let failure = state.withLock { state -> (any Error)? in
      if let failure = state.failure {
        state.finished = true
        return failure
      }
      state.continuation = continuation
      return nil
    }
    guard let failure else { return true }
    continuation.resume(throwing: failure)
    return false
  }

  func deliver(_ output: Output, at index: Int) {
    let done = state.withLock { state -> (CheckedContinuation<[Output], any Error>, [Output])? in
      guard !state.finished else { return nil }
      state.outputs[index] = output
      state.missing -= 1
      guard state.missing == 0, let continuation = state.continuation else { return nil }
      state.finished = true
      return (continuation, state.outputs.map { $0! })
    }
    if let (continuation, outputs) = done { continuation.resume(returning: outputs) }
  }

  func fail(_ error: any Error) {
    let continuation = state.withLock { state -> CheckedContinuation<[Output], any Error>? in
      guard !state.finished, state.failure == nil else { return nil }
      state.failure = error
      guard let continuation = state.continuation else { return nil }
      state.finished = true
      return continuation
    }
    continuation?.resume(throwing: error)
  }
}

extension Duration {
  public var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
