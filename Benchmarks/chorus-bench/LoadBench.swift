import ChorusAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization

/// `chorus-bench load`: a release chorusd (beside this binary) under many clients. First a mix for a fixed time
/// (cache hits, new texts, images, searches, upserts from `--clients` callers, default 64), then a storm of
/// `--storm` callers (default 256) each sending 32 images with a 2 s deadline, then the time a small request
/// takes once the storm is over. Prints throughput, p50/p99 per kind, statuses, and the daemon's resident memory.
enum LoadBench {
  static func run(root: URL, option: (String) -> String?, seconds: Double) async throws {
    let photos = root.appendingPathComponent("Tests/Data/skimage")
    let photoFiles = ((try? FileManager.default.contentsOfDirectory(atPath: photos.path)) ?? []).filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }.sorted()
    guard !photoFiles.isEmpty else { missing("the test photos (Tests/Data/skimage)", "scripts/fetch-test-data") }
    let pictures = try photoFiles.map { try Data(contentsOf: photos.appendingPathComponent($0)) }
    let small = try Data(contentsOf: root.appendingPathComponent("Tests/MediaTests/Fixtures/formats/baseline.jpg"))
    let clients = Int(option("--clients") ?? "64") ?? 64
    let stormClients = Int(option("--storm") ?? "256") ?? 256

    let binDirectory = URL(fileURLWithPath: Bundle.main.executablePath!).deletingLastPathComponent().path
    let started = Date()
    let bench = try BenchDaemon(name: "load", binDirectory: binDirectory)
    defer { bench.stop() }
    let pid = bench.process.processIdentifier, socket = bench.socket
    print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB")
    let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: socket), transportSecurity: .plaintext)
    try await withGRPCClient(transport: transport) { client in
      try await bench.waitUntilServing(client)
      print("start to SERVING (warm start included): \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
      let embedding = Chorus_V1_EmbeddingService.Client(wrapping: client)
      let collections = Chorus_V1_CollectionService.Client(wrapping: client)
      _ = try await collections.createCollection(.with { $0.name = "load" })
      _ = try await collections.upsert(.with {
        $0.collection = "load"
        $0.items = texts.prefix(256).map { text in .with { $0.content = .with { $0.text = text } } }
      })
      let idle = residentBytes(pid)
      print("idle resident memory: \(idle >> 20) MiB")

      // The mix.
      let latencies = Shared<[String: [Double]]>([:])
      let statuses = Shared<[String: Int]>([:])
      let peak = Shared(idle)
      let counter = Shared(0)
      let until = ContinuousClock.now + .seconds(seconds)
      let sampler = Task {
        while !Task.isCancelled {
          let now = residentBytes(pid)
          peak.withLock { $0 = max($0, now) }
          try? await Task.sleep(for: .milliseconds(20))
        }
      }
      await withTaskGroup(of: Void.self) { group in
        for caller in 0..<clients {
          group.addTask {
            var round = caller
            while ContinuousClock.now < until {
              let n = counter.withLock { value in
                value += 1
                return value
              }
              let kind = ["cache hit", "new text", "image", "search", "upsert"][round % 5]
              round += 1
              let began = ContinuousClock.now
              do {
                switch kind {
                case "cache hit":
                  try check(try await embedding.embed(.with { $0.inputs = [.with { $0.text = texts[0] }] }))
                case "new text":
                  try check(try await embedding.embed(.with { $0.inputs = [.with { $0.text = "\(texts[n % texts.count]) #\(n)" }] }))
                case "image":
                  let picture = pictures[n % pictures.count] + Data("\(n)".utf8)  // distinct bytes: never a cache hit
                  try check(try await embedding.embed(.with { $0.inputs = [.with { $0.image = picture }] }))
                case "search":
                  let hits = try await collections.search(.with {
                    $0.collection = "load"
                    $0.query = .content(.with { $0.text = texts[n % texts.count] })
                    $0.k = 10
                  })
                  if hits.hits.isEmpty { throw BenchFailure("a search found nothing") }
                default:
                  let result = try await collections.upsert(.with {
                    $0.collection = "load"
                    $0.items = [.with { $0.content = .with { $0.text = "upserted \(n)" } }]
                  })
                  if case .error = result.results[0].outcome { throw BenchFailure(result.results[0].error.message) }
                }
                let elapsed = (ContinuousClock.now - began).milliseconds
                latencies.withLock { $0[kind, default: []].append(elapsed) }
                statuses.withLock { $0["OK", default: 0] += 1 }
              } catch let error as RPCError {
                statuses.withLock { $0["\(error.code)", default: 0] += 1 }
              } catch {
                statuses.withLock { $0["\(error)", default: 0] += 1 }
              }
            }
          }
        }
      }
      sampler.cancel()
      let seen = latencies.withLock { $0 }
      let total = seen.values.map(\.count).reduce(0, +)
      print("\nmix: \(clients) clients for \(seconds) s: \(total) calls, \(String(format: "%.1f", Double(total) / seconds)) calls/s; statuses \(statuses.withLock { $0 })")
      for kind in ["cache hit", "new text", "image", "search", "upsert"] {
        let values = (seen[kind] ?? []).sorted()
        guard !values.isEmpty else { continue }
        print("  \(kind): \(values.count) calls, p50 \(format(values[values.count / 2])) ms, p99 \(format(values[min(values.count - 1, values.count * 99 / 100)])) ms")
      }
      let highest = peak.withLock { $0 }
      print("  resident memory: idle \(idle >> 20) MiB, peak under the mix \(highest >> 20) MiB (\(String(format: "%.2f", Double(highest) / Double(idle)))× idle)")

      // The storm.
      let stormStatuses = Shared<[String: Int]>([:])
      let stormStart = ContinuousClock.now
      let answered = Shared(0)
      await withTaskGroup(of: Void.self) { group in
        for caller in 0..<stormClients {
          group.addTask {
            var options = CallOptions.defaults
            options.timeout = .seconds(2)
            let inputs: [Chorus_V1_Input] = (0..<32).map { i in .with { $0.image = small + Data("storm \(caller) \(i)".utf8) } }
            do {
              try check(try await embedding.embed(.with { $0.inputs = inputs }, options: options))
              answered.withLock { $0 += 1 }
              stormStatuses.withLock { $0["OK", default: 0] += 1 }
            } catch let error as RPCError {
              stormStatuses.withLock { $0["\(error.code)", default: 0] += 1 }
            } catch {
              stormStatuses.withLock { $0["\(error)", default: 0] += 1 }
            }
          }
        }
      }
      let stormSeconds = (ContinuousClock.now - stormStart).milliseconds / 1000
      let recoveryStart = ContinuousClock.now
      try check(try await embedding.embed(.with { $0.inputs = [.with { $0.text = "after the storm" }] }))
      let recovery = (ContinuousClock.now - recoveryStart).milliseconds
      print("\nstorm: \(stormClients) clients × 32 images, 2 s deadline: \(String(format: "%.2f", stormSeconds)) s; statuses \(stormStatuses.withLock { $0 }); \(answered.withLock { $0 } * 32) images answered")
      print("  recovery: a one-text request right after the storm took \(format(recovery)) ms")
      print("  resident memory after the storm: \(residentBytes(pid) >> 20) MiB")
    }
  }

  static func check(_ response: Chorus_V1_EmbedResponse) throws {
    if let failed = response.results.first(where: { if case .error = $0.outcome { true } else { false } }) { throw BenchFailure("item error: \(failed.error.message)") }
  }

  static func format(_ milliseconds: Double) -> String { String(format: milliseconds < 10 ? "%.2f" : "%.0f", milliseconds) }

  static func missing(_ what: String, _ command: String) -> Never {
    FileHandle.standardError.write(Data("chorus-bench: missing \(what): run \(command) first\n".utf8))
    exit(2)
  }

  /// VmRSS of a process, in bytes.
  static func residentBytes(_ pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return 0 }
    return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
  }
}

extension Duration {
  var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) * 1e-15 }
}

/// A value shared by the benchmark's client tasks.
final class Shared<Value: Sendable>: Sendable {
  private let mutex: Mutex<Value>
  init(_ value: Value) { mutex = Mutex(value) }
  func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}

struct BenchFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// The CPU's model name, from /proc/cpuinfo.
func cpuModel() -> String {
  let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
  return info.split(separator: "\n").first { $0.hasPrefix("model name") }.map { String($0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)) } ?? "unknown CPU"
}

/// The vector extensions the kernels can use on this CPU (AVX-512 or AVX2), from /proc/cpuinfo's flags.
func vectorFeatures() -> String {
  let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
  let flags = Set(info.split(separator: "\n").first { $0.hasPrefix("flags") }.map { $0.split(separator: " ").map(String.init) } ?? [])
  let wanted = ["avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx2", "fma", "avx_vnni"]
  let present = wanted.filter(flags.contains)
  return present.isEmpty ? "baseline x86-64" : present.joined(separator: " ")
}

