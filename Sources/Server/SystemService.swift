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
    throw RPCError(code: .unimplemented, message: "GetCacheStats: the shared vector cache is not built yet, so there is nothing to count")
  }
}
