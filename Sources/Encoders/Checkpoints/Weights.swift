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

/// The precision the linear layers built in this scope compute in: `ModelDirectory.load` sets it around building a
/// model, so every architecture's layers follow `--precision` without each encoder passing it down.
public enum LoadingPrecision {
  @TaskLocal public static var current: Precision = .fp32
}

/// A linear layer's weights [out, in] and bias [out], computing in the precision of the model being loaded
/// (`LoadingPrecision`): bf16 and int8 weights are packed once for oneDNN (on first use) for any row count. In fp32,
/// towers whose row counts repeat (images and audio: one per batch size) also pack their weights for oneDNN
/// (`packedForFixedShapes()`); fp32 text keeps OpenBLAS: its row counts change with every batch, and a oneDNN
/// primitive takes about 0.3 ms to make for each new one.
public struct LinearWeights {
  public let weight: Tensor
  public let bias: Tensor?
  private let packed: LazyPackedLinear?

  public init(weight: Tensor, bias: Tensor?) {
    self.init(weight: weight, bias: bias, precision: LoadingPrecision.current)
  }

  private init(weight: Tensor, bias: Tensor?, precision: Precision) {
    self.init(weight: weight, bias: bias, packed: precision == .fp32 ? nil : LazyPackedLinear(weight: weight, precision: precision))
  }

  private init(weight: Tensor, bias: Tensor?, packed: LazyPackedLinear?) {
    self.weight = weight
    self.bias = bias
    self.packed = packed
  }

  public var precision: Precision { packed?.precision ?? .fp32 }

  /// In fp32, the same layer multiplied through weights packed once (on first use) for oneDNN, unless
  /// `CHORUS_GEMM=openblas` or the CPU lacks the kernels that make it faster (`PackedLinear(ifFasterFor:)`).
  /// bf16 and int8 layers are packed already.
  public func packedForFixedShapes() -> LinearWeights {
    guard precision == .fp32 else { return self }
    return LinearWeights(weight: weight, bias: bias, packed: PackedLinear.enabled ? LazyPackedLinear(weight: weight) : nil)
  }

  public init(_ weights: Weights, _ name: String, in inFeatures: Int, out outFeatures: Int, bias hasBias: Bool = true) throws {
    self.init(weight: try weights(name + ".weight", [outFeatures, inFeatures]), bias: hasBias ? try weights(name + ".bias", [outFeatures]) : nil)
  }

  public var outFeatures: Int { weight.shape[0] }

  /// q, k and v projections as one [3·out, in] layer: one GEMM instead of three.
  public static func fused(_ parts: [LinearWeights]) -> LinearWeights {
    LinearWeights(
      weight: Tensor.concatenate(parts.map(\.weight)),
      bias: parts.allSatisfy { $0.bias != nil } ? Tensor.concatenate(parts.map { $0.bias! }) : nil, precision: parts.first?.precision ?? .fp32)
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
