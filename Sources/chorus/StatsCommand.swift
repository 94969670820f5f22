import ArgumentParser
import ChorusAPI
import GRPCCore

struct StatsCommand: ChorusSubcommand {
  static let configuration = CommandConfiguration(
    commandName: "stats", abstract: "Show the shared vector cache's counters: hits, misses, evictions, entries, bytes.")

  @OptionGroup var connection: ConnectionOptions
  @Flag(help: "Print JSON.") var json = false

  struct StatsJSON: Encodable {
    var hits: UInt64
    var misses: UInt64
    var evictions: UInt64
    var entries: UInt64
    var memory_bytes: UInt64
    var memory_limit_bytes: UInt64
    var disk_bytes: UInt64
    var disk_limit_bytes: UInt64
  }

  func execute() async throws {
    let stats = try await withDaemon(connection) { client in
      try await Chorus_V1_SystemService.Client(wrapping: client).getCacheStats(Chorus_V1_GetCacheStatsRequest())
    }
    if json {
      printJSONLine(
        StatsJSON(
          hits: stats.hits, misses: stats.misses, evictions: stats.evictions, entries: stats.entries, memory_bytes: stats.memoryBytes,
          memory_limit_bytes: stats.memoryLimitBytes, disk_bytes: stats.diskBytes, disk_limit_bytes: stats.diskLimitBytes))
    } else {
      let lookups = stats.hits + stats.misses
      let rate = lookups == 0 ? "–" : "\(stats.hits * 100 / lookups) %"
      print("cache: \(stats.hits) hits, \(stats.misses) misses (hit rate \(rate)), \(stats.evictions) evictions")
      print("entries on disk: \(stats.entries)")
      print("memory: \(stats.memoryBytes) of \(stats.memoryLimitBytes) bytes; disk: \(stats.diskBytes) of \(stats.diskLimitBytes) bytes")
    }
  }
}
