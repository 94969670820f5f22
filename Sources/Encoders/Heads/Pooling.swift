import Tensor

/// Token pooling of sentence-transformers' `Pooling` module (and CLS for plain models).
public enum Pooling: String, Sendable {
  case mean, cls, max

  /// One vector per item from hidden states [batch · sequence, width], over each item's first `lengths[b]` rows.
  public func apply(_ hidden: Tensor, sequence: Int, lengths: [Int]) -> [[Float]] {
    let width = hidden.shape[1]
    return lengths.enumerated().map { b, length in
      let first = hidden.data + b * sequence * width
      switch self {
      case .cls:
        return Array(UnsafeBufferPointer(start: first, count: width))
      case .mean:
        var sum = [Double](repeating: 0, count: width)
        for t in 0..<length {
          let row = first + t * width
          for i in 0..<width { sum[i] += Double(row[i]) }
        }
        return sum.map { Float($0 / Double(Swift.max(length, 1))) }
      case .max:
        var result = [Float](repeating: -.infinity, count: width)
        for t in 0..<length {
          let row = first + t * width
          for i in 0..<width { result[i] = Swift.max(result[i], row[i]) }
        }
        return result
      }
    }
  }
}
