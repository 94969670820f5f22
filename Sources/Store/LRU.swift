/// A least-recently-used map bounded by a cost (bytes): get and put are O(1), evictions come out of `put`.
struct LRU<Key: Hashable, Value> {
  private final class Node {
    let key: Key
    var value: Value
    var cost: Int
    var newer: Node?
    weak var older: Node?
    init(key: Key, value: Value, cost: Int) {
      self.key = key
      self.value = value
      self.cost = cost
    }
  }

  private var nodes: [Key: Node] = [:]
  /// Most recently used.
  private var newest: Node?
  /// Least recently used: evicted first.
  private var oldest: Node?
  private(set) var totalCost = 0
  let costLimit: Int

  init(costLimit: Int) {
    self.costLimit = costLimit
  }

  var count: Int { nodes.count }

  mutating func get(_ key: Key) -> Value? {
    guard let node = nodes[key] else { return nil }
    unlink(node)
    append(node)
    return node.value
  }

  /// Inserts or replaces; returns how many entries were evicted to stay within the limit.
  @discardableResult
  mutating func put(_ key: Key, _ value: Value, cost: Int) -> Int {
    if let existing = nodes.removeValue(forKey: key) {
      unlink(existing)
      totalCost -= existing.cost
    }
    guard cost <= costLimit else { return 0 }
    let node = Node(key: key, value: value, cost: cost)
    nodes[key] = node
    append(node)
    totalCost += cost
    var evicted = 0
    while totalCost > costLimit, let victim = oldest {
      unlink(victim)
      nodes[victim.key] = nil
      totalCost -= victim.cost
      evicted += 1
    }
    return evicted
  }

  private mutating func unlink(_ node: Node) {
    if let older = node.older { older.newer = node.newer } else { oldest = node.newer }
    if let newer = node.newer { newer.older = node.older } else { newest = node.older }
    node.newer = nil
    node.older = nil
  }

  private mutating func append(_ node: Node) {
    node.older = newest
    newest?.newer = node
    newest = node
    if oldest == nil { oldest = node }
  }
}
