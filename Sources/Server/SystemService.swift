import ChorusAPI
import ChorusEnvironment
import Engine
import Foundation
import GRPCCore

/// `chorus.v1.SystemService`: facts about the daemon and its cache.
public struct SystemService: Chorus_V1_SystemService.SimpleServiceProtocol {
  private let facts: DaemonFacts
  private let engine: Engine

  public init(facts: DaemonFacts, engine: Engine) {
    self.facts = facts
    self.engine = engine
  }

  public func getInfo(request: Chorus_V1_GetInfoRequest, context: ServerContext) async throws -> Chorus_V1_ServerInfo {
    var info = Chorus_V1_ServerInfo()
    info.version = ChorusVersion.version
    info.build = ChorusVersion.configuration
    info.startedUnixMs = Int64(facts.startedAt.timeIntervalSince1970 * 1000)
    info.uptimeSeconds = Date().timeIntervalSince(facts.startedAt)
    info.socket = facts.socket
    info.dataDir = facts.dataDirectory
    info.pid = UInt32(ProcessInfo.processInfo.processIdentifier)
    info.maxRequestBytes = UInt64(facts.maxRequestBytes)
    info.spaces = engine.spaces.map(\.name)
    return info
  }

  public func getCacheStats(request: Chorus_V1_GetCacheStatsRequest, context: ServerContext) async throws -> Chorus_V1_CacheStats {
    guard let statistics = engine.cache?.statistics else {
      throw RPCError(code: .failedPrecondition, message: "GetCacheStats: this daemon runs without a vector cache")
    }
    return .with {
      $0.hits = statistics.hits
      $0.misses = statistics.misses
      $0.evictions = statistics.evictions
      $0.entries = statistics.entries
      $0.memoryBytes = statistics.memoryBytes
      $0.memoryLimitBytes = statistics.memoryLimitBytes
      $0.diskBytes = statistics.diskBytes
      $0.diskLimitBytes = statistics.diskLimitBytes
    }
  }
}
