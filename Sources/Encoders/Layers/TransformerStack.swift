import Tensor

/// One transformer encoder layer's weights, whatever names the checkpoint gave them.
public struct EncoderLayerWeights {
  /// q, k, v fused into one projection.
  public var qkv: LinearWeights
  public var attentionOutput: LinearWeights
  /// Before attention (pre-norm) or after the attention residual (post-norm, BERT).
  public var norm1: NormWeights
  /// Before the MLP (pre-norm) or after the MLP residual (post-norm).
  public var norm2: NormWeights
  public var up: LinearWeights
  public var down: LinearWeights

  /// The layer with its four projections packed for oneDNN (towers with repeating row counts: images, audio).
  public func packedForFixedShapes() -> EncoderLayerWeights {
    EncoderLayerWeights(
      qkv: qkv.packedForFixedShapes(), attentionOutput: attentionOutput.packedForFixedShapes(), norm1: norm1, norm2: norm2,
      up: up.packedForFixedShapes(), down: down.packedForFixedShapes())
  }

  public init(qkv: LinearWeights, attentionOutput: LinearWeights, norm1: NormWeights, norm2: NormWeights, up: LinearWeights, down: LinearWeights) {
    self.qkv = qkv
    self.attentionOutput = attentionOutput
    self.norm1 = norm1
    self.norm2 = norm2
    self.up = up
    self.down = down
  }
}

/// The transformer encoder every architecture here shares (BERT, CLIP, ViT, AST, Whisper), post- or pre-norm.
///
/// All tokens of all batch items go through each projection as one GEMM ([batch·seq, width] rows); the
/// residual adds are folded into the GEMMs. Work buffers are allocated once per forward pass, not per layer.
public struct TransformerStack {
  public enum NormPlacement: Sendable {
    /// x = LN(x + f(x)): BERT.
    case post
    /// x = x + f(LN(x)): CLIP, ViT, AST, Whisper.
    case pre
  }

  public let layers: [EncoderLayerWeights]
  public let width: Int
  public let heads: Int
  public let activation: Activation
  public let placement: NormPlacement
  private let workspaces = WorkspacePool()

  public init(layers: [EncoderLayerWeights], width: Int, heads: Int, activation: Activation, placement: NormPlacement) {
    self.layers = layers
    self.width = width
    self.heads = heads
    self.activation = activation
    self.placement = placement
  }

  /// The same stack with every layer's projections packed for oneDNN (images and audio: see `LinearWeights`).
  public func packedForFixedShapes() -> TransformerStack {
    TransformerStack(layers: layers.map { $0.packedForFixedShapes() }, width: width, heads: heads, activation: activation, placement: placement)
  }

  /// Runs every layer over `hidden` ([batch·sequence, width]) in place.
  /// `lengths[b]` real tokens per item; `causal` masks future keys (CLIP text); `attentionBias` ([heads,
  /// sequence, sequence]) is added to every layer's attention scores (MPNet).
  public func forward(_ hidden: Tensor, batch: Int, sequence: Int, lengths: [Int], causal: Bool, attentionBias: Tensor? = nil) {
    forward(hidden, layout: TokenLayout(batch: batch, sequence: sequence, lengths: lengths), causal: causal, attentionBias: attentionBias)
  }

  /// Runs every layer over `hidden` ([layout.rows, width]) in place; text is packed (no padding rows).
  public func forward(_ hidden: Tensor, layout: TokenLayout, causal: Bool, attentionBias: Tensor? = nil) {
    workspaces.withWorkspace { workspace in
      forward(hidden, layout: layout, causal: causal, bias: attentionBias, workspace: workspace)
    }
  }

  private func forward(_ hidden: Tensor, layout: TokenLayout, causal: Bool, bias: Tensor?, workspace: Workspace) {
    let rows = layout.rows
    let qkv = workspace.tensor(0, [rows, 3 * width])
    let context = workspace.tensor(1, [rows, width])
    let normed = placement == .pre ? workspace.tensor(2, [rows, width]) : hidden
    let intermediate = workspace.tensor(3, [rows, layers.first?.up.outFeatures ?? 0])
    for layer in layers {
      // Attention block.
      if placement == .pre { layer.norm1.apply(hidden, into: normed) }
      layer.qkv.apply(normed, into: qkv)
      attention(
        q: qkv.data, k: qkv.data + width, v: qkv.data + 2 * width, rowStride: 3 * width, into: context,
        layout: layout, heads: heads, causal: causal, bias: bias.map { UnsafePointer($0.data) })
      layer.attentionOutput.accumulate(context, into: hidden)
      if placement == .post { layer.norm1.apply(hidden) }

      // MLP block.
      if placement == .pre { layer.norm2.apply(hidden, into: normed) }
      layer.up.apply(normed, into: intermediate)
      activation.apply(intermediate)
      layer.down.accumulate(intermediate, into: hidden)
      if placement == .post { layer.norm2.apply(hidden) }
    }
  }
}
