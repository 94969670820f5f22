import Foundation

/// In-place layer norm over the last dimension: (x − mean) / sqrt(var + eps) · γ + β, as `nn.LayerNorm`
/// (biased variance, computed in Double for the sums so long rows do not lose precision).
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float) {
  let width = x.shape[x.shape.count - 1]
  let rows = x.count / width
  parallelChunks(rows, minimumPerChunk: 16) { range in
  for r in range {
    let row = x.data + r * width
    var sum: Double = 0
    for i in 0..<width { sum += Double(row[i]) }
    let mean = Float(sum / Double(width))
    var squares: Double = 0
    for i in 0..<width {
      let d = row[i] - mean
      squares += Double(d * d)
    }
    let inverse = 1 / (Float(squares / Double(width)) + epsilon).squareRoot()
    for i in 0..<width { row[i] = (row[i] - mean) * inverse * weight.data[i] + bias.data[i] }
  }
  }
}

/// x += y, elementwise (residual connections).
public func add(_ x: Tensor, _ y: Tensor) {
  precondition(x.count == y.count)
  for i in 0..<x.count { x.data[i] += y.data[i] }
}

/// The activations transformer configs name ("hidden_act").
public enum Activation: String, Sendable {
  /// GELU with erf, `nn.functional.gelu` (BERT's "gelu").
  case gelu
  /// GELU's tanh approximation ("gelu_new", "gelu_pytorch_tanh").
  case geluTanh = "gelu_new"
  /// x·σ(1.702x), CLIP's "quick_gelu".
  case quickGelu = "quick_gelu"
  case relu

  /// Maps a config's `hidden_act` to an activation, nil for ones not supported.
  public init?(configName: String) {
    switch configName {
    case "gelu": self = .gelu
    case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
    case "quick_gelu": self = .quickGelu
    case "relu": self = .relu
    default: return nil
    }
  }

  public func apply(_ x: Tensor) {
    let p = x.data
    parallelChunks(x.count, minimumPerChunk: 8192) { range in
      switch self {
      case .gelu:
        for i in range { p[i] = 0.5 * p[i] * (1 + erff(p[i] * 0.70710678118654752)) }
      case .geluTanh:
        for i in range {
          let v = p[i]
          p[i] = 0.5 * v * (1 + tanhf(0.79788456080286536 * (v + 0.044715 * v * v * v)))
        }
      case .quickGelu:
        for i in range { p[i] = p[i] / (1 + expf(-1.702 * p[i])) }
      case .relu:
        for i in range { p[i] = max(p[i], 0) }
      }
    }
  }
}

/// In-place softmax over a row of `count` values (max-subtracted, as PyTorch).
@inline(__always)
func softmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int) {
  var maximum = -Float.infinity
  for i in 0..<count { maximum = max(maximum, row[i]) }
  var sum: Float = 0
  for i in 0..<count {
    row[i] = expf(row[i] - maximum)
    sum += row[i]
  }
  let inverse = 1 / sum
  for i in 0..<count { row[i] *= inverse }
}
