import Foundation
import Tensor

/// What sentence-transformers' modules.json puts after the Transformer: Pooling (one or more modes), Dense layers
/// (their own model.safetensors), Normalize. A plain transformers directory (no modules.json) gets mean
/// pooling, as sentence-transformers gives it.
public struct SentenceTransformerHead: @unchecked Sendable {
  public let pooling: [Pooling]
  public let dense: [DenseLayer]
  public let normalize: Bool
  /// Width of the vectors it returns.
  public let dimension: Int

  public struct DenseLayer {
    let weights: LinearWeights
    /// Tanh (sentence-transformers' default) or none (Identity).
    let tanh: Bool
    var outFeatures: Int { weights.outFeatures }
  }

  public init(directory: URL, hiddenSize: Int) throws {
    let modulesFile = directory.appendingPathComponent("modules.json")
    guard let data = FileManager.default.contents(atPath: modulesFile.path) else {
      (pooling, dense, normalize, dimension) = ([.mean], [], false, hiddenSize)
      return
    }
    guard let modules = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
      throw CheckpointError("\(modulesFile.path): not a JSON list of modules")
    }
    var pooling: [Pooling]?
    var dense: [DenseLayer] = []
    var normalize = false
    var width = hiddenSize
    for (index, module) in modules.enumerated() {
      let type = module["type"] as? String ?? "?"
      let folder = directory.appendingPathComponent(module["path"] as? String ?? "")
      switch type {
      case "sentence_transformers.models.Transformer" where index == 0:
        continue
      case "sentence_transformers.models.Pooling":
        let config = try ModelConfig(directory: folder, file: "config.json")
        let modes = Pooling.allCases.filter { (config.values[$0.configKey] as? Bool) ?? false }
        guard !modes.isEmpty else { throw CheckpointError("\(config.url.path): no pooling_mode_* is true") }
        if let include = config.values["include_prompt"] as? Bool, !include {
          throw CheckpointError("\(config.url.path): include_prompt false (pooling that leaves the prompt out) is not supported")
        }
        pooling = modes
        width = hiddenSize * modes.count
      case "sentence_transformers.models.Dense":
        let config = try ModelConfig(directory: folder, file: "config.json")
        let inFeatures = try config.int("in_features"), outFeatures = try config.int("out_features")
        guard inFeatures == width else { throw CheckpointError("\(config.url.path): in_features \(inFeatures) but the previous module gives \(width)") }
        let activation = try config.string("activation_function", default: "torch.nn.modules.activation.Tanh")
        guard activation.hasSuffix("Tanh") || activation.hasSuffix("Identity") else {
          throw CheckpointError("\(config.url.path): activation_function \(activation) is not supported (Tanh, Identity are)")
        }
        let weightsPath = folder.appendingPathComponent("model.safetensors").path
        guard FileManager.default.fileExists(atPath: weightsPath) else { throw CheckpointError("\(weightsPath): missing (Chorus reads safetensors Dense weights)") }
        let weights = try LinearWeights(
          Weights(file: SafeTensorsFile(path: weightsPath)), "linear", in: inFeatures, out: outFeatures, bias: (config.values["bias"] as? Bool) ?? true)
        dense.append(DenseLayer(weights: weights, tanh: activation.hasSuffix("Tanh")))
        width = outFeatures
      case "sentence_transformers.models.Normalize":
        normalize = true
      default:
        throw CheckpointError("\(modulesFile.path): module \(index) '\(type)' is not supported (Transformer, Pooling, Dense, Normalize are)")
      }
    }
    guard let pooling else { throw CheckpointError("\(modulesFile.path): no Pooling module") }
    (self.pooling, self.dense, self.normalize, dimension) = (pooling, dense, normalize, width)
  }

  /// Sentence vectors from the backbone's hidden states.
  public func apply(_ hidden: Tensor, layout: TokenLayout) -> [[Float]] {
    let pooled = pooling.map { $0.apply(hidden, layout: layout) }
    var vectors = (0..<layout.count).map { b in pooled.flatMap { $0[b] } }
    for layer in dense where !vectors.isEmpty {
      let input = Tensor(shape: [vectors.count, vectors[0].count], values: vectors.flatMap { $0 })
      let output = linear(input, weight: layer.weights.weight, bias: layer.weights.bias)
      vectors = (0..<vectors.count).map { row in Array(output.row(row)).map { layer.tanh ? tanhf($0) : $0 } }
    }
    return normalize ? vectors.map(l2Normalized) : vectors
  }
}
