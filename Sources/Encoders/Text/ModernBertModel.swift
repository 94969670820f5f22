import Foundation
import Tensor

/// ModernBERT (`ModernBertModel`; gte-modernbert, nomic's modernbert-embed): token embeddings and a LayerNorm,
/// pre-norm layers (the first without its attention norm) with rotary positions, bidirectional attention that is
/// global every few layers and a ±local_attention/2 sliding window otherwise (each with its own rotary base),
/// a GeGLU MLP, and a final LayerNorm. Biases and norm biases as the config says (off in the published models).
/// Padding costs nothing in attention: each text attends over its own tokens only.
public struct ModernBertModel: TextBackbone {
  public let hiddenSize: Int
  public let maxPositions: Int
  public let vocabularySize: Int
  let embeddings: Tensor
  let embeddingNorm: NormWeights
  let stack: RotaryTransformer

  public init(config: ModelConfig, checkpoint: SafeTensorsFile) throws {
    let hidden = try config.int("hidden_size")
    let heads = try config.int("num_attention_heads")
    let layers = try config.int("num_hidden_layers")
    let intermediate = try config.int("intermediate_size")
    vocabularySize = try config.int("vocab_size")
    maxPositions = try config.int("max_position_embeddings")
    let epsilon = try config.float("norm_eps", default: 1e-5)
    let normBias = (config.values["norm_bias"] as? Bool) ?? false
    let attentionBias = (config.values["attention_bias"] as? Bool) ?? false
    let mlpBias = (config.values["mlp_bias"] as? Bool) ?? false
    let activationName = try config.string("hidden_activation", default: "gelu")
    guard let activation = Activation(configName: activationName) else { throw CheckpointError("\(config.url.path): hidden_activation '\(activationName)' is not supported") }
    guard hidden % heads == 0 else { throw CheckpointError("\(config.url.path): hidden_size \(hidden) is not a multiple of num_attention_heads \(heads)") }
    let headDim = hidden / heads
    let localAttention = try config.int("local_attention", default: 128)
    // Which layers are global: layer_types (newer configs) or every global_attn_every_n_layers-th (older ones).
    let every = try config.int("global_attn_every_n_layers", default: 3)
    let types = (config.values["layer_types"] as? [String]) ?? (0..<layers).map { $0 % every == 0 ? "full_attention" : "sliding_attention" }
    guard types.count == layers, types.allSatisfy({ $0 == "full_attention" || $0 == "sliding_attention" }) else {
      throw CheckpointError("\(config.url.path): layer_types must list full_attention or sliding_attention for each of the \(layers) layers")
    }
    let ropes = config.values["rope_parameters"] as? [String: [String: Any]]
    for (name, parameters) in ropes ?? [:] where (parameters["rope_type"] as? String ?? "default") != "default" {
      throw CheckpointError("\(config.url.path): rope_parameters.\(name).rope_type '\(parameters["rope_type"]!)' is not supported (default is)")
    }
    let globalTheta = try (ropes?["full_attention"]?["rope_theta"] as? NSNumber)?.floatValue ?? (config.float("global_rope_theta", default: 160_000))
    let localTheta = try (ropes?["sliding_attention"]?["rope_theta"] as? NSNumber)?.floatValue ?? (config.float("local_rope_theta", default: 10_000))

    let probe = "embeddings.tok_embeddings.weight"
    guard let prefix = Weights.detectPrefix(in: checkpoint, probe: probe, prefixes: ["", "model."]) else {
      throw CheckpointError("\(checkpoint.path): tensor '\(probe)' is missing (expected shape [\(vocabularySize), \(hidden)])")
    }
    let w = Weights(file: checkpoint, prefix: prefix)
    hiddenSize = hidden
    embeddings = try w(probe, [vocabularySize, hidden])
    embeddingNorm = try NormWeights(w, "embeddings.norm", width: hidden, epsilon: epsilon, hasBias: normBias)
    let global = RotaryEmbedding(base: globalTheta, headDim: headDim), local = RotaryEmbedding(base: localTheta, headDim: headDim)
    stack = RotaryTransformer(
      layers: try (0..<layers).map { index in
        let l = w.scoped("layers.\(index).")
        let isLocal = types[index] == "sliding_attention"
        return RotaryLayerWeights(
          attentionNorm: index == 0 ? nil : .layer(try NormWeights(l, "attn_norm", width: hidden, epsilon: epsilon, hasBias: normBias)),
          qkv: try LinearWeights(l, "attn.Wqkv", in: hidden, out: 3 * hidden, bias: attentionBias),
          queryNorm: nil, keyNorm: nil,
          attentionOutput: try LinearWeights(l, "attn.Wo", in: hidden, out: hidden, bias: attentionBias),
          mlpNorm: .layer(try NormWeights(l, "mlp_norm", width: hidden, epsilon: epsilon, hasBias: normBias)),
          up: try LinearWeights(l, "mlp.Wi", in: hidden, out: 2 * intermediate, bias: mlpBias),
          down: try LinearWeights(l, "mlp.Wo", in: intermediate, out: hidden, bias: mlpBias),
          rotary: isLocal ? local : global, window: isLocal ? localAttention / 2 : nil)
      },
      width: hidden, heads: heads, kvHeads: heads, headDim: headDim, activation: activation, causal: false,
      finalNorm: .layer(try NormWeights(w, "final_norm", width: hidden, epsilon: epsilon, hasBias: normBias)))
  }

  public func forward(_ sequences: [[Int32]]) -> (hidden: Tensor, layout: TokenLayout) {
    let (hidden, layout) = packedEmbeddings(embeddings, sequences)
    embeddingNorm.apply(hidden)
    stack.forward(hidden, layout: layout)
    return (hidden, layout)
  }
}
