import ChorusEnvironment
import Engine
import Foundation
import Prometheus
import Store

/// `GET /metrics`: the Prometheus registry that swift-metrics fills (requests, durations, batches, outcomes,
/// refusals), followed by what is read at scrape time instead of counted as it happens: queue depths, the
/// cache's own counters and sizes, collection sizes, the build, and the process (memory, CPU, descriptors).
public struct MetricsExposition: Sendable {
  let registry: PrometheusCollectorRegistry
  let engine: Engine
  let store: any CollectionBackend
  let startedAt: Date

  public init(registry: PrometheusCollectorRegistry, engine: Engine, store: any CollectionBackend, startedAt: Date) {
    self.registry = registry
    self.engine = engine
    self.store = store
    self.startedAt = startedAt
  }

  public func render() async -> [UInt8] {
    var out = registry.emitToBuffer()
    var text = ""
    func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
      text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
      for sample in samples { text += "\(name)\(sample.labels) \(sample.value)\n" }
    }
    family(
      "chorus_queue_depth", "gauge", "Inputs admitted to an encoder's queue and not yet started.",
      engine.queueDepths().map { (labels(["space": $0.space, "modality": $0.modality.rawValue]), "\($0.inputs)") })
    if let statistics = engine.cache?.statistics {
      family("chorus_cache_hits_total", "counter", "Vector cache lookups that found the vector.", [("", "\(statistics.hits)")])
      family("chorus_cache_misses_total", "counter", "Vector cache lookups that did not.", [("", "\(statistics.misses)")])
      family("chorus_cache_evictions_total", "counter", "Vectors evicted from the cache's memory tier.", [("", "\(statistics.evictions)")])
      family(
        "chorus_cache_bytes", "gauge", "Bytes the vector cache holds, by tier.",
        [(labels(["tier": "memory"]), "\(statistics.memoryBytes)"), (labels(["tier": "disk"]), "\(statistics.diskBytes)")])
    }
    if let collections = try? await store.list() {
      family(
        "chorus_collection_items", "gauge", "Items in each collection.",
        collections.map { (labels(["collection": $0.name]), "\($0.count)") })
    }
    family("chorus_build_info", "gauge", "The running build; always 1.", [(labels(["version": ChorusVersion.version]), "1")])
    let process = ProcessFacts.read()
    family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", [("", "\(process.residentBytes)")])
    family("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.", [("", String(format: "%.2f", process.cpuSeconds))])
    family("process_open_fds", "gauge", "Number of open file descriptors.", [("", "\(process.openDescriptors)")])
    family("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds.", [("", String(format: "%.3f", startedAt.timeIntervalSince1970))])
    out.append(contentsOf: text.utf8)
    return out
  }

  /// `{a="x",b="y"}` with values escaped as the exposition format asks.
  private func labels(_ pairs: KeyValuePairs<String, String>) -> String {
    let escaped = pairs.map { key, value in
      "\(key)=\"\(value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n"))\""
    }
    return "{" + escaped.joined(separator: ",") + "}"
  }
}

/// The process's own figures, from /proc (Linux).
struct ProcessFacts {
  var residentBytes: Int = 0
  var cpuSeconds: Double = 0
  var openDescriptors: Int = 0

  static func read() -> ProcessFacts {
    var facts = ProcessFacts()
    let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
      let fields = statm.split(separator: " ")
      if fields.count > 1, let pages = Int(fields[1]) { facts.residentBytes = pages * pageSize }
    }
    // Fields after the command name (which may hold spaces) start at "state"; utime and stime are the 12th and 13th.
    if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      if fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]), ticks > 0 { facts.cpuSeconds = (user + system) / ticks }
    }
    facts.openDescriptors = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.count ?? 1) - 1  // less the one listing it
    return facts
  }
}
