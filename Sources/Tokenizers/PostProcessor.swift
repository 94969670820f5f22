/// A tokenizer.json `post_processor`: the special tokens around a single text, and offset trimming for
/// byte-level tokens.
public indirect enum PostProcessor: Sendable {
  public enum TemplatePiece: Sendable, Equatable {
    case special([Int32])
    case sequence
  }

  case template([TemplatePiece])
  case bert(cls: Int32, sep: Int32)
  case roberta(cls: Int32, sep: Int32, trimOffsets: Bool, addPrefixSpace: Bool)
  case byteLevel(trimOffsets: Bool, addPrefixSpace: Bool)
  case sequence([PostProcessor])

  /// How many tokens it adds to one text (truncation leaves room for them).
  public var addedTokens: Int {
    switch self {
    case .template(let pieces): return pieces.reduce(0) { total, piece in if case .special(let ids) = piece { return total + ids.count } else { return total } }
    case .bert, .roberta: return 2
    case .byteLevel: return 0
    case .sequence(let steps): return steps.reduce(0) { $0 + $1.addedTokens }
    }
  }

  func apply(_ encoding: inout Encoding, tokenText: (Int32) -> String?) {
    switch self {
    case .template(let pieces):
      var ids: [Int32] = [], offsets: [Range<Int>] = [], special: [Bool] = []
      for piece in pieces {
        switch piece {
        case .special(let tokens):
          ids += tokens
          offsets += Array(repeating: 0..<0, count: tokens.count)
          special += Array(repeating: true, count: tokens.count)
        case .sequence:
          ids += encoding.ids
          offsets += encoding.offsets
          special += encoding.special
        }
      }
      (encoding.ids, encoding.offsets, encoding.special) = (ids, offsets, special)
    case .bert(let cls, let sep):
      PostProcessor.template([.special([cls]), .sequence, .special([sep])]).apply(&encoding, tokenText: tokenText)
    case .roberta(let cls, let sep, let trimOffsets, let addPrefixSpace):
      if trimOffsets { Self.trimSpaces(&encoding, addPrefixSpace: addPrefixSpace, tokenText: tokenText) }
      PostProcessor.template([.special([cls]), .sequence, .special([sep])]).apply(&encoding, tokenText: tokenText)
    case .byteLevel(let trimOffsets, let addPrefixSpace):
      if trimOffsets { Self.trimSpaces(&encoding, addPrefixSpace: addPrefixSpace, tokenText: tokenText) }
    case .sequence(let steps):
      for step in steps { step.apply(&encoding, tokenText: tokenText) }
    }
  }

  /// Byte-level tokens carry their leading space (Ġ); their offsets should not. A first token's single
  /// leading space that `add_prefix_space` put there stays, as the reference keeps it.
  static func trimSpaces(_ encoding: inout Encoding, addPrefixSpace: Bool, tokenText: (Int32) -> String?) {
    let space = ByteLevelSymbols.table[32]
    func isSpace(_ scalar: Unicode.Scalar) -> Bool { scalar == space || scalar.isWhitespace }
    for index in encoding.ids.indices where !encoding.special[index] {
      guard let text = tokenText(encoding.ids[index]) else { continue }
      let scalars = Array(text.unicodeScalars)
      var leading = scalars.prefix(while: isSpace).count
      let trailing = scalars.reversed().prefix(while: isSpace).count
      var range = encoding.offsets[index]
      if leading > 0 {
        if (index == 0 || range.lowerBound == 0) && addPrefixSpace && leading == 1 { leading = 0 }
        range = min(range.lowerBound + leading, range.upperBound)..<range.upperBound
      }
      if trailing > 0 && range.upperBound >= trailing {
        range = range.lowerBound..<max(range.upperBound - trailing, range.lowerBound)
      }
      encoding.offsets[index] = range
    }
  }
}
