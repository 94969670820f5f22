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
    imageSize = try vision.int("image_size", default: 224)
    patchSize = try vision.int("patch_size", default: 32)
    let channels = try vision.int("num_channels", default: 3)
    let epsilon = try vision.float("layer_norm_eps", default: 1e-5)
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
    // Rows repeat (patches × batch): the projections are packed once for oneDNN.
    stack = try TransformerStack.clipStyle(w, config: config, section: "vision_config", defaults: (width, 12, 12, 3072, 1e-5, "quick_gelu"))
      .packedForFixedShapes()
    postNorm = try NormWeights(w, "post_layernorm", width: width, epsilon: epsilon)
    projection = try Weights(file: checkpoint)("visual_projection.weight", [dimension, width])
  }

  /// `pixels` is [batch, 3, imageSize, imageSize], already normalised.
  public func embed(pixels: Tensor) -> [[Float]] {
    let batch = pixels.shape[0]
    let grid = imageSize / patchSize
    let patches = grid * grid
    let sequence = patches + 1

    let unfolded = unfoldPatches(pixels, imageSize: imageSize, patchSize: patchSize)
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
