import Foundation
import Tensor

/// CLIP's vision tower (`CLIPVisionModelWithProjection` inside `CLIPModel`): non-overlapping patches embedded by
/// one GEMM, a class token, position embeddings, the pre-norm ("pre_layrnorm" in the checkpoint), a pre-norm
/// transformer, the post-norm of the class token, visual_projection: CLIPModel's image_embeds before normalising.
public struct CLIPVisionEncoder: ImageEncoder, @unchecked Sendable {
  public let architecture = "clip_vision"
  public let dimension: Int
  public let imageSize: Int
  let patchSize: Int
  let width: Int
  let patchWeight: Tensor  // [width, 3·patch·patch], the conv kernel flattened in (channel, row, column) order
  let classEmbedding: Tensor
  let positionEmbedding: Tensor
  let preNorm: NormWeights
  let stack: TransformerStack
  let postNorm: NormWeights
  let projection: Tensor

  public init(config: ModelConfig, checkpoint: SafeTensorsFile) throws {
    let vision = try config.section("vision_config")
    let width = try vision.int("hidden_size", default: 768)
    self.width = width
    let heads = try vision.int("num_attention_heads", default: 12)
    let layers = try vision.int("num_hidden_layers", default: 12)
    let intermediate = try vision.int("intermediate_size", default: 3072)
    imageSize = try vision.int("image_size", default: 224)
    patchSize = try vision.int("patch_size", default: 32)
    let channels = try vision.int("num_channels", default: 3)
    let epsilon = try vision.float("layer_norm_eps", default: 1e-5)
    let activationName = try vision.string("hidden_act", default: "quick_gelu")
    guard let activation = Activation(configName: activationName) else {
      throw CheckpointError("\(config.url.path): vision_config.hidden_act '\(activationName)' is not supported")
    }
    guard channels == 3, imageSize % patchSize == 0 else {
      throw CheckpointError("\(config.url.path): vision_config needs 3 channels and an image_size divisible by patch_size")
    }
    dimension = try config.int("projection_dim", default: 512)
    let patches = (imageSize / patchSize) * (imageSize / patchSize)

    let w = Weights(file: checkpoint, prefix: "vision_model.")
    patchWeight = try w("embeddings.patch_embedding.weight", [width, 3, patchSize, patchSize]).reshaped([width, 3 * patchSize * patchSize])
    classEmbedding = try w("embeddings.class_embedding", [width])
    positionEmbedding = try w("embeddings.position_embedding.weight", [patches + 1, width])
    preNorm = try NormWeights(w, "pre_layrnorm", width: width, epsilon: epsilon)
    stack = TransformerStack(
      layers: try (0..<layers).map { index in
        let l = w.scoped("encoder.layers.\(index).")
        return EncoderLayerWeights(
          qkv: .fused([
            try LinearWeights(l, "self_attn.q_proj", in: width, out: width),
            try LinearWeights(l, "self_attn.k_proj", in: width, out: width),
            try LinearWeights(l, "self_attn.v_proj", in: width, out: width),
          ]),
          attentionOutput: try LinearWeights(l, "self_attn.out_proj", in: width, out: width),
          norm1: try NormWeights(l, "layer_norm1", width: width, epsilon: epsilon),
          norm2: try NormWeights(l, "layer_norm2", width: width, epsilon: epsilon),
          up: try LinearWeights(l, "mlp.fc1", in: width, out: intermediate),
          down: try LinearWeights(l, "mlp.fc2", in: intermediate, out: width))
      },
      width: width, heads: heads, activation: activation, placement: .pre)
    postNorm = try NormWeights(w, "post_layernorm", width: width, epsilon: epsilon)
    projection = try Weights(file: checkpoint)("visual_projection.weight", [dimension, width])
  }

  /// `pixels` is [batch, 3, imageSize, imageSize], already normalised.
  public func embed(pixels: Tensor) -> [[Float]] {
    let batch = pixels.shape[0]
    let grid = imageSize / patchSize
    let patches = grid * grid
    let sequence = patches + 1
    let patchLength = 3 * patchSize * patchSize

    // Rows of flattened patches, (channel, row, column) within each, to meet the conv kernel as one GEMM.
    let unfolded = Tensor(zeros: [batch * patches, patchLength])
    for b in 0..<batch {
      for py in 0..<grid {
        for px in 0..<grid {
          var out = unfolded.data + ((b * patches) + py * grid + px) * patchLength
          for c in 0..<3 {
            for y in 0..<patchSize {
              let source = pixels.data + ((b * 3 + c) * imageSize + py * patchSize + y) * imageSize + px * patchSize
              out.update(from: source, count: patchSize)
              out += patchSize
            }
          }
        }
      }
    }
    let embedded = linear(unfolded, weight: patchWeight, bias: nil)

    // [class token, patches…] + positions, then the pre-norm.
    let hidden = Tensor(zeros: [batch * sequence, width])
    for b in 0..<batch {
      for t in 0..<sequence {
        let row = hidden.data + (b * sequence + t) * width
        let source = t == 0 ? classEmbedding.data : embedded.data + (b * patches + t - 1) * width
        let position = positionEmbedding.data + t * width
        for i in 0..<width { row[i] = source[i] + position[i] }
      }
    }
    preNorm.apply(hidden)
    stack.forward(hidden, batch: batch, sequence: sequence, lengths: Array(repeating: sequence, count: batch), causal: false)

    let pooled = Tensor(zeros: [batch, width])
    for b in 0..<batch { (pooled.data + b * width).update(from: hidden.data + b * sequence * width, count: width) }
    postNorm.apply(pooled)
    let projected = linear(pooled, weight: projection, bias: nil)
    return (0..<batch).map { Array(projected.row($0)) }
  }
}
