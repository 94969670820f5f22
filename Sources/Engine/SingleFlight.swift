import Synchronization

/// Runs one computation per key at a time: a caller asking for a key already in flight waits for that run
/// instead of starting another (identical inputs from several clients are computed once).
final class SingleFlight<Value: Sendable>: Sendable {
  private let running = Mutex<[String: Task<Value, Never>]>([:])

  func run(_ key: String, _ compute: @escaping @Sendable () async -> Value) async -> Value {
    let task = running.withLock { running -> Task<Value, Never> in
      if let task = running[key] { return task }
      let task = Task { await compute() }
      running[key] = task
      return task
    }
    let value = await task.value
    running.withLock { running in
      if running[key] == task { running[key] = nil }
    }
    return value
  }
}
