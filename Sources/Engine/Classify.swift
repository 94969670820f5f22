import Encoders
import Foundation
import Tensor

/// Zero-shot classification: one input against labels, scored as the space's model family does.
public struct ClassifyOutcome: Sendable {
  public struct Score: Sendable, Equatable {
    public var label: String
    public var probability: Float
    /// Cosine between the input's vector and the label's (its text through the template).
    public var cosine: Float
  }

  public var space: SpaceDescription
  public var modality: Modality
  /// In the order the labels were given.
  public var scores: [Score]
  public var head: ZeroShotHead
  /// Why the head is what it is, for people reading the response.
  public var note: String
}

extension Engine {
  /// Most labels one call may score.
  public static let maxClassifyLabels = 1000

  /// Scores `labels` (each put into `template` at "{}", when one is given) for one input. Label vectors come
  /// through the text pipeline, so the vector cache keeps them for the next call. Bad labels, a template without
  /// "{}" or an input the space cannot embed throw `EngineError` (INVALID_ARGUMENT and friends).
  public func classify(space requested: String, input: EmbedInput, labels: [String], template: String?, call: CallContext = CallContext()) async throws
    -> ClassifyOutcome
  {
    let space = try resolveSpace(requested)
    let name = space.description.name
    guard !labels.isEmpty else { throw EngineError.invalidOption("classify needs at least one label") }
    guard labels.count <= Self.maxClassifyLabels else {
      throw EngineError.invalidOption("\(labels.count) labels: at most \(Self.maxClassifyLabels) per call (split them over several calls, or search a collection instead)")
    }
    if let empty = labels.firstIndex(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) {
      throw EngineError.invalidOption("label \(empty) is empty: every label needs some text")
    }
    var seen: [String: Int] = [:]
    for (index, label) in labels.enumerated() {
      if let first = seen.updateValue(index, forKey: label) {
        throw EngineError.invalidOption("label \(index) ('\(label)') repeats label \(first): give each label once")
      }
    }
    if let template, !template.contains("{}") {
      throw EngineError.invalidOption("the template '\(template)' has no '{}' where the label goes (e.g. 'a photo of a {}')")
    }
    guard space.text != nil else {
      throw EngineError.invalidOption("space '\(name)' has no text encoder, so it cannot embed labels (it serves: \(space.description.modalities.map(\.rawValue).joined(separator: ", ")))")
    }
    let texts = labels.map { label in template.map { $0.replacingOccurrences(of: "{}", with: label) } ?? label }
    // The input and the labels in one engine call: they batch with other requests and share the cache.
    let (_, results) = try await embed(space: name, inputs: [input] + texts.map(EmbedInput.text), options: EmbedOptions(), call: call)
    let query = try results[0].get(orThrow: EngineError.inputRejected)
    var labelVectors: [[Float]] = []
    for (index, result) in results.dropFirst().enumerated() {
      switch result {
      case .success(let output): labelVectors.append(output.vector)
      case .failure(let error): throw EngineError.invalidOption("label \(index) ('\(labels[index])'): \(error.message)")
      }
    }
    let learned = space.zeroShot[query.modality]
    let head = learned ?? .fixed
    let note: String
    if learned == nil {
      note = "probabilities use a fixed temperature (softmax over cosine × \(String(format: "%.4g", head.scale))): this space's \(query.modality.rawValue) and text encoders did not learn one together"
    } else {
      let formula = head.rule == .sigmoid ? "sigmoid(logit_scale · cosine + logit_bias)" : "softmax over logit_scale · cosine"
      note = "probabilities as the model family computes them: \(formula), with the checkpoint's logit_scale"
    }
    let probabilities = head.probabilities(input: query.vector, labels: labelVectors)
    let scores = zip(labels, zip(probabilities, labelVectors)).map { label, scored in
      ClassifyOutcome.Score(label: label, probability: scored.0, cosine: cosineSimilarity(query.vector, scored.1))
    }
    return ClassifyOutcome(space: space.description, modality: query.modality, scores: scores, head: head, note: note)
  }
}

extension Result {
  /// The success value, or `transform(failure)` thrown.
  func get<E: Error>(orThrow transform: (Failure) -> E) throws(E) -> Success {
    switch self {
    case .success(let value): return value
    case .failure(let error): throw transform(error)
    }
  }
}
