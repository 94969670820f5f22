import Foundation
import Tensor

/// A trained map from an encoder's space into another space (the starter's audio into its text space):
/// `projection.safetensors` and `projection.json` (what it maps into, how it was trained) in the model directory.
/// Two shapes, told apart by the tensor names: one linear layer (`weight` [out, in], `bias` [out]), or two with
/// GELU (erf) between them, as `nn.Sequential(Linear, GELU, Linear)` names them (`0.weight`, `0.bias`,
/// `2.weight`, `2.bias`). It takes the encoder's L2-normalised vector.
public struct ProjectionHead: @unchecked Sendable {
  /// The layers in order, each (weight [out, in], bias [out]); GELU between consecutive layers.
  public let layers: [(weight: Tensor, bias: Tensor)]
  /// The space it maps into, as projection.json names it (a model directory name).
  public let target: String
  public var outputDimension: Int { layers.last!.weight.shape[0] }

  /// nil when the directory has no projection.safetensors.
  public init?(directory: URL, inputDimension: Int) throws {
    let file = directory.appendingPathComponent("projection.safetensors")
    guard FileManager.default.fileExists(atPath: file.path) else { return nil }
    let checkpoint = try SafeTensorsFile(path: file.path)
    let w = Weights(file: checkpoint)
    let prefixes = checkpoint.entries["weight"] != nil ? [""] : ["0.", "2."]
    var input = inputDimension
    var layers: [(weight: Tensor, bias: Tensor)] = []
    for prefix in prefixes {
      guard let out = checkpoint.entries[prefix + "weight"]?.shape.first else {
        throw CheckpointError("\(file.path): expected 'weight' and 'bias' (one layer) or '0.weight', '0.bias', '2.weight', '2.bias' (two)")
      }
      layers.append((try w(prefix + "weight", [out, input]), try w(prefix + "bias", [out])))
      input = out
    }
    self.layers = layers
    let description = directory.appendingPathComponent("projection.json")
    let json = (try? JSONSerialization.jsonObject(with: Data(contentsOf: description))) as? [String: Any]
    target = json?["target"] as? String ?? ""
  }

  public func apply(_ vectors: [[Float]]) -> [[Float]] {
    guard !vectors.isEmpty else { return [] }
    let width = layers[0].weight.shape[1]
    var x = Tensor(zeros: [vectors.count, width])
    for (row, vector) in vectors.enumerated() {
      let normalised = l2Normalized(vector)
      normalised.withUnsafeBufferPointer { (x.data + row * width).update(from: $0.baseAddress!, count: width) }
    }
    for (index, layer) in layers.enumerated() {
      if index > 0 { Activation.gelu.apply(x) }
      x = linear(x, weight: layer.weight, bias: layer.bias)
    }
    return (0..<vectors.count).map { Array(x.row($0)) }
  }
}
