import Foundation

/// ConSE (Norouzi et al., ICLR 2014, "Zero-Shot Learning by Convex Combination of Semantic Embeddings"): a
/// classifier's image lands in a text space as the probability-weighted mean of its top-T classes' text
/// embeddings. The class prompts are embedded by the space's own text encoder (the engine does that), so the
/// head holds only the labels, the prompt templates and T.
public struct LabelHead: Sendable {
  /// One name per class, in the classifier's order.
  public let labels: [String]
  /// Prompts per class, "{}" standing for the label; a class's embedding is the mean of its prompts'.
  public let templates: [String]
  /// How many of the most probable classes are mixed.
  public let topT: Int

  public init(labels: [String], templates: [String], topT: Int) {
    self.labels = labels
    self.templates = templates
    self.topT = topT
  }

  /// Reads config.json's "conse" section and its labels file; nil when the model has none.
  init?(config: ModelConfig, directory: URL, classes: Int) throws {
    guard config.values["conse"] != nil else { return nil }
    let section = try config.section("conse")
    let file = directory.appendingPathComponent(try section.string("labels", default: "labels.txt"))
    guard let text = try? String(contentsOf: file, encoding: .utf8) else { throw CheckpointError("\(file.path): missing or unreadable") }
    labels = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
    guard labels.count == classes else { throw CheckpointError("\(file.path): \(labels.count) labels for \(classes) classes") }
    guard let templates = section.values["templates"] as? [String], !templates.isEmpty, templates.allSatisfy({ $0.contains("{}") }) else {
      throw CheckpointError("\(config.url.path): 'conse.templates' must be a non-empty list of strings with {}")
    }
    self.templates = templates
    topT = try section.int("top_t", default: 10)
    guard (1...classes).contains(topT) else { throw CheckpointError("\(config.url.path): 'conse.top_t' must be from 1 to \(classes)") }
  }

  /// Every prompt, class by class: templates.count prompts for label 0, then for label 1, …
  public var prompts: [String] {
    labels.flatMap { label in templates.map { $0.replacingOccurrences(of: "{}", with: label) } }
  }

  /// Σ pᵢ·eᵢ over the top-T classes, pᵢ their softmax probabilities renormalised over the T, eᵢ the class
  /// embeddings (rows of `classEmbeddings`, each the unit-length mean of its prompts).
  public func mix(logits: [Float], classEmbeddings: [[Float]]) -> [Float] {
    let top = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(topT)
    let largest = logits[top.first!]
    let weights = top.map { exp(Double(logits[$0] - largest)) }
    let total = weights.reduce(0, +)
    var vector = [Double](repeating: 0, count: classEmbeddings[0].count)
    for (index, weight) in zip(top, weights) {
      for (d, value) in classEmbeddings[index].enumerated() { vector[d] += weight / total * Double(value) }
    }
    return vector.map(Float.init)
  }
}
