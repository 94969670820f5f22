import Encoders
import Synchronization
import Tensor

/// A classifier's ConSE head bound to a space's text encoder: class scores → a vector of the text space. The
/// class embeddings are the text encoder's own vectors of the class prompts, computed on first use through the
/// text pipeline, so they go through (and are kept in) the shared vector cache and always match the text encoder.
final class LabelSpace: Sendable {
  let head: LabelHead
  private let text: TextPipeline
  private let classEmbeddings = SingleFlight<[[Float]]>()
  private let ready = Mutex<[[Float]]?>(nil)

  init(head: LabelHead, text: TextPipeline) {
    self.head = head
    self.text = text
  }

  func vector(logits: [Float]) async throws -> [Float] {
    head.mix(logits: logits, classEmbeddings: try await embeddings())
  }

  /// The class embeddings, computed once (the daemon does it while warming up, before it reports ready).
  func embeddings() async throws -> [[Float]] {
    if let known = ready.withLock({ $0 }) { return known }
    return try await classEmbeddings.run(["classes"]) { _ in ["classes": try await self.computeEmbeddings()] }["classes"]!
  }

  private func computeEmbeddings() async throws -> [[Float]] {
    // Internal work: never refused by the text queue's limit.
    let vectors = try await text.embed(head.prompts, options: EmbedOptions(), exempt: true).map { (try? $0.get().vector) ?? [] }
    // A class's embedding: the unit-length mean of its prompts' unit vectors.
    var start = 0
    let classes = head.classPrompts.map { prompts -> [Float] in
      var sum = [Float](repeating: 0, count: vectors[start].count)
      for vector in vectors[start..<(start + prompts.count)] { for (d, value) in vector.enumerated() { sum[d] += value } }
      start += prompts.count
      return l2Normalized(sum)
    }
    ready.withLock { $0 = classes }
    return classes
  }
}
