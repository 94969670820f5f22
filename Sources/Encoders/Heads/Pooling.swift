import Tensor

/// Token pooling of sentence-transformers' `Pooling` module. Several modes at once are concatenated in
/// sentence-transformers' order (cls, max, mean, mean_sqrt_len, weightedmean, lasttoken).
public enum Pooling: String, Sendable, CaseIterable {
  case cls, max, mean
  case meanSqrtLength = "mean_sqrt_len"
  case weightedMean = "weightedmean"
  case lastToken = "lasttoken"

  /// pooling_mode_* keys of the module's config.json.
  var configKey: String {
    switch self {
    case .cls: return "pooling_mode_cls_token"
    case .max: return "pooling_mode_max_tokens"
    case .mean: return "pooling_mode_mean_tokens"
    case .meanSqrtLength: return "pooling_mode_mean_sqrt_len_tokens"
    case .weightedMean: return "pooling_mode_weightedmean_tokens"
    case .lastToken: return "pooling_mode_lasttoken"
    }
  }

  /// One vector per item from hidden states laid out by `layout`, over each item's tokens.
  public func apply(_ hidden: Tensor, layout: TokenLayout) -> [[Float]] {
    let width = hidden.shape[1]
    return layout.lengths.enumerated().map { b, length in
      let first = hidden.data + layout.starts[b] * width
      switch self {
      case .cls:
        return Array(UnsafeBufferPointer(start: first, count: width))
      case .lastToken:
        return Array(UnsafeBufferPointer(start: first + Swift.max(length - 1, 0) * width, count: width))
      case .mean, .meanSqrtLength, .weightedMean:
        var sum = [Double](repeating: 0, count: width)
        var total = 0.0
        for t in 0..<length {
          let row = first + t * width
          // weightedmean weighs token t by its position t+1.
          let weight = self == .weightedMean ? Double(t + 1) : 1
          total += weight
          for i in 0..<width { sum[i] += weight * Double(row[i]) }
        }
        let divisor = self == .meanSqrtLength ? Double(length).squareRoot() : total
        return sum.map { Float($0 / Swift.max(divisor, 1e-9)) }
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
