/// What a split does with the stretches its pattern matches (tokenizer.json's `behavior`).
public enum SplitBehavior: String, Sendable {
  case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious", mergedWithNext = "MergedWithNext", contiguous = "Contiguous"

  /// The pieces a text is cut into, given its consecutive runs and which of them matched.
  func pieces(_ runs: [(range: Range<Int>, isMatch: Bool)]) -> [Range<Int>] {
    var out: [Range<Int>] = []
    var previousMatch = false
    switch self {
    case .removed:
      return runs.filter { !$0.isMatch }.map(\.range)
    case .isolated:
      return runs.map(\.range)
    case .mergedWithPrevious:
      for run in runs {
        if run.isMatch && !previousMatch, let last = out.last {
          out[out.count - 1] = last.lowerBound..<run.range.upperBound
        } else {
          out.append(run.range)
        }
        previousMatch = run.isMatch
      }
    case .mergedWithNext:
      for run in runs.reversed() {
        if run.isMatch && !previousMatch, let last = out.last {
          out[out.count - 1] = run.range.lowerBound..<last.upperBound
        } else {
          out.append(run.range)
        }
        previousMatch = run.isMatch
      }
      out.reverse()
    case .contiguous:
      for (index, run) in runs.enumerated() {
        if index > 0 && run.isMatch == previousMatch, let last = out.last {
          out[out.count - 1] = last.lowerBound..<run.range.upperBound
        } else {
          out.append(run.range)
        }
        previousMatch = run.isMatch
      }
    }
    return out
  }
}

/// When Metaspace puts its replacement character in front of a piece.
public enum PrependScheme: String, Sendable {
  case always, first, never
}

/// A tokenizer.json `pre_tokenizer`: how normalized text is cut into words before the model sees them.
public indirect enum PreTokenizer: Sendable {
  /// Whitespace separates, each punctuation scalar is a word (BERT).
  case bert
  /// Optional leading space, GPT-2's split pattern, then every UTF-8 byte as a printable symbol.
  case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
  /// Spaces become `replacement` (▁), which then starts each word (SentencePiece).
  case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme, split: Bool)
  case split(TextPattern, SplitBehavior, invert: Bool)
  /// `\w+|[^\w\s]+`.
  case whitespace
  case whitespaceSplit
  case digits(individual: Bool)
  case punctuation(SplitBehavior)
  case sequence([PreTokenizer])

  public func apply(_ pieces: [NormalizedText]) -> [NormalizedText] {
    switch self {
    case .sequence(let steps):
      return steps.reduce(pieces) { $1.apply($0) }
    default:
      return pieces.flatMap(apply)
    }
  }

  func apply(_ piece: NormalizedText) -> [NormalizedText] {
    switch self {
    case .sequence(let steps):
      return steps.reduce([piece]) { $1.apply($0) }
    case .bert:
      let words = cut(piece, behavior: .removed) { $0.isWhitespace }
      return words.flatMap { cut($0, behavior: .isolated, where: Self.isBertPunctuation) }
    case .byteLevel(let addPrefixSpace, let useRegex):
      var text = piece
      if addPrefixSpace && text.scalars.first != " " { text = text.prepending([" "]) }
      let words = useRegex ? cut(text, runs: Self.gpt2Pattern.runs(in: text.scalars), behavior: .isolated) : [text]
      return words.map(ByteLevelSymbols.encode)
    case .metaspace(let replacement, let scheme, let split):
      var text = piece.mapScalars { $0 == " " ? .replace([replacement]) : .keep }
      let prepend: Bool
      switch scheme {
      case .always: prepend = true
      case .first: prepend = text.starts.first == 0
      case .never: prepend = false
      }
      if prepend && text.scalars.first != replacement { text = text.prepending([replacement]) }
      return split ? cut(text, behavior: .mergedWithNext) { $0 == replacement } : [text]
    case .split(let pattern, let behavior, let invert):
      let runs = pattern.runs(in: piece.scalars).map { (range: $0.range, isMatch: $0.isMatch != invert) }
      return cut(piece, runs: runs, behavior: behavior)
    case .whitespace:
      return cut(piece, runs: Self.wordPattern.runs(in: piece.scalars).map { ($0.range, !$0.isMatch) }, behavior: .removed)
    case .whitespaceSplit:
      return cut(piece, behavior: .removed) { $0.isWhitespace }
    case .digits(let individual):
      return cut(piece, behavior: individual ? .isolated : .contiguous, where: Self.isNumeric)
    case .punctuation(let behavior):
      return cut(piece, behavior: behavior, where: Self.isBertPunctuation)
    }
  }

  /// Pieces by a per-scalar predicate: each matching scalar is a match of its own.
  private func cut(_ piece: NormalizedText, behavior: SplitBehavior, where matches: (Unicode.Scalar) -> Bool) -> [NormalizedText] {
    var runs: [(range: Range<Int>, isMatch: Bool)] = []
    var start = 0
    for (index, scalar) in piece.scalars.enumerated() where matches(scalar) {
      if start < index { runs.append((start..<index, false)) }
      runs.append((index..<index + 1, true))
      start = index + 1
    }
    if start < piece.count { runs.append((start..<piece.count, false)) }
    return cut(piece, runs: runs, behavior: behavior)
  }

  private func cut(_ piece: NormalizedText, runs: [(range: Range<Int>, isMatch: Bool)], behavior: SplitBehavior) -> [NormalizedText] {
    if runs.count == 1 && !runs[0].isMatch { return [piece] }
    return behavior.pieces(runs).filter { !$0.isEmpty }.map(piece.slice)
  }

  /// GPT-2's pattern, which ByteLevel splits by (`use_regex`).
  static let gpt2Pattern = TextPattern.regex(try! TokenizerRegex(#"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#))
  static let wordPattern = TextPattern.regex(try! TokenizerRegex(#"\w+|[^\w\s]+"#))

  /// ASCII punctuation or a Unicode punctuation category (BERT's notion: `$`, `+`, `^` count).
  static func isBertPunctuation(_ scalar: Unicode.Scalar) -> Bool {
    if scalar.isASCII {
      let v = scalar.value
      return (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v)
    }
    switch scalar.properties.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
      .finalPunctuation, .otherPunctuation:
      return true
    default:
      return false
    }
  }

  static func isNumeric(_ scalar: Unicode.Scalar) -> Bool {
    if scalar.isASCII { return scalar.value >= 48 && scalar.value <= 57 }
    switch scalar.properties.generalCategory {
    case .decimalNumber, .letterNumber, .otherNumber: return true
    default: return false
    }
  }
}

/// GPT-2's byte → printable code point table: every UTF-8 byte of a word becomes one visible symbol, so BPE
/// works on bytes without ever seeing a control character or a space.
public enum ByteLevelSymbols {
  public static let table: [Unicode.Scalar] = {
    let printable = Array(33...126) + Array(161...172) + Array(174...255)
    var table = [Unicode.Scalar?](repeating: nil, count: 256)
    for byte in printable { table[byte] = Unicode.Scalar(UInt32(byte))! }
    var next: UInt32 = 256
    for byte in 0..<256 where table[byte] == nil {
      table[byte] = Unicode.Scalar(next)!
      next += 1
    }
    return table.map { $0! }
  }()

  /// Each scalar replaced by the symbols of its UTF-8 bytes, all standing for that scalar.
  static func encode(_ piece: NormalizedText) -> NormalizedText {
    piece.mapScalars { scalar in
      if scalar.isASCII { return .replace([table[Int(scalar.value)]]) }
      return .replace(String(scalar).utf8.map { table[Int($0)] })
    }
  }
}
