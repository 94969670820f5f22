import Tensor

/// A token-wise normalization: LayerNorm (with or without β) or RMSNorm.
public enum TokenNorm {
  case layer(NormWeights)
  case rms(weight: Tensor, epsilon: Float)

  public func apply(_ x: Tensor, into output: Tensor) {
    switch self {
    case .layer(let norm): norm.apply(x, into: output)
    case .rms(let weight, let epsilon): rmsNorm(x, into: output, weight: weight, epsilon: epsilon)
    }
  }
}

/// One pre-norm layer of a rotary transformer, whatever names its checkpoint gave the parts.
public struct RotaryLayerWeights {
  /// nil: the layer takes its input as it is (ModernBERT's first layer).
  public var attentionNorm: TokenNorm?
  /// q (heads · headDim rows), k and v (kvHeads · headDim rows each) fused: one GEMM.
  public var qkv: LinearWeights
  /// RMSNorm over each head's dimension before the rotation (Qwen3's q_norm, k_norm).
  public var queryNorm: (weight: Tensor, epsilon: Float)?
  public var keyNorm: (weight: Tensor, epsilon: Float)?
  public var attentionOutput: LinearWeights
  public var mlpNorm: TokenNorm
  /// The gated MLP's input projection, [2 · intermediate, width]: the activated half first, then the gate.
  public var up: LinearWeights
  public var down: LinearWeights
  public var rotary: RotaryEmbedding
  /// Keys with |i − j| ≤ window only (ModernBERT's local layers); nil for full attention.
  public var window: Int?
}

/// The pre-norm transformer of ModernBERT and of decoder embedders (Qwen3): rotary positions, grouped key/value
/// heads, a gated MLP (GeGLU, SwiGLU), causal or bidirectional, per-layer sliding windows. All tokens of all
/// batch items go through each projection as one GEMM; residual adds are folded into the output GEMMs.
public struct RotaryTransformer {
  public let layers: [RotaryLayerWeights]
  public let width: Int
  public let heads: Int
  public let kvHeads: Int
  public let headDim: Int
  public let activation: Activation
  public let causal: Bool
  public let finalNorm: TokenNorm
  private let workspaces = WorkspacePool()

  public init(layers: [RotaryLayerWeights], width: Int, heads: Int, kvHeads: Int, headDim: Int, activation: Activation, causal: Bool, finalNorm: TokenNorm) {
    self.layers = layers
    self.width = width
    self.heads = heads
    self.kvHeads = kvHeads
    self.headDim = headDim
    self.activation = activation
    self.causal = causal
    self.finalNorm = finalNorm
  }

  /// Runs every layer and the final norm over `hidden` ([layout.rows, width]) in place.
  public func forward(_ hidden: Tensor, layout: TokenLayout) {
    let positions = layout.positions
    var tables: [RotaryEmbedding: RotaryTable] = [:]
    for layer in layers where tables[layer.rotary] == nil { tables[layer.rotary] = layer.rotary.table(positions: layout.longest) }
    workspaces.withWorkspace { workspace in
      let rows = layout.rows
      let qkvWidth = (heads + 2 * kvHeads) * headDim
      let intermediate = (layers.first?.up.outFeatures ?? 0) / 2
      let normed = workspace.tensor(0, [rows, width])
      let qkv = workspace.tensor(1, [rows, qkvWidth])
      let context = workspace.tensor(2, [rows, heads * headDim])
      let up = workspace.tensor(3, [rows, 2 * intermediate])
      let gated = workspace.tensor(4, [rows, intermediate])
      for layer in layers {
        if let norm = layer.attentionNorm { norm.apply(hidden, into: normed) } else { normed.data.update(from: hidden.data, count: rows * width) }
        layer.qkv.apply(normed, into: qkv)
        let keyColumn = heads * headDim, valueColumn = (heads + kvHeads) * headDim
        if let norm = layer.queryNorm { rmsNormHeads(qkv, rowStride: qkvWidth, column: 0, heads: heads, weight: norm.weight, epsilon: norm.epsilon) }
        if let norm = layer.keyNorm { rmsNormHeads(qkv, rowStride: qkvWidth, column: keyColumn, heads: kvHeads, weight: norm.weight, epsilon: norm.epsilon) }
        // q's heads and k's heads are adjacent in the fused projection: one pass rotates both.
        tables[layer.rotary]!.apply(qkv.data, positions: positions, rowStride: qkvWidth, heads: heads + kvHeads)
        groupedAttention(
          qkv, rowStride: qkvWidth, keyColumn: keyColumn, valueColumn: valueColumn, into: context, layout: layout,
          heads: heads, kvHeads: kvHeads, headDim: headDim, causal: causal, window: layer.window)
        layer.attentionOutput.accumulate(context, into: hidden)
        layer.mlpNorm.apply(hidden, into: normed)
        layer.up.apply(normed, into: up)
        gatedActivation(up, into: gated, activation: activation)
        layer.down.accumulate(gated, into: hidden)
      }
      finalNorm.apply(hidden, into: hidden)
    }
  }
}
