import CBLAS
import Tensor
import Synchronization

/// A collection's vectors in memory, normalised, one row each: exact top-k by one matrix-vector product.
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

  func upsert(_ items: [StoredItem]) {
    state.withLock { state in
      for item in items {
        let normalised = l2Normalized(item.vector)
        let indexed = IndexedItem(id: item.id, modality: item.modality, metadata: item.metadata)
        if let row = state.rowOf[item.id] {
          state.items[row] = indexed
          state.vectors.replaceSubrange(row * dimension..<(row + 1) * dimension, with: normalised)
        } else {
          state.rowOf[item.id] = state.ids.count
          state.ids.append(item.id)
          state.items.append(indexed)
          state.vectors.append(contentsOf: normalised)
        }
      }
    }
  }

  /// Removal moves the last row into the hole, so the matrix stays dense.
  func remove(_ ids: Set<String>) {
    state.withLock { state in
      for id in ids {
        guard let row = state.rowOf.removeValue(forKey: id) else { continue }
        let last = state.ids.count - 1
        if row != last {
          state.ids[row] = state.ids[last]
          state.items[row] = state.items[last]
          state.vectors.replaceSubrange(row * dimension..<(row + 1) * dimension, with: state.vectors[last * dimension..<(last + 1) * dimension])
          state.rowOf[state.ids[row]] = row
        }
        state.ids.removeLast()
        state.items.removeLast()
        state.vectors.removeLast(dimension)
      }
    }
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
      let unfiltered = filter.modalities.isEmpty && filter.metadataEquals.isEmpty
      var candidates = (0..<rows).filter { unfiltered || filter.accepts(state.items[$0]) }
      // Best first; ties broken by id so results are stable.
      candidates.sort { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : state.ids[$0] < state.ids[$1] }
      return candidates.prefix(k).map { (state.ids[$0], scores[$0]) }
    }
  }
}
