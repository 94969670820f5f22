/// A token of tokenizer.json's `added_tokens`.
public struct AddedToken: Sendable {
  public var content: [Unicode.Scalar]
  public var id: Int32
  /// Special tokens (model control tokens: [CLS], <s>, <|endoftext|>) are never read out of a caller's text:
  /// the string "[SEP]" in a document is text, not a separator (the reference's `encode_special_tokens`).
  public var special: Bool
  /// Matched in the normalized text rather than the raw one.
  public var normalized: Bool
  public var singleWord: Bool
  public var leftStrip: Bool
  public var rightStrip: Bool
}

/// The added tokens a caller's text may contain, found leftmost-longest before the model sees the rest.
struct AddedTokenMatcher: Sendable {
  /// By first scalar, longest first.
  private let byFirst: [Unicode.Scalar: [AddedToken]]

  init(_ tokens: [AddedToken]) {
    var byFirst: [Unicode.Scalar: [AddedToken]] = [:]
    for token in tokens where !token.content.isEmpty { byFirst[token.content[0], default: []].append(token) }
    self.byFirst = byFirst.mapValues { $0.sorted { $0.content.count > $1.content.count } }
  }

  var isEmpty: Bool { byFirst.isEmpty }

  enum Segment {
    case text(NormalizedText)
    case token(Int32, Range<Int>)
  }

  func split(_ text: NormalizedText) -> [Segment] {
    guard !byFirst.isEmpty else { return [.text(text)] }
    let scalars = text.scalars
    var segments: [Segment] = []
    var segmentStart = 0
    var index = 0
    while index < scalars.count {
      guard let candidates = byFirst[scalars[index]],
        let token = candidates.first(where: { matches($0, at: index, in: scalars) })
      else {
        index += 1
        continue
      }
      var start = index, end = index + token.content.count
      if token.leftStrip { while start > segmentStart && scalars[start - 1].isWhitespace { start -= 1 } }
      if token.rightStrip { while end < scalars.count && scalars[end].isWhitespace { end += 1 } }
      if segmentStart < start { segments.append(.text(text.slice(segmentStart..<start))) }
      let origin = text.span(index..<index + token.content.count)
      segments.append(.token(token.id, origin.start..<origin.end))
      index = end
      segmentStart = end
    }
    if segmentStart < scalars.count { segments.append(.text(text.slice(segmentStart..<scalars.count))) }
    return segments
  }

  private func matches(_ token: AddedToken, at index: Int, in scalars: [Unicode.Scalar]) -> Bool {
    let end = index + token.content.count
    guard end <= scalars.count, scalars[index..<end].elementsEqual(token.content) else { return false }
    guard token.singleWord else { return true }
    func isWord(_ scalar: Unicode.Scalar) -> Bool { scalar.properties.isAlphabetic || scalar.properties.numericType != nil || scalar == "_" }
    return (index == 0 || !isWord(scalars[index - 1])) && (end == scalars.count || !isWord(scalars[end]))
  }
}
