import Tensor

/// Named tensors of one checkpoint, under an optional prefix ("bert.", "text_model."), with the expected shape
/// checked on every lookup so a wrong checkpoint fails at load with the tensor's name.
public struct Weights {
  public let file: SafeTensorsFile
  public let prefix: String

  public init(file: SafeTensorsFile, prefix: String = "") {
    self.file = file
    self.prefix = prefix
  }

  /// The first of `prefixes` under which `probe` exists (checkpoints saved from a task model carry "bert." etc.).
  public static func detectPrefix(in file: SafeTensorsFile, probe: String, prefixes: [String]) -> String? {
    prefixes.first { file.entries[$0 + probe] != nil }
  }

  public func scoped(_ scope: String) -> Weights {
    Weights(file: file, prefix: prefix + scope)
  }

  public func callAsFunction(_ name: String, _ shape: [Int]) throws -> Tensor {
    try file.tensor(prefix + name, shape: shape)
  }
}

/// A linear layer's weights [out, in] and bias [out]; for towers whose row counts repeat (images and audio: one per
/// batch size), also the same weights packed once for oneDNN (`packed()`). Text keeps OpenBLAS: its row counts
/// change with every batch, and a oneDNN primitive takes about 0.3 ms to make for each new one.
public struct LinearWeights {
  public let weight: Tensor
  public let bias: Tensor?
  private let packed: LazyPackedLinear?

  public init(weight: Tensor, bias: Tensor?) {
    self.weight = weight
    self.bias = bias
    packed = nil
  }

  private init(weight: Tensor, bias: Tensor?, packed: LazyPackedLinear?) {
    self.weight = weight
    self.bias = bias
    self.packed = packed
  }

  /// The same layer multiplied through weights packed once (on first use) for oneDNN, unless `CHORUS_GEMM=openblas`
  /// or the CPU lacks the kernels that make it faster (`PackedLinear(ifFasterFor:)`).
  public func packedForFixedShapes() -> LinearWeights {
    LinearWeights(weight: weight, bias: bias, packed: PackedLinear.enabled ? LazyPackedLinear(weight: weight) : nil)
  }

  public init(_ weights: Weights, _ name: String, in inFeatures: Int, out outFeatures: Int, bias hasBias: Bool = true) throws {
    self.init(weight: try weights(name + ".weight", [outFeatures, inFeatures]), bias: hasBias ? try weights(name + ".bias", [outFeatures]) : nil)
  }

  public var outFeatures: Int { weight.shape[0] }

  /// q, k and v projections as one [3·out, in] layer: one GEMM instead of three.
  public static func fused(_ parts: [LinearWeights]) -> LinearWeights {
    LinearWeights(
      weight: Tensor.concatenate(parts.map(\.weight)),
      bias: parts.allSatisfy { $0.bias != nil } ? Tensor.concatenate(parts.map { $0.bias! }) : nil)
  }

  /// y = x · Wᵀ + b.
  public func apply(_ x: Tensor, into y: Tensor) {
    if let packed = packed?.value { packed.apply(x, bias: bias, into: y, accumulate: false) } else { linear(x, weight: weight, bias: bias, into: y) }
  }

  /// y += x · Wᵀ + b: a residual add folded into the product.
  public func accumulate(_ x: Tensor, into y: Tensor) {
    if let packed = packed?.value { packed.apply(x, bias: bias, into: y, accumulate: true) } else { linearAccumulate(x, weight: weight, bias: bias, into: y) }
  }
}

/// Layer norm parameters.
public struct NormWeights {
  public let weight: Tensor
  public let bias: Tensor
  public let epsilon: Float

  /// `hasBias` false: a LayerNorm without β (ModernBERT's norm_bias false), β taken as zeros.
  public init(_ weights: Weights, _ name: String, width: Int, epsilon: Float, hasBias: Bool = true) throws {
    weight = try weights(name + ".weight", [width])
    bias = hasBias ? try weights(name + ".bias", [width]) : Tensor(zeros: [width])
    self.epsilon = epsilon
  }

  public func apply(_ x: Tensor) {
    layerNorm(x, weight: weight, bias: bias, epsilon: epsilon)
  }

  public func apply(_ x: Tensor, into output: Tensor) {
    layerNorm(x, into: output, weight: weight, bias: bias, epsilon: epsilon)
  }
}
