import Foundation

/// In-place layer norm over the last dimension: (x − mean) / sqrt(var + eps) · γ + β, as `nn.LayerNorm`
/// (biased variance, computed in Double for the sums so long rows do not lose precision).
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float) {
  layerNorm(x, into: x, weight: weight, bias: bias, epsilon: epsilon)
}

/// Layer norm of `x` written to `output` (pre-norm transformers keep the residual stream and normalise a copy;
/// this makes the copy and the norm one pass).
public func layerNorm(_ x: Tensor, into output: Tensor, weight: Tensor, bias: Tensor, epsilon: Float) {
  let width = x.shape[x.shape.count - 1]
  let rows = x.count / width
  parallelChunks(rows, minimumPerChunk: 16) { range in
  for r in range {
    let row = x.data + r * width
    let out = output.data + r * width
    var sum: Double = 0
    for i in 0..<width { sum += Double(row[i]) }
    let mean = Float(sum / Double(width))
    var squares: Double = 0
    for i in 0..<width {
      let d = row[i] - mean
      squares += Double(d * d)
    }
    let inverse = 1 / (Float(squares / Double(width)) + epsilon).squareRoot()
    for i in 0..<width { out[i] = (row[i] - mean) * inverse * weight.data[i] + bias.data[i] }
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
        for i in range { p[i] = 0.5 * p[i] * (1 + fastErf(p[i] * 0.70710678118654752)) }
      case .geluTanh:
        for i in range {
          let v = p[i]
          p[i] = 0.5 * v * (1 + tanhf(0.79788456080286536 * (v + 0.044715 * v * v * v)))
        }
      case .quickGelu:
        for i in range { p[i] = p[i] / (1 + fastExp(-1.702 * p[i])) }
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
    row[i] = fastExp(row[i] - maximum)
    sum += row[i]
  }
  let inverse = 1 / sum
  for i in 0..<count { row[i] *= inverse }
}

/// erf(x) as a rational function x·P(x²)/Q(x²) on [-4, 4] (erf is ±1 to float precision beyond): the minimax
/// fit XLA and Eigen use for float. Branch-free, so the GELU loop vectorises; its error against glibc's erff is
/// a few 1e-7 (checked by KernelTests), far inside the 1e-4 parity bound, and it is 5× faster than erff.
@inline(__always)
public func fastErf(_ value: Float) -> Float {
  let x = min(max(value, -4), 4)
  let x2 = x * x
  var p: Float = -2.72614225801306e-10
  p = p * x2 + 2.77068142495902e-08
  p = p * x2 + -2.10102402082508e-06
  p = p * x2 + -5.69250639462346e-05
  p = p * x2 + -7.34990630326855e-04
  p = p * x2 + -2.95459980854025e-03
  p = p * x2 + -1.60960333262415e-02
  var q: Float = -1.45660718464996e-05
  q = q * x2 + -2.13374055278905e-04
  q = q * x2 + -1.68282697438203e-03
  q = q * x2 + -7.37332916720468e-03
  q = q * x2 + -1.42647390514189e-02
  return x * p / q
}

/// e^x for float, branch-free so loops over it vectorise: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for
/// precision), e^r by its Taylor series to r⁷ (error below 2e-7 relative there), 2ⁿ built in the exponent bits.
/// Inputs are clamped to where float e^x is finite and normal; callers here only feed it ≤ 0 or small values.
@inline(__always)
public func fastExp(_ value: Float) -> Float {
  let x = min(max(value, -87.3), 88.7)
  // Round x/ln2 to the nearest integer with the 1.5·2²³ trick (vectorises where roundf would not).
  let shifter: Float = 12_582_912
  let shifted = x * 1.44269504088896341 + shifter
  let n = shifted - shifter
  let r = (x - n * 0.693145751953125) - n * 1.42860682030941723e-6
  var p: Float = 1.0 / 5040
  p = p * r + 1.0 / 720
  p = p * r + 1.0 / 120
  p = p * r + 1.0 / 24
  p = p * r + 1.0 / 6
  p = p * r + 0.5
  p = p * r + 1
  p = p * r + 1
  // n sits in the low mantissa bits of `shifted`: integer arithmetic on the bit patterns gives 2ⁿ without a
  // float-to-int conversion (whose overflow check would stop the loop from vectorising).
  return p * Float(bitPattern: (shifted.bitPattern &- shifter.bitPattern &+ 127) &<< 23)
}
