import Foundation
import Synchronization

/// Where the vector cache keeps what does not fit in memory: a file in the data dir (`SQLiteCacheTier`) or a
/// table every daemon on one PostgreSQL shares (`PostgresCacheTier`). A tier never fails a call: the cache is an
/// optimisation, so an unreachable tier is a miss on read and a dropped write.
public protocol VectorCacheTier: Sendable {
  /// The entry (its use time refreshed), or nil.
  func fetch(_ key: String) async -> VectorCache.Entry?
  /// Stores the entries, trimming to the tier's byte limit; returns how many entries the trimming evicted.
  func store(_ entries: [(key: String, entry: VectorCache.Entry)]) async -> Int
  /// Bytes and entries the tier holds (for a shared tier: as last measured).
  var usage: (bytes: Int, entries: Int) { get }
  var limitBytes: Int { get }
}

/// The shared, persistent vector cache: key → vector, for every client and every call.
///
/// Two tiers: an in-memory LRU bounded in bytes, in front of a persistent tier bounded in bytes too, evicting the
/// entries used longest ago. The key is a SHA-256 of (encoder fingerprint, modality, input bytes, options) made by
/// the engine, so a changed model never serves stale vectors.
public final class VectorCache: Sendable {
  public struct Entry: Sendable, Equatable {
    /// The model's vector before Chorus's own normalisation.
    public var vector: [Float]
    /// The input was cut to the model's limit.
    public var truncated: Bool

    public init(vector: [Float], truncated: Bool) {
      self.vector = vector
      self.truncated = truncated
    }

    var bytes: Int { vector.count * 4 + 64 }
  }

  public struct Statistics: Sendable, Equatable {
    public var hits: UInt64 = 0
    public var misses: UInt64 = 0
    public var evictions: UInt64 = 0
    public var entries: UInt64 = 0
    public var memoryBytes: UInt64 = 0
    public var memoryLimitBytes: UInt64 = 0
    public var diskBytes: UInt64 = 0
    public var diskLimitBytes: UInt64 = 0
  }

  private struct State {
    var memory: LRU<String, Entry>
    var hits: UInt64 = 0
    var misses: UInt64 = 0
    var evictions: UInt64 = 0
  }

  private let state: Mutex<State>
  private let tier: any VectorCacheTier

  public init(memoryLimitBytes: Int, tier: any VectorCacheTier) {
    state = Mutex(State(memory: LRU(costLimit: memoryLimitBytes)))
    self.tier = tier
  }

  /// The cache with its persistent tier in `cache.sqlite` in `directory`; `readOnly` for a read-only data dir
  /// (hits are served, new vectors stay in memory only).
  public convenience init(directory: String, memoryLimitBytes: Int, diskLimitBytes: Int, readOnly: Bool = false) throws {
    self.init(
      memoryLimitBytes: memoryLimitBytes, tier: try SQLiteCacheTier(directory: directory, limitBytes: diskLimitBytes, readOnly: readOnly))
  }

  /// The entry for `key`, from memory or the persistent tier (a tier hit is promoted to memory), counting the hit
  /// or miss.
  public func get(_ key: String) async -> Entry? {
    if let entry = state.withLock({ state -> Entry? in
      let entry = state.memory.get(key)
      if entry != nil { state.hits += 1 }
      return entry
    }) {
      return entry
    }
    let found = await tier.fetch(key)
    state.withLock { state in
      if let found {
        state.hits += 1
        state.evictions += UInt64(state.memory.put(key, found, cost: found.bytes))
      } else {
        state.misses += 1
      }
    }
    return found
  }

  /// Stores entries in memory and in the persistent tier.
  public func put(_ entries: [(key: String, entry: Entry)]) async {
    guard !entries.isEmpty else { return }
    state.withLock { state in
      for item in entries { state.evictions += UInt64(state.memory.put(item.key, item.entry, cost: item.entry.bytes)) }
    }
    let evicted = await tier.store(entries)
    if evicted > 0 { state.withLock { $0.evictions += UInt64(evicted) } }
  }

  public var statistics: Statistics {
    let usage = tier.usage
    return state.withLock { state in
      Statistics(
        hits: state.hits, misses: state.misses, evictions: state.evictions, entries: UInt64(usage.entries),
        memoryBytes: UInt64(state.memory.totalCost), memoryLimitBytes: UInt64(state.memory.costLimit),
        diskBytes: UInt64(usage.bytes), diskLimitBytes: UInt64(tier.limitBytes))
    }
  }

  static func blob(_ vector: [Float]) -> Data {
    vector.withUnsafeBytes { Data($0) }
  }

  /// Copies (never binds: a BLOB's bytes need not be aligned for Float).
  static func floats(_ data: Data) -> [Float] {
    [Float](unsafeUninitializedCapacity: data.count / 4) { buffer, count in
      _ = data.copyBytes(to: buffer)
      count = data.count / 4
    }
  }
}
