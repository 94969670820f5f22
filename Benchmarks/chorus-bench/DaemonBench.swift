import ChorusAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// texts/s through a real chorusd (release build beside this binary) over its Unix socket: the same texts as
/// the in-process figure, so the two can be compared.
func daemonThroughput(texts: [String], seconds: Double, binDirectory: String) async throws -> [(String, Double)] {
  let daemon = try BenchDaemon(name: "daemon", binDirectory: binDirectory)
  defer { daemon.stop() }
  let socket = daemon.socket
  let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: socket), transportSecurity: .plaintext)
  return try await withGRPCClient(transport: transport) { client in
    let embedding = Chorus_V1_EmbeddingService.Client(wrapping: client)
    try await daemon.waitUntilServing(client)
    // Consecutive slices of the distinct texts, as separate users' texts would be.
    let counter = Counter()
    @Sendable func request(_ size: Int) async -> Chorus_V1_EmbedRequest {
      let base = await counter.next(size)
      // bypass_cache: these figures are about computing, not about the cache.
      return .with {
        $0.inputs = (0..<size).map { i in .with { $0.text = texts[(base + i) % texts.count] } }
        $0.options.bypassCache = true
      }
    }
    // Cache-hit latency: the same text again and again, one request at a time.
    let hit = Chorus_V1_EmbedRequest.with { $0.inputs = [.with { $0.text = texts[0] }] }
    _ = try await embedding.embed(hit)
    var latencies: [Double] = []
    for _ in 0..<2000 {
      let start = DispatchTime.now().uptimeNanoseconds
      _ = try await embedding.embed(hit)
      latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    latencies.sort()
    var baseline: [Double] = []
    let system = Chorus_V1_SystemService.Client(wrapping: client)
    for _ in 0..<2000 {
      let start = DispatchTime.now().uptimeNanoseconds
      _ = try await system.getInfo(.init())
      baseline.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    baseline.sort()
    print("  GetInfo round trip (gRPC floor): p50 \(String(format: "%.3f", baseline[1000])) ms, p99 \(String(format: "%.3f", baseline[1980])) ms")
    print("  cache-hit embed latency over the socket: p50 \(String(format: "%.3f", latencies[1000])) ms, p99 \(String(format: "%.3f", latencies[1980])) ms (2000 requests)")
    var results: [(String, Double)] = []
    for (label, size, clients) in [("batch 32, 1 client", 32, 1), ("batch 32, 2 concurrent clients", 32, 2), ("batch 1, 1 client", 1, 1), ("batch 1, 32 concurrent clients", 1, 32)] {
      _ = try await embedding.embed(await request(size))
      results.append((label, try await inputsPerSecond(clients: clients, seconds: seconds, perCall: size) { _ = try await embedding.embed(await request(size)) }))
    }
    return results
  }
}

/// Inputs per second with `clients` concurrent callers each repeating `call` (which sends `perCall` inputs) for
/// `seconds`.
func inputsPerSecond(clients: Int, seconds: Double, perCall: Int, _ call: @escaping @Sendable () async throws -> Void) async throws -> Double {
  let start = Date()
  let done = try await withThrowingTaskGroup(of: Int.self) { group in
    for _ in 0..<clients {
      group.addTask {
        var done = 0
        while Date().timeIntervalSince(start) < seconds {
          try await call()
          done += perCall
        }
        return done
      }
    }
    return try await group.reduce(0, +)
  }
  return Double(done) / Date().timeIntervalSince(start)
}

/// A release chorusd (the one built beside chorus-bench) on a socket in a fresh temp dir, logging warnings only.
struct BenchDaemon {
  let directory: String
  let socket: String
  let process = Process()

  init(name: String, binDirectory: String, extraArguments: [String] = []) throws {
    directory = "/tmp/chorus-bench-\(name)-\(getpid())"
    socket = directory + "/chorus.sock"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    process.executableURL = URL(fileURLWithPath: binDirectory + "/chorusd")
    process.arguments = ["--socket", socket, "--data-dir", directory + "/data", "--log-level", "warning"] + extraArguments
    try process.run()
  }

  /// Waits until health says SERVING (after the warm start), so no figure includes start-up work.
  func waitUntilServing(_ client: GRPCClient<HTTP2ClientTransport.Posix>) async throws {
    let health = Grpc_Health_V1_Health.Client(wrapping: client)
    let started = Date()
    while (try? await health.check(.init()).status) != .serving {
      guard process.isRunning, Date().timeIntervalSince(started) < 120 else { throw BenchFailure("chorusd did not become SERVING") }
      try await Task.sleep(for: .milliseconds(20))
    }
  }

  func stop() {
    process.terminate()
    process.waitUntilExit()
    try? FileManager.default.removeItem(atPath: directory)
  }
}

actor Counter {
  var value = 0
  func next(_ count: Int) -> Int {
    defer { value += count }
    return value
  }
}
