import Foundation
import XCTest

@testable import Store

final class VectorCacheTests: XCTestCase {
  var directory: String!

  override func setUp() {
    directory = NSTemporaryDirectory() + "cache-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDown() {
    try? FileManager.default.removeItem(atPath: directory)
  }

  func entry(_ seed: Float, truncated: Bool = false) -> VectorCache.Entry {
    VectorCache.Entry(vector: (0..<8).map { Float($0) * seed }, truncated: truncated)
  }

  func testMissThenHitAndCounters() async throws {
    let cache = try VectorCache(directory: directory, memoryLimitBytes: 1 << 20, diskLimitBytes: 1 << 20)
    let found1 = await cache.get("a")
    XCTAssertNil(found1)
    await cache.put([("a", entry(1.5, truncated: true))])
    let found2 = await cache.get("a")
    XCTAssertEqual(found2, entry(1.5, truncated: true))
    let stats = cache.statistics
    XCTAssertEqual(stats.hits, 1)
    XCTAssertEqual(stats.misses, 1)
    XCTAssertEqual(stats.entries, 1)
    XCTAssertGreaterThan(stats.memoryBytes, 0)
    XCTAssertGreaterThan(stats.diskBytes, 0)
  }

  func testSurvivesReopen() async throws {
    do {
      let cache = try VectorCache(directory: directory, memoryLimitBytes: 1 << 20, diskLimitBytes: 1 << 20)
      await cache.put([("a", entry(2)), ("b", entry(3))])
    }
    let reopened = try VectorCache(directory: directory, memoryLimitBytes: 1 << 20, diskLimitBytes: 1 << 20)
    XCTAssertEqual(reopened.statistics.entries, 2)
    let found3 = await reopened.get("b")
    XCTAssertEqual(found3, entry(3))
    XCTAssertEqual(reopened.statistics.memoryBytes, UInt64(entry(3).bytes), "a disk hit is promoted to memory")
  }

  func testMemoryTierEvictsLeastRecentlyUsed() async throws {
    let one = entry(1).bytes
    let cache = try VectorCache(directory: directory, memoryLimitBytes: one * 2, diskLimitBytes: 1 << 20)
    await cache.put([("a", entry(1)), ("b", entry(2))])
    _ = await cache.get("a")  // a is now newer than b
    await cache.put([("c", entry(3))])  // evicts b from memory
    XCTAssertEqual(cache.statistics.evictions, 1)
    XCTAssertEqual(cache.statistics.memoryBytes, UInt64(one * 2))
    let found4 = await cache.get("b")
    XCTAssertEqual(found4, entry(2), "still on disk")
  }

  func testDiskTierIsTrimmedToItsLimit() async throws {
    let cache = try VectorCache(directory: directory, memoryLimitBytes: 0, diskLimitBytes: 20 * (8 * 4 + 96))
    for i in 0..<50 { await cache.put([("k\(i)", entry(Float(i)))]) }
    let stats = cache.statistics
    XCTAssertLessThanOrEqual(stats.diskBytes, stats.diskLimitBytes)
    XCTAssertLessThan(stats.entries, 50)
    XCTAssertGreaterThan(stats.evictions, 0)
    let found5 = await cache.get("k49")
    XCTAssertNotNil(found5, "the newest entries stay")
    let found6 = await cache.get("k0")
    XCTAssertNil(found6, "the oldest go first")
  }

  func testLRUOrder() {
    var lru = LRU<String, Int>(costLimit: 3)
    lru.put("a", 1, cost: 1)
    lru.put("b", 2, cost: 1)
    lru.put("c", 3, cost: 1)
    XCTAssertEqual(lru.get("a"), 1)
    XCTAssertEqual(lru.put("d", 4, cost: 1), 1)
    XCTAssertNil(lru.get("b"))
    XCTAssertEqual(lru.get("a"), 1)
    XCTAssertEqual(lru.put("a", 5, cost: 2), 1, "replacing a with a bigger value evicts the oldest (c)")
    XCTAssertNil(lru.get("c"))
    XCTAssertEqual(lru.totalCost, 3)
  }
}
