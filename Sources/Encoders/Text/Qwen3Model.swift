import Foundation
import Tensor

/// Qwen3 (`Qwen3Model`; Qwen3-Embedding): token embeddings, pre-norm decoder layers with RMSNorm, q/k RMSNorm
/// per head, rotary positions, grouped-query causal attention and a SwiGLU MLP, then a final RMSNorm. Embedders
/// built on it pool the last token (sentence-transformers' lasttoken). Padding side does not matter here: each
/// text runs at positions 0…n−1, and rotary attention depends only on distances.
public struct Qwen3Model: TextBackbone {
  public let hiddenSize: Int
  public let maxPositions: Int
  public let vocabularySize: Int
  let embeddings: Tensor
  let stack: RotaryTransformer

  public init(config: ModelConfig, checkpoint: SafeTensorsFile) throws {
    let hidden = try config.int("hidden_size")
    let heads = try config.int("num_attention_heads")
    let kvHeads = try config.int("num_key_value_heads", default: heads)
    let headDim = try config.int("head_dim", default: hidden / heads)
    let layers = try config.int("num_hidden_layers")
    let intermediate = try config.int("intermediate_size")
    vocabularySize = try config.int("vocab_size")
    maxPositions = try config.int("max_position_embeddings")
    let epsilon = try config.float("rms_norm_eps", default: 1e-6)
    let theta = try ((config.values["rope_parameters"] as? [String: Any])?["rope_theta"] as? NSNumber)?.floatValue ?? config.float("rope_theta", default: 1_000_000)
    if let scaling = (config.values["rope_parameters"] as? [String: Any])?["rope_type"] as? String ?? (config.values["rope_scaling"] as? [String: Any])?["rope_type"] as? String,
      scaling != "default"
    {
      throw CheckpointError("\(config.url.path): rope_type '\(scaling)' is not supported (default is)")
    }
    if (config.values["use_sliding_window"] as? Bool) == true {
      throw CheckpointError("\(config.url.path): use_sliding_window true is not supported (Qwen3 embedders use full attention)")
    }
    let activationName = try config.string("hidden_act", default: "silu")
    guard let activation = Activation(configName: activationName) else { throw CheckpointError("\(config.url.path): hidden_act '\(activationName)' is not supported") }
    guard heads % kvHeads == 0 else { throw CheckpointError("\(config.url.path): num_attention_heads \(heads) is not a multiple of num_key_value_heads \(kvHeads)") }
    let attentionBias = (config.values["attention_bias"] as? Bool) ?? false

    let probe = "embed_tokens.weight"
    guard let prefix = Weights.detectPrefix(in: checkpoint, probe: probe, prefixes: ["", "model."]) else {
      throw CheckpointError("\(checkpoint.path): tensor '\(probe)' is missing (expected shape [\(vocabularySize), \(hidden)])")
    }
    let w = Weights(file: checkpoint, prefix: prefix)
    hiddenSize = hidden
    embeddings = try w(probe, [vocabularySize, hidden])
    let rotary = RotaryEmbedding(base: theta, headDim: headDim)
    stack = RotaryTransformer(
      layers: try (0..<layers).map { index in
        let l = w.scoped("layers.\(index).")
        let gate = try LinearWeights(l, "mlp.gate_proj", in: hidden, out: intermediate, bias: false)
        let up = try LinearWeights(l, "mlp.up_proj", in: hidden, out: intermediate, bias: false)
        return RotaryLayerWeights(
          attentionNorm: .rms(weight: try l("input_layernorm.weight", [hidden]), epsilon: epsilon),
          qkv: .fused([
            try LinearWeights(l, "self_attn.q_proj", in: hidden, out: heads * headDim, bias: attentionBias),
            try LinearWeights(l, "self_attn.k_proj", in: hidden, out: kvHeads * headDim, bias: attentionBias),
            try LinearWeights(l, "self_attn.v_proj", in: hidden, out: kvHeads * headDim, bias: attentionBias),
          ]),
          queryNorm: (try l("self_attn.q_norm.weight", [headDim]), epsilon),
          keyNorm: (try l("self_attn.k_norm.weight", [headDim]), epsilon),
          attentionOutput: try LinearWeights(l, "self_attn.o_proj", in: heads * headDim, out: hidden, bias: attentionBias),
          mlpNorm: .rms(weight: try l("post_attention_layernorm.weight", [hidden]), epsilon: epsilon),
          up: .fused([gate, up]),
          down: try LinearWeights(l, "mlp.down_proj", in: intermediate, out: hidden, bias: false),
          rotary: rotary, window: nil)
      },
      width: hidden, heads: heads, kvHeads: kvHeads, headDim: headDim, activation: activation, causal: true,
      finalNorm: .rms(weight: try w("norm.weight", [hidden]), epsilon: epsilon))
  }

  public func forward(_ sequences: [[Int32]]) -> (hidden: Tensor, layout: TokenLayout) {
    let (hidden, layout) = packedEmbeddings(embeddings, sequences)
    stack.forward(hidden, layout: layout)
    return (hidden, layout)
  }
}
