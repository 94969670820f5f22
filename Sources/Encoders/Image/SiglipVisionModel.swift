import Foundation
import Tensor

/// SigLIP's vision tower (`SiglipVisionModel` inside `SiglipModel`): patches embedded by one GEMM (with bias), no
/// class token, learned positions, a pre-norm transformer, the post-norm, then the attention-pooling head: one
/// learned probe attends over all patches (`nn.MultiheadAttention`), plus an MLP on its layer-normed result. The
/// head's output is `get_image_features` (SigLIP has no separate projection).
public struct SiglipVisionEncoder: ImageEncoder, @unchecked Sendable {
  public let architecture = "siglip_vision"
  public let dimension: Int
  public let imageSize: Int
  let patchSize: Int
  let heads: Int
  let patchWeight: Tensor  // [width, 3·patch·patch]
  let patchBias: Tensor
  let positionEmbedding: Tensor
  let stack: TransformerStack
  let postNorm: NormWeights
  let probe: Tensor  // [width]
  let queryWeight: LinearWeights
  let keyValueWeight: LinearWeights  // k and v fused: [2·width, width]
  let poolOutput: LinearWeights
  let poolNorm: NormWeights
  let poolUp: LinearWeights
  let poolDown: LinearWeights
  let activation: Activation

  public init(config: ModelConfig, checkpoint: SafeTensorsFile) throws {
    let vision = try config.section("vision_config")
    let width = try vision.int("hidden_size", default: 768)
    dimension = width
    heads = try vision.int("num_attention_heads", default: 12)
    imageSize = try vision.int("image_size", default: 224)
    patchSize = try vision.int("patch_size", default: 16)
    let intermediate = try vision.int("intermediate_size", default: 3072)
    let epsilon = try vision.float("layer_norm_eps", default: 1e-6)
    guard try vision.int("num_channels", default: 3) == 3, imageSize % patchSize == 0 else {
      throw CheckpointError("\(config.url.path): vision_config needs 3 channels and an image_size divisible by patch_size")
    }
    guard try vision.bool("vision_use_head", default: true) else {
      throw CheckpointError("\(config.url.path): vision_config.vision_use_head is false: this tower has no pooled output to serve")
    }
    let patches = (imageSize / patchSize) * (imageSize / patchSize)
    let w = Weights(file: checkpoint, prefix: "vision_model.")
    patchWeight = try w("embeddings.patch_embedding.weight", [width, 3, patchSize, patchSize]).reshaped([width, 3 * patchSize * patchSize])
    patchBias = try w("embeddings.patch_embedding.bias", [width])
    positionEmbedding = try w("embeddings.position_embedding.weight", [patches, width])
    stack = try TransformerStack.clipStyle(w, config: config, section: "vision_config", defaults: (width, 12, 12, 3072, 1e-6, "gelu_pytorch_tanh"))
      .packedForFixedShapes()
    activation = stack.activation
    postNorm = try NormWeights(w, "post_layernorm", width: width, epsilon: epsilon)
    let head = w.scoped("head.")
    probe = try head("probe", [1, 1, width]).reshaped([width])
    // nn.MultiheadAttention keeps q, k and v in one in_proj matrix.
    let inWeight = try head("attention.in_proj_weight", [3 * width, width]), inBias = try head("attention.in_proj_bias", [3 * width])
    queryWeight = LinearWeights(weight: inWeight.slice(0..<width), bias: inBias.slice(0..<width))
    keyValueWeight = LinearWeights(weight: inWeight.slice(width..<3 * width), bias: inBias.slice(width..<3 * width))
    poolOutput = try LinearWeights(head, "attention.out_proj", in: width, out: width)
    poolNorm = try NormWeights(head, "layernorm", width: width, epsilon: epsilon)
    poolUp = try LinearWeights(head, "mlp.fc1", in: width, out: intermediate)
    poolDown = try LinearWeights(head, "mlp.fc2", in: intermediate, out: width)
  }

  /// `pixels` is [batch, 3, imageSize, imageSize], already normalised.
  public func embed(pixels: Tensor) -> [[Float]] {
    let batch = pixels.shape[0], width = dimension
    let sequence = (imageSize / patchSize) * (imageSize / patchSize)
    let hidden = linear(unfoldPatches(pixels, imageSize: imageSize, patchSize: patchSize), weight: patchWeight, bias: patchBias)
    for row in 0..<batch * sequence {
      let out = hidden.data + row * width, position = positionEmbedding.data + (row % sequence) * width
      for i in 0..<width { out[i] += position[i] }
    }
    stack.forward(hidden, batch: batch, sequence: sequence, lengths: Array(repeating: sequence, count: batch), causal: false)
    postNorm.apply(hidden)
    return pool(hidden, batch: batch, sequence: sequence)
  }

  /// The attention-pooling head: the probe's query (the same for every image) against each image's patches.
  func pool(_ hidden: Tensor, batch: Int, sequence: Int) -> [[Float]] {
    let width = dimension, headWidth = width / heads
    let query = Tensor(zeros: [1, width])
    queryWeight.apply(probe.reshaped([1, width]), into: query)
    let keysValues = Tensor(zeros: [batch * sequence, 2 * width])
    keyValueWeight.apply(hidden, into: keysValues)
    let context = Tensor(zeros: [batch, width])
    let scale = 1 / Float(headWidth).squareRoot()
    var scores = [Float](repeating: 0, count: sequence)
    for b in 0..<batch {
      for h in 0..<heads {
        let q = query.data + h * headWidth
        for t in 0..<sequence {
          let k = keysValues.data + (b * sequence + t) * 2 * width + h * headWidth
          var dot: Float = 0
          for i in 0..<headWidth { dot += q[i] * k[i] }
          scores[t] = dot * scale
        }
        scores.withUnsafeMutableBufferPointer { softmaxRow($0.baseAddress!, count: sequence) }
        let out = context.data + b * width + h * headWidth
        for t in 0..<sequence {
          let v = keysValues.data + (b * sequence + t) * 2 * width + width + h * headWidth, p = scores[t]
          for i in 0..<headWidth { out[i] += p * v[i] }
        }
      }
    }
    let pooled = Tensor(zeros: [batch, width])
    poolOutput.apply(context, into: pooled)
    let normed = Tensor(zeros: [batch, width])
    poolNorm.apply(pooled, into: normed)
    let intermediate = Tensor(zeros: [batch, poolUp.outFeatures])
    poolUp.apply(normed, into: intermediate)
    activation.apply(intermediate)
    poolDown.accumulate(intermediate, into: pooled)
    return (0..<batch).map { Array(pooled.row($0)) }
  }
}
