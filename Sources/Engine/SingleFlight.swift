import Synchronization

/// Runs one computation per key at a time: keys already being computed join that computation (identical inputs
/// from several clients are computed once), and the keys of one call that nobody is computing yet are computed
/// together by one call of `compute` (so they reach the batcher as one group).
final class SingleFlight<Value: Sendable>: Sendable {
  private let running = Mutex<[String: Task<[String: Value], Never>]>([:])

  func run(_ keys: [String], _ compute: @escaping @Sendable ([String]) async -> [String: Value]) async -> [String: Value] {
    let (joined, own) = running.withLock { running -> ([String: Task<[String: Value], Never>], Task<[String: Value], Never>?) in
      var joined: [String: Task<[String: Value], Never>] = [:]
      var fresh: [String] = []
      for key in Set(keys) {
        if let task = running[key] { joined[key] = task } else { fresh.append(key) }
      }
      guard !fresh.isEmpty else { return (joined, nil) }
      let task = Task { await compute(fresh) }
      for key in fresh { running[key] = task }
      return (joined, task)
    }
    var values: [String: Value] = [:]
    if let own {
      values = await own.value
      running.withLock { running in
        for key in values.keys where running[key] == own { running[key] = nil }
      }
    }
    for (key, task) in joined { values[key] = await task.value[key] }
    return values
  }
}
