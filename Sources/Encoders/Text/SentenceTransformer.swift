import Foundation
import Tensor
import Tokenizers

/// A BERT text encoder as sentence-transformers runs it: WordPiece, BERT, Pooling, optional Normalize
/// (modules.json). A plain BERT directory (no modules.json) gets mean pooling, as sentence-transformers gives it.
public struct SentenceTransformer: TextEncoder, @unchecked Sendable {
  public let architecture = "bert"
  public let dimension: Int
  public let maxTokens: Int
  public var vocabularySize: Int { model.vocabularySize }
  let tokenizer: Tokenizer
  let model: BertModel
  let pooling: Pooling
  let normalize: Bool

  public init(directory: URL, config: ModelConfig, checkpoint: SafeTensorsFile) throws {
    model = try BertModel(config: config, checkpoint: checkpoint)
    do {
      tokenizer = try Tokenizer.load(directory: directory)
    } catch {
      throw CheckpointError("\(directory.path): tokenizer: \(error)")
    }
    dimension = model.hiddenSize
    let modules = try Self.modules(directory)
    (pooling, normalize) = try Self.head(directory: directory, modules: modules)
    let configured = (try? ModelConfig(directory: directory, file: "sentence_bert_config.json").int("max_seq_length"))
      ?? (try? ModelConfig(directory: directory, file: "tokenizer_config.json").int("model_max_length"))
      ?? model.maxPositions
    maxTokens = min(configured, model.maxPositions)
  }

  public func tokenize(_ text: String) -> TokenizedText {
    let encoding = tokenizer.encode(text, maxLength: maxTokens)
    return TokenizedText(ids: encoding.ids, truncated: encoding.truncated)
  }

  public func embed(_ batch: [[Int32]]) -> [[Float]] {
    let (hidden, sequence) = model.forward(batch)
    let pooled = pooling.apply(hidden, sequence: sequence, lengths: batch.map(\.count))
    return normalize ? pooled.map(l2Normalized) : pooled
  }

  /// modules.json's module types, in order; nil when the directory is a plain transformers model.
  private static func modules(_ directory: URL) throws -> [(type: String, path: String)]? {
    let url = directory.appendingPathComponent("modules.json")
    guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
    guard let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
      throw CheckpointError("\(url.path): not a JSON list of modules")
    }
    return list.map { (($0["type"] as? String) ?? "?", ($0["path"] as? String) ?? "") }
  }

  private static func head(directory: URL, modules: [(type: String, path: String)]?) throws -> (Pooling, Bool) {
    guard let modules else { return (.mean, false) }
    var pooling: Pooling?
    var normalize = false
    for (index, module) in modules.enumerated() {
      switch module.type {
      case "sentence_transformers.models.Transformer" where index == 0:
        continue
      case "sentence_transformers.models.Pooling":
        let config = try ModelConfig(directory: directory.appendingPathComponent(module.path), file: "config.json")
        let flag = { (key: String) in (config.values[key] as? Bool) ?? false }
        let chosen = [("pooling_mode_mean_tokens", Pooling.mean), ("pooling_mode_cls_token", .cls), ("pooling_mode_max_tokens", .max)]
          .filter { flag($0.0) }
        let unsupported = ["pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"].filter(flag)
        guard chosen.count == 1, unsupported.isEmpty else {
          throw CheckpointError("\(config.url.path): exactly one of mean, cls or max pooling is supported; this config asks for \((chosen.map(\.0) + unsupported).joined(separator: ", "))")
        }
        pooling = chosen[0].1
      case "sentence_transformers.models.Normalize":
        normalize = true
      default:
        throw CheckpointError("\(directory.appendingPathComponent("modules.json").path): module \(index) '\(module.type)' is not supported (Transformer, Pooling, Normalize are)")
      }
    }
    guard let pooling else { throw CheckpointError("\(directory.appendingPathComponent("modules.json").path): no Pooling module") }
    return (pooling, normalize)
  }
}
