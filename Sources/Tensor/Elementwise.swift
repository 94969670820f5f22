import CKernels
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
    chorus_layer_norm(
      x.data + range.lowerBound * width, output.data + range.lowerBound * width, range.count, width, weight.data, bias.data, epsilon)
  }
}

/// RMSNorm of each row of `x` into `output` (may be `x`): x / sqrt(mean(x²) + eps) · γ (Qwen, Llama, Gemma).
public func rmsNorm(_ x: Tensor, into output: Tensor, weight: Tensor, epsilon: Float) {
  let width = weight.count
  let rows = x.count / width
  parallelChunks(rows, minimumPerChunk: 16) { range in
    chorus_rms_norm(x.data + range.lowerBound * width, output.data + range.lowerBound * width, range.count, width, weight.data, epsilon)
  }
}

/// RMSNorm of every head of every row in place: rows of `rowStride` floats, `heads` heads of `weight.count`
/// floats from `column` on (Qwen3's q_norm and k_norm, over the head dimension).
public func rmsNormHeads(_ x: Tensor, rowStride: Int, column: Int, heads: Int, weight: Tensor, epsilon: Float) {
  let width = weight.count
  let rows = x.count / rowStride
  parallelChunks(rows, minimumPerChunk: 8) { range in
    for row in range {
      let start = x.data + row * rowStride + column
      chorus_rms_norm(start, start, heads, width, weight.data, epsilon)
    }
  }
}

/// A gated MLP's middle: x is [rows, 2w] (the fused up projection: first half activated, second half the gate
/// or the "up" values), output [rows, w] = act(x[:, :w]) · x[:, w:] (GeGLU, SwiGLU).
public func gatedActivation(_ x: Tensor, into output: Tensor, activation: Activation) {
  let width = output.shape[output.shape.count - 1]
  let rows = output.count / width
  parallelChunks(rows, minimumPerChunk: 4) { range in
    for row in range {
      let input = x.data + row * 2 * width, target = output.data + row * width
      target.update(from: input, count: width)
      activation.kernel(target, width)
      for i in 0..<width { target[i] *= input[width + i] }
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
  /// x·σ(x), "silu" / "swish" (SwiGLU's gate).
  case silu

  /// Maps a config's `hidden_act` to an activation, nil for ones not supported.
  public init?(configName: String) {
    switch configName {
    case "gelu": self = .gelu
    case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
    case "quick_gelu": self = .quickGelu
    case "relu": self = .relu
    case "silu", "swish": self = .silu
    default: return nil
    }
  }

  public func apply(_ x: Tensor) {
    let p = x.data, run = kernel
    parallelChunks(x.count, minimumPerChunk: 8192) { range in run(p + range.lowerBound, range.count) }
  }

  /// The C kernel that applies it in place to `count` floats.
  var kernel: (UnsafeMutablePointer<Float>, Int) -> Void {
    switch self {
    case .gelu: chorus_gelu
    case .geluTanh: chorus_gelu_tanh
    case .quickGelu: chorus_quick_gelu
    case .relu: chorus_relu
    case .silu: chorus_silu
    }
  }
}

/// In-place softmax over a row of `count` values (max-subtracted, as PyTorch).
@inline(__always)
public func softmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int) {
  chorus_softmax(row, count)
}

/// erf(x) by the C kernels' rational function (`chorus_erf`): a few 1e-7 from glibc's erff, 5× faster.
@inline(__always)
public func fastErf(_ value: Float) -> Float { chorus_erf(value) }

/// e^x by the C kernels' branch-free polynomial (`chorus_exp`): below 2e-7 relative error.
@inline(__always)
public func fastExp(_ value: Float) -> Float { chorus_exp(value) }
