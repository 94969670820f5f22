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

/// Rows of an embedding table for token id sequences, packed one sequence after another: the first step of every
/// backbone whose positions are not added at the input (rotary models).
func packedEmbeddings(_ table: Tensor, _ sequences: [[Int32]]) -> (hidden: Tensor, layout: TokenLayout) {
  let width = table.shape[1]
  let layout = TokenLayout(packed: sequences.map(\.count))
  let hidden = Tensor(zeros: [layout.rows, width])
  for (b, ids) in sequences.enumerated() {
    for (position, id) in ids.enumerated() {
      (hidden.data + (layout.starts[b] + position) * width).update(from: table.data + Int(id) * width, count: width)
    }
  }
  return (hidden, layout)
}
