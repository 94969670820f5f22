import Tensor

extension EncoderLayerWeights {
  /// A pre-norm layer under CLIP's names, shared by CLIP's and SigLIP's towers: layer_norm1, self_attn.{q,k,v,out}_proj,
  /// layer_norm2, mlp.fc1/fc2.
  static func clipStyle(_ l: Weights, width: Int, intermediate: Int, epsilon: Float) throws -> EncoderLayerWeights {
    EncoderLayerWeights(
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
  }
}

extension TransformerStack {
  /// The `encoder.layers.N.` stack of a CLIP-style tower config (hidden_size, num_attention_heads, …).
  static func clipStyle(_ w: Weights, config: ModelConfig, section: String, defaults: (width: Int, heads: Int, layers: Int, intermediate: Int, epsilon: Float, activation: String))
    throws -> TransformerStack
  {
    let tower = try config.section(section)
    let width = try tower.int("hidden_size", default: defaults.width)
    let intermediate = try tower.int("intermediate_size", default: defaults.intermediate)
    let epsilon = try tower.float("layer_norm_eps", default: defaults.epsilon)
    let activationName = try tower.string("hidden_act", default: defaults.activation)
    guard let activation = Activation(configName: activationName) else {
      throw CheckpointError("\(config.url.path): \(section).hidden_act '\(activationName)' is not supported")
    }
    let layers = try (0..<tower.int("num_hidden_layers", default: defaults.layers)).map { index in
      try EncoderLayerWeights.clipStyle(w.scoped("encoder.layers.\(index)."), width: width, intermediate: intermediate, epsilon: epsilon)
    }
    return TransformerStack(layers: layers, width: width, heads: try tower.int("num_attention_heads", default: defaults.heads), activation: activation, placement: .pre)
  }
}

/// Rows of flattened non-overlapping patches of [batch, 3, size, size] pixels, (channel, row, column) within each
/// patch: a ViT's patch convolution becomes one GEMM against its kernel flattened the same way.
func unfoldPatches(_ pixels: Tensor, imageSize: Int, patchSize: Int) -> Tensor {
  let batch = pixels.shape[0], grid = imageSize / patchSize, patches = grid * grid
  let patchLength = 3 * patchSize * patchSize
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
  return unfolded
}
