import Foundation
import Tensor
import Tokenizers

/// A text encoder as sentence-transformers runs it: the directory's tokenizer, a transformer backbone (BERT,
/// RoBERTa, XLM-RoBERTa, MPNet), then the modules.json head. Prompts come from config_sentence_transformers.json
/// (e5's "query: " / "passage: ", instruction prompts) and are put before the text, as sentence-transformers does.
public struct SentenceTransformer: TextEncoder, @unchecked Sendable {
  public let architecture: String
  public let dimension: Int
  public let maxTokens: Int
  public var vocabularySize: Int { max(backbone.vocabularySize, tokenizer.vocabularySize) }
  public let prompts: [String: String]
  public let defaultPromptName: String?
  /// sentence_bert_config.json's do_lower_case: sentence-transformers lower-cases the text before tokenizing.
  let lowercasesText: Bool
  public let tokenizer: Tokenizer
  let backbone: any TextBackbone
  let head: SentenceTransformerHead

  public init(directory: URL, architecture: String, backbone: any TextBackbone) throws {
    self.architecture = architecture
    self.backbone = backbone
    tokenizer = try Tokenizer.forModel(in: directory)
    head = try SentenceTransformerHead(directory: directory, hiddenSize: backbone.hiddenSize)
    dimension = head.dimension
    let configured = (try? ModelConfig(directory: directory, file: "sentence_bert_config.json").int("max_seq_length"))
      ?? (try? ModelConfig(directory: directory, file: "tokenizer_config.json").int("model_max_length"))
      ?? backbone.maxPositions
    maxTokens = min(configured, backbone.maxPositions)
    lowercasesText = (try? ModelConfig(directory: directory, file: "sentence_bert_config.json").values["do_lower_case"] as? Bool) ?? false
    let settings = try? ModelConfig(directory: directory, file: "config_sentence_transformers.json")
    prompts = (settings?.values["prompts"] as? [String: String]) ?? [:]
    defaultPromptName = settings?.values["default_prompt_name"] as? String
    if let defaultPromptName, prompts[defaultPromptName] == nil {
      throw CheckpointError("\(directory.path)/config_sentence_transformers.json: default_prompt_name '\(defaultPromptName)' is not one of its prompts")
    }
  }

  /// The text as the tokenizer should see it (lower-cased when the model's sentence_bert_config says so).
  public func prepared(_ text: String) -> String { lowercasesText ? text.lowercased() : text }

  public func embed(_ batch: [[Int32]]) -> [[Float]] {
    embed(batch, tokenStates: false).map(\.vector)
  }

  public func embed(_ batch: [[Int32]], tokenStates: Bool) -> [(vector: [Float], tokens: [[Float]]?)] {
    let (hidden, layout) = backbone.forward(batch)
    let vectors = head.apply(hidden, layout: layout)
    guard tokenStates else { return vectors.map { ($0, nil) } }
    let width = backbone.hiddenSize
    return zip(vectors, batch.indices).map { vector, b in
      (vector, (0..<batch[b].count).map { t in Array(UnsafeBufferPointer(start: hidden.data + (layout.starts[b] + t) * width, count: width)) })
    }
  }
}
