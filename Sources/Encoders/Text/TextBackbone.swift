import Tensor

/// A text transformer without its head: token ids in, the last hidden state of every token out. Pooling,
/// Dense and Normalize (the sentence-transformers modules) are applied by `SentenceTransformer`.
public protocol TextBackbone {
  var hiddenSize: Int { get }
  /// Most tokens one sequence may have (position table rows usable).
  var maxPositions: Int { get }
  var vocabularySize: Int { get }
  /// Last hidden states, [total tokens, hidden], the items packed one after another as `layout` says.
  func forward(_ sequences: [[Int32]]) -> (hidden: Tensor, layout: TokenLayout)
}
