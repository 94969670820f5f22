import Foundation
import Tensor

/// MPNet (`MPNetModel` in transformers; all-mpnet-base-v2): word + position embeddings (positions counted from
/// padding_idx + 1, as RoBERTa's), layer norm, a post-norm BERT-style transformer whose attention scores gain a
/// learned bias per head and relative-position bucket, computed once and shared by every layer.
public struct MPNetModel: TextBackbone {
  public let hiddenSize: Int
  public let maxPositions: Int
  public let vocabularySize: Int
  let heads: Int
  let positionOffset: Int
  let wordEmbeddings: Tensor
  let positionEmbeddings: Tensor
  let embeddingNorm: NormWeights
  /// [buckets, heads].
  let relativeBias: Tensor
  let buckets: Int
  let stack: TransformerStack

  public init(config: ModelConfig, checkpoint: SafeTensorsFile) throws {
    let hidden = try config.int("hidden_size")
    heads = try config.int("num_attention_heads")
    let layers = try config.int("num_hidden_layers")
    let intermediate = try config.int("intermediate_size")
    vocabularySize = try config.int("vocab_size")
    let positions = try config.int("max_position_embeddings")
    buckets = try config.int("relative_attention_num_buckets", default: 32)
    let epsilon = try config.float("layer_norm_eps", default: 1e-5)
    let activationName = try config.string("hidden_act", default: "gelu")
    guard let activation = Activation(configName: activationName) else {
      throw CheckpointError("\(config.url.path): hidden_act '\(activationName)' is not supported (gelu, gelu_new, quick_gelu, relu are)")
    }
    guard hidden % heads == 0 else { throw CheckpointError("\(config.url.path): hidden_size \(hidden) is not a multiple of num_attention_heads \(heads)") }
    positionOffset = try config.int("pad_token_id", default: 1) + 1
    let probe = "embeddings.word_embeddings.weight"
    guard let prefix = Weights.detectPrefix(in: checkpoint, probe: probe, prefixes: ["", "mpnet.", "model."]) else {
      throw CheckpointError("\(checkpoint.path): tensor '\(probe)' is missing (expected shape [\(vocabularySize), \(hidden)])")
    }
    let w = Weights(file: checkpoint, prefix: prefix)
    hiddenSize = hidden
    maxPositions = positions - positionOffset
    wordEmbeddings = try w("embeddings.word_embeddings.weight", [vocabularySize, hidden])
    positionEmbeddings = try w("embeddings.position_embeddings.weight", [positions, hidden])
    embeddingNorm = try NormWeights(w, "embeddings.LayerNorm", width: hidden, epsilon: epsilon)
    relativeBias = try w("encoder.relative_attention_bias.weight", [buckets, heads])
    stack = TransformerStack(
      layers: try BertModel.postNormLayers(w, count: layers, width: hidden, intermediate: intermediate, epsilon: epsilon, names: .mpnet),
      width: hidden, heads: heads, activation: activation, placement: .post)
  }

  public func forward(_ sequences: [[Int32]]) -> (hidden: Tensor, layout: TokenLayout) {
    let layout = TokenLayout(packed: sequences.map(\.count))
    let hidden = Tensor(zeros: [layout.rows, hiddenSize])
    for (b, ids) in sequences.enumerated() {
      for (position, id) in ids.enumerated() {
        let row = hidden.data + (layout.starts[b] + position) * hiddenSize
        let word = wordEmbeddings.data + Int(id) * hiddenSize
        let place = positionEmbeddings.data + (position + positionOffset) * hiddenSize
        for i in 0..<hiddenSize { row[i] = word[i] + place[i] }
      }
    }
    embeddingNorm.apply(hidden)
    stack.forward(hidden, layout: layout, causal: false, attentionBias: positionBias(layout.longest))
    return (hidden, layout)
  }

  /// [heads, sequence, sequence]: bias[h, i, j] = relativeBias[bucket(j − i), h].
  func positionBias(_ sequence: Int) -> Tensor {
    let bias = Tensor(zeros: [heads, sequence, sequence])
    for i in 0..<sequence {
      for j in 0..<sequence {
        let bucket = Self.bucket(relative: j - i, buckets: buckets)
        for h in 0..<heads { bias.data[(h * sequence + i) * sequence + j] = relativeBias.data[bucket * heads + h] }
      }
    }
    return bias
  }

  /// T5's bidirectional buckets with max_distance 128: half the buckets per direction (keys before the query
  /// take the upper half), exact below buckets/4, then logarithmic: 8 + ⌊8·log(n/8)/log(16)⌋ for 32 buckets,
  /// computed in integers (the largest k with 64·2^k ≤ n², for 32 buckets) so no float rounding can move a
  /// boundary; equal to transformers' float32 formula for every distance a 512-token text has.
  static func bucket(relative: Int, buckets: Int) -> Int {
    let half = buckets / 2
    let exact = half / 2
    var result = relative > 0 ? half : 0
    let n = abs(relative)
    if n < exact { return result + n }
    // ⌊(half − exact)·log(n/exact)/log(128/exact)⌋ in integers: the largest k with (n/exact)^((half−exact)) ≥ (128/exact)^k.
    let steps = half - exact
    var k = 0
    let ratio = Double(n) / Double(exact), top = 128 / Double(exact)
    while k + 1 < steps + 1 && pow(ratio, Double(steps)) >= pow(top, Double(k + 1)) { k += 1 }
    result += min(exact + k, half - 1)
    return result
  }
}
