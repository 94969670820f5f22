import Synchronization

/// Runs one computation per key at a time: keys already being computed join that computation (identical inputs
/// from several clients are computed once), and the keys of one call that nobody is computing yet are computed
/// together by one call of `compute` (so they reach the batcher as one group).
///
/// A computation belongs to everyone waiting for it: when the last of them leaves (its task is cancelled), the
/// computation is cancelled too, so nothing is computed for callers who are gone.
final class SingleFlight<Value: Sendable>: Sendable {
  private final class Flight: Sendable {
    let task: Task<[String: Value], any Error>
    init(_ task: Task<[String: Value], any Error>) { self.task = task }
  }
  private struct State {
    var running: [String: Flight] = [:]
    var waiters: [ObjectIdentifier: Int] = [:]
  }
  private let state = Mutex(State())

  func run(_ keys: [String], _ compute: @escaping @Sendable ([String]) async throws -> [String: Value]) async throws -> [String: Value] {
    let flights = state.withLock { state -> [Flight] in
      var flights: [Flight] = []
      var fresh: [String] = []
      for key in Set(keys) {
        if let flight = state.running[key] {
          if !flights.contains(where: { $0 === flight }) { flights.append(flight) }
        } else {
          fresh.append(key)
        }
      }
      if !fresh.isEmpty {
        let flight = Flight(Task { try await compute(fresh) })
        for key in fresh { state.running[key] = flight }
        flights.append(flight)
      }
      for flight in flights { state.waiters[ObjectIdentifier(flight), default: 0] += 1 }
      return flights
    }
    // Each of this caller's flights is let go exactly once: when its value arrives, or when the caller leaves.
    let held = Mutex(Set(flights.map(ObjectIdentifier.init)))
    let letGo = { @Sendable (flight: Flight) in
      if held.withLock({ $0.remove(ObjectIdentifier(flight)) != nil }) { self.leave(flight) }
    }
    defer { for flight in flights { letGo(flight) } }
    var values: [String: Value] = [:]
    for flight in flights {
      let computed = try await withTaskCancellationHandler {
        try await flight.task.value
      } onCancel: {
        for flight in flights { letGo(flight) }
      }
      letGo(flight)
      values.merge(computed) { first, _ in first }
    }
    try Task.checkCancellation()
    return values
  }

  /// One waiter is done with `flight` (got its value or left). The last one out takes its keys off the table, and
  /// cancels it if it is still running.
  private func leave(_ flight: Flight) {
    state.withLock { state in
      let id = ObjectIdentifier(flight)
      guard let count = state.waiters[id] else { return }
      if count > 1 {
        state.waiters[id] = count - 1
        return
      }
      state.waiters[id] = nil
      for (key, running) in state.running where running === flight { state.running[key] = nil }
      flight.task.cancel()
    }
  }
}
