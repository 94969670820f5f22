import Foundation

/// ConSE (Norouzi et al., ICLR 2014, "Zero-Shot Learning by Convex Combination of Semantic Embeddings"): a
/// classifier's image lands in a text space as the probability-weighted mean of its top-T classes' text
/// embeddings. The class prompts are embedded by the space's own text encoder (the engine does that), so the
/// head holds only the labels, each class's prompts, T and the softmax temperature.
public struct LabelHead: Sendable {
  /// One name per class, in the classifier's order.
  public let labels: [String]
  /// Each class's prompts, in the classifier's order; a class's embedding is the unit-length mean of its prompts'.
  public let classPrompts: [[String]]
  /// How many of the most probable classes are mixed.
  public let topT: Int
  /// The softmax temperature over the logits (1: the classifier's own probabilities; above 1 flatter).
  public let temperature: Double

  public init(labels: [String], classPrompts: [[String]], topT: Int, temperature: Double = 1) {
    self.labels = labels
    self.classPrompts = classPrompts
    self.topT = topT
    self.temperature = temperature
  }

  /// Reads config.json's "conse" section, its labels file and, when named, its class prompts file
  /// (`class_prompts`: JSON `{"prompts": [[String]]}`, one list per class); without one, every class gets
  /// `templates` with "{}" standing for its label. nil when the model has no "conse" section.
  init?(config: ModelConfig, directory: URL, classes: Int) throws {
    guard config.values["conse"] != nil else { return nil }
    let section = try config.section("conse")
    let file = directory.appendingPathComponent(try section.string("labels", default: "labels.txt"))
    guard let text = try? String(contentsOf: file, encoding: .utf8) else { throw CheckpointError("\(file.path): missing or unreadable") }
    labels = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
    guard labels.count == classes else { throw CheckpointError("\(file.path): \(labels.count) labels for \(classes) classes") }
    if let name = section.values["class_prompts"] as? String {
      let promptsFile = directory.appendingPathComponent(name)
      let json = (try? Data(contentsOf: promptsFile)).flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any]
      guard let prompts = json?["prompts"] as? [[String]] else {
        throw CheckpointError("\(promptsFile.path): missing, unreadable or without a \"prompts\" list of string lists")
      }
      guard prompts.count == classes, prompts.allSatisfy({ !$0.isEmpty }) else {
        throw CheckpointError("\(promptsFile.path): \(prompts.count) prompt lists for \(classes) classes, each needs at least one prompt")
      }
      classPrompts = prompts
    } else {
      guard let templates = section.values["templates"] as? [String], !templates.isEmpty, templates.allSatisfy({ $0.contains("{}") }) else {
        throw CheckpointError("\(config.url.path): 'conse.templates' must be a non-empty list of strings with {} (or name a 'conse.class_prompts' file)")
      }
      classPrompts = labels.map { label in templates.map { $0.replacingOccurrences(of: "{}", with: label) } }
    }
    topT = try section.int("top_t", default: 10)
    guard (1...classes).contains(topT) else { throw CheckpointError("\(config.url.path): 'conse.top_t' must be from 1 to \(classes)") }
    temperature = Double(try section.float("temperature", default: 1))
    guard temperature > 0, temperature.isFinite else { throw CheckpointError("\(config.url.path): 'conse.temperature' must be a positive number") }
  }

  /// Every prompt, class by class (classPrompts flattened).
  public var prompts: [String] { classPrompts.flatMap { $0 } }

  /// Σ pᵢ·eᵢ over the top-T classes, pᵢ the softmax probabilities of logits / temperature renormalised over the
  /// T, eᵢ the class embeddings (rows of `classEmbeddings`).
  public func mix(logits: [Float], classEmbeddings: [[Float]]) -> [Float] {
    let top = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(topT)
    let largest = logits[top.first!]
    let weights = top.map { exp(Double(logits[$0] - largest) / temperature) }
    let total = weights.reduce(0, +)
    var vector = [Double](repeating: 0, count: classEmbeddings[0].count)
    for (index, weight) in zip(top, weights) {
      for (d, value) in classEmbeddings[index].enumerated() { vector[d] += weight / total * Double(value) }
    }
    return vector.map(Float.init)
  }
}
