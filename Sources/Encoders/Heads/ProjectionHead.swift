import Foundation
import Tensor

/// A trained linear map from an encoder's space into another space (the starter's audio into its text space):
/// `projection.safetensors` (weight [out, in], bias [out]) and `projection.json` (what it maps into, how it was
/// trained) in the model directory. It takes the encoder's L2-normalised vector.
public struct ProjectionHead: @unchecked Sendable {
  public let weight: Tensor
  public let bias: Tensor
  /// The space it maps into, as projection.json names it (a model directory name).
  public let target: String
  public var outputDimension: Int { weight.shape[0] }

  /// nil when the directory has no projection.safetensors.
  public init?(directory: URL, inputDimension: Int) throws {
    let file = directory.appendingPathComponent("projection.safetensors")
    guard FileManager.default.fileExists(atPath: file.path) else { return nil }
    let checkpoint = try SafeTensorsFile(path: file.path)
    let out = checkpoint.entries["weight"]?.shape.first ?? 0
    let w = Weights(file: checkpoint)
    weight = try w("weight", [out, inputDimension])
    bias = try w("bias", [out])
    let description = directory.appendingPathComponent("projection.json")
    let json = (try? JSONSerialization.jsonObject(with: Data(contentsOf: description))) as? [String: Any]
    target = json?["target"] as? String ?? ""
  }

  public func apply(_ vectors: [[Float]]) -> [[Float]] {
    guard !vectors.isEmpty else { return [] }
    let input = Tensor(zeros: [vectors.count, weight.shape[1]])
    for (row, vector) in vectors.enumerated() {
      let normalised = l2Normalized(vector)
      normalised.withUnsafeBufferPointer { (input.data + row * weight.shape[1]).update(from: $0.baseAddress!, count: weight.shape[1]) }
    }
    let output = linear(input, weight: weight, bias: bias)
    return (0..<vectors.count).map { Array(output.row($0)) }
  }
}
