import CBLAS
import Foundation
import Tensor
import Synchronization

/// Vectors in memory, normalised, one row each: exact top-k by one matrix-vector product. A collection keeps one
/// over all its items (exact search, filtered fallback, the source of HNSW builds) and one over the items no HNSW
/// segment covers yet.
final class ExactIndex: Sendable {
  private struct State {
    var ids: [String] = []
    var rowOf: [String: Int] = [:]
    var items: [IndexedItem] = []
    var vectors: [Float] = []
  }
  private let state = Mutex(State())
  let dimension: Int

  init(dimension: Int) {
    self.dimension = dimension
  }

  var count: Int { state.withLock { $0.ids.count } }

  func upsert(_ items: [StoredItem]) {
    upsert(items.map { (IndexedItem(id: $0.id, modality: $0.modality, metadata: $0.metadata), l2Normalized($0.vector)) })
  }

  /// Inserts or replaces already normalised rows.
  func upsert(_ rows: [(item: IndexedItem, vector: [Float])]) {
    state.withLock { state in
      for (indexed, normalised) in rows {
        if let row = state.rowOf[indexed.id] {
          state.items[row] = indexed
          state.vectors.withUnsafeMutableBufferPointer { vectors in
            normalised.withUnsafeBufferPointer { (vectors.baseAddress! + row * dimension).update(from: $0.baseAddress!, count: dimension) }
          }
        } else {
          state.rowOf[indexed.id] = state.ids.count
          state.ids.append(indexed.id)
          state.items.append(indexed)
          state.vectors.append(contentsOf: normalised)
        }
      }
    }
  }

  /// Removal moves the last row into the hole, so the matrix stays dense.
  func remove(_ ids: some Sequence<String>) {
    state.withLock { state in
      for id in ids {
        guard let row = state.rowOf.removeValue(forKey: id) else { continue }
        let last = state.ids.count - 1
        if row != last {
          state.ids[row] = state.ids[last]
          state.items[row] = state.items[last]
          // In place: a slice of the array as the source would keep its buffer shared and copy it whole.
          state.vectors.withUnsafeMutableBufferPointer { vectors in
            let base = vectors.baseAddress!
            (base + row * dimension).update(from: base + last * dimension, count: dimension)
          }
          state.rowOf[state.ids[row]] = row
        }
        state.ids.removeLast()
        state.items.removeLast()
        state.vectors.removeLast(dimension)
      }
    }
  }

  func contains(_ id: String) -> Bool { state.withLock { $0.rowOf[id] != nil } }

  func item(of id: String) -> IndexedItem? { state.withLock { state in state.rowOf[id].map { state.items[$0] } } }

  /// The normalised vector of an item, if present.
  func vector(of id: String) -> [Float]? {
    state.withLock { state in
      state.rowOf[id].map { Array(state.vectors[$0 * dimension..<($0 + 1) * dimension]) }
    }
  }

  /// Whether the item is present with exactly this normalised vector (bit for bit).
  func holds(_ id: String, vector: UnsafeBufferPointer<Float>) -> Bool {
    state.withLock { state in
      guard let row = state.rowOf[id] else { return false }
      return state.vectors.withUnsafeBufferPointer { memcmp($0.baseAddress! + row * dimension, vector.baseAddress!, dimension * 4) == 0 }
    }
  }

  /// A copy of everything: what a background HNSW build works from while writes go on.
  func snapshot() -> (items: [IndexedItem], vectors: [Float]) {
    state.withLock { ($0.items, $0.vectors) }
  }

  func search(_ query: [Float], k: Int, filter: SearchFilter) -> [(id: String, score: Float)] {
    let q = l2Normalized(query)
    return state.withLock { state in
      let rows = state.ids.count
      guard rows > 0, k > 0 else { return [] }
      var scores = [Float](repeating: 0, count: rows)
      state.vectors.withUnsafeBufferPointer { matrix in
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(dimension), 1, matrix.baseAddress, Int32(dimension), q, 1, 0, &scores, 1)
      }
      let unfiltered = filter.isEmpty
      var best = TopK<Void>(k: k)
      for row in 0..<rows where best.admits(scores[row]) && (unfiltered || filter.accepts(state.items[row])) {
        best.insert(score: scores[row], key: state.ids[row], payload: ())
      }
      return best.sorted().map { ($0.key, $0.score) }
    }
  }
}
