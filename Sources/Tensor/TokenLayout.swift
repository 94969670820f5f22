/// Where each item's tokens sit in a [rows, width] activation matrix. Text is packed (item after item, no padding
/// rows: a batch of mixed lengths costs its tokens and no more in every GEMM); fixed-length inputs (image patches,
/// audio frames) are `padded` with every item the same length.
public struct TokenLayout: Sendable, Equatable {
  public let starts: [Int]
  public let lengths: [Int]
  public let rows: Int

  /// Items one after another.
  public init(packed lengths: [Int]) {
    var starts: [Int] = []
    var row = 0
    for length in lengths {
      starts.append(row)
      row += length
    }
    self.starts = starts
    self.lengths = lengths
    rows = row
  }

  /// Item b at rows b·sequence ..< b·sequence + lengths[b]; rows past an item's length are padding.
  public init(batch: Int, sequence: Int, lengths: [Int]) {
    starts = (0..<batch).map { $0 * sequence }
    self.lengths = lengths
    rows = batch * sequence
  }

  public var count: Int { lengths.count }
  public var longest: Int { lengths.max() ?? 0 }

  /// Each row's position within its item (0 for padding rows): what rotary embeddings rotate by.
  public var positions: [Int32] {
    var positions = [Int32](repeating: 0, count: rows)
    for (start, length) in zip(starts, lengths) {
      for t in 0..<length { positions[start + t] = Int32(t) }
    }
    return positions
  }
}
