/// The k best (score, tiebreak) pairs seen so far: a binary min-heap whose root is the worst kept, so a
/// scan of n scores costs O(n log k) rather than sorting all n.
struct TopK<Payload> {
  private var heap: [(score: Float, key: String, payload: Payload)] = []
  let k: Int

  init(k: Int) {
    self.k = k
    heap.reserveCapacity(k)
  }

  /// Higher score first; equal scores by key, smaller first (stable results).
  private static func better(_ a: (score: Float, key: String, payload: Payload), than b: (score: Float, key: String, payload: Payload)) -> Bool {
    a.score != b.score ? a.score > b.score : a.key < b.key
  }

  /// Whether a candidate with this score could enter (cheap check before building its key).
  func admits(_ score: Float) -> Bool { heap.count < k || score >= heap[0].score }

  mutating func insert(score: Float, key: String, payload: Payload) {
    guard k > 0 else { return }
    let entry = (score: score, key: key, payload: payload)
    if heap.count < k {
      heap.append(entry)
      var child = heap.count - 1
      while child > 0 {
        let parent = (child - 1) / 2
        guard Self.better(heap[parent], than: heap[child]) else { break }
        heap.swapAt(parent, child)
        child = parent
      }
    } else if Self.better(entry, than: heap[0]) {
      heap[0] = entry
      var parent = 0
      while true {
        let left = 2 * parent + 1, right = left + 1
        var worst = parent
        if left < heap.count && Self.better(heap[worst], than: heap[left]) { worst = left }
        if right < heap.count && Self.better(heap[worst], than: heap[right]) { worst = right }
        if worst == parent { break }
        heap.swapAt(parent, worst)
        parent = worst
      }
    }
  }

  /// Best first.
  func sorted() -> [(score: Float, key: String, payload: Payload)] {
    heap.sorted { Self.better($0, than: $1) }
  }
}
