import Foundation
import Tensor

/// BERT (`BertModel` in transformers): word + position + token-type embeddings, layer norm, a post-norm
/// transformer. Produces the last hidden state of every token; pooling is the head's job.
///
/// RoBERTa and XLM-RoBERTa are the same network with position ids counted from `padding_idx + 1` (their
/// `create_position_ids_from_input_ids`; a batch of real tokens gets padding_idx+1, +2, …), so
/// `positionOffset` = pad_token_id + 1 and two fewer usable positions.
public struct BertModel: TextBackbone {
  public let hiddenSize: Int
  public let maxPositions: Int
  public let vocabularySize: Int
  let positionOffset: Int
  let wordEmbeddings: Tensor
  let positionEmbeddings: Tensor
  let tokenTypeEmbeddings: Tensor
  let embeddingNorm: NormWeights
  let stack: TransformerStack

  /// `prefixes`: where the backbone's tensors may live in the checkpoint ("text_model." inside CLAP).
  public init(config: ModelConfig, checkpoint: SafeTensorsFile, positionOffset: Int = 0, prefixes: [String] = ["", "bert.", "roberta.", "model."]) throws {
    let hidden = try config.int("hidden_size")
    let heads = try config.int("num_attention_heads")
    let layers = try config.int("num_hidden_layers")
    let intermediate = try config.int("intermediate_size")
    let vocabulary = try config.int("vocab_size")
    vocabularySize = vocabulary
    let positions = try config.int("max_position_embeddings")
    let typeVocabulary = try config.int("type_vocab_size", default: 2)
    let epsilon = try config.float("layer_norm_eps", default: 1e-12)
    let activationName = try config.string("hidden_act", default: "gelu")
    guard let activation = Activation(configName: activationName) else {
      throw CheckpointError("\(config.url.path): hidden_act '\(activationName)' is not supported (gelu, gelu_new, quick_gelu, relu are)")
    }
    let positionType = try config.string("position_embedding_type", default: "absolute")
    guard positionType == "absolute" else {
      throw CheckpointError("\(config.url.path): position_embedding_type '\(positionType)' is not supported (absolute is)")
    }
    guard hidden % heads == 0 else { throw CheckpointError("\(config.url.path): hidden_size \(hidden) is not a multiple of num_attention_heads \(heads)") }

    let probe = "embeddings.word_embeddings.weight"
    guard let prefix = Weights.detectPrefix(in: checkpoint, probe: probe, prefixes: prefixes) else {
      throw CheckpointError("\(checkpoint.path): tensor '\(probe)' is missing (expected shape [\(vocabulary), \(hidden)])")
    }
    let w = Weights(file: checkpoint, prefix: prefix)
    hiddenSize = hidden
    self.positionOffset = positionOffset
    maxPositions = positions - positionOffset
    wordEmbeddings = try w("embeddings.word_embeddings.weight", [vocabulary, hidden])
    positionEmbeddings = try w("embeddings.position_embeddings.weight", [positions, hidden])
    tokenTypeEmbeddings = try w("embeddings.token_type_embeddings.weight", [typeVocabulary, hidden])
    embeddingNorm = try NormWeights(w, "embeddings.LayerNorm", width: hidden, epsilon: epsilon)
    stack = TransformerStack(
      layers: try Self.postNormLayers(w, count: layers, width: hidden, intermediate: intermediate, epsilon: epsilon, names: .bert),
      width: hidden, heads: heads, activation: activation, placement: .post)
  }

  /// What a post-norm BERT-family checkpoint calls the parts of encoder.layer.N.
  struct LayerNames {
    var query, key, value, attentionOutput, attentionNorm: String
    static let bert = LayerNames(
      query: "attention.self.query", key: "attention.self.key", value: "attention.self.value", attentionOutput: "attention.output.dense",
      attentionNorm: "attention.output.LayerNorm")
    static let mpnet = LayerNames(
      query: "attention.attn.q", key: "attention.attn.k", value: "attention.attn.v", attentionOutput: "attention.attn.o", attentionNorm: "attention.LayerNorm")
  }

  /// encoder.layer.0 … count−1 of a BERT-family checkpoint (the MLP's names are the same in all of them).
  static func postNormLayers(_ w: Weights, count: Int, width: Int, intermediate: Int, epsilon: Float, names: LayerNames) throws -> [EncoderLayerWeights] {
    try (0..<count).map { index in
      let l = w.scoped("encoder.layer.\(index).")
      return EncoderLayerWeights(
        qkv: .fused([
          try LinearWeights(l, names.query, in: width, out: width),
          try LinearWeights(l, names.key, in: width, out: width),
          try LinearWeights(l, names.value, in: width, out: width),
        ]),
        attentionOutput: try LinearWeights(l, names.attentionOutput, in: width, out: width),
        norm1: try NormWeights(l, names.attentionNorm, width: width, epsilon: epsilon),
        norm2: try NormWeights(l, "output.LayerNorm", width: width, epsilon: epsilon),
        up: try LinearWeights(l, "intermediate.dense", in: width, out: intermediate),
        down: try LinearWeights(l, "output.dense", in: intermediate, out: width))
    }
  }

  /// Last hidden states of token id sequences of any lengths ≤ maxPositions, packed (no padding rows).
  public func forward(_ sequences: [[Int32]]) -> (hidden: Tensor, layout: TokenLayout) {
    let layout = TokenLayout(packed: sequences.map(\.count))
    let hidden = Tensor(zeros: [layout.rows, hiddenSize])
    for (b, ids) in sequences.enumerated() {
      for (position, id) in ids.enumerated() {
        let row = hidden.data + (layout.starts[b] + position) * hiddenSize
        let word = wordEmbeddings.data + Int(id) * hiddenSize
        let place = positionEmbeddings.data + (position + positionOffset) * hiddenSize
        let type = tokenTypeEmbeddings.data  // token type 0: single-sequence input
        for i in 0..<hiddenSize { row[i] = word[i] + place[i] + type[i] }
      }
    }
    embeddingNorm.apply(hidden)
    stack.forward(hidden, layout: layout, causal: false)
    return (hidden, layout)
  }
}
