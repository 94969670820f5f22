import Foundation

/// A tokenizer.json `normalizer`: how raw text is cleaned before it is split.
public indirect enum Normalizer: Sendable {
  case bert(BertNormalizer)
  case unicode(UnicodeForm)
  case lowercase
  /// Python's `str.lower()`: as `lowercase`, but a capital sigma ending a word becomes final sigma (ς). Only the
  /// converters of slow, Python-run tokenizers ask for it ("chorus_final_sigma" is not a tokenizer.json key).
  case lowercaseFinalSigma
  case strip(left: Bool, right: Bool)
  /// Drops combining marks (after an NFD, this removes accents).
  case stripAccents
  case replace(TextPattern, with: [Unicode.Scalar])
  case prepend([Unicode.Scalar])
  /// SentencePiece's compiled normalization rules.
  case precompiled(PrecompiledCharsMap)
  case sequence([Normalizer])

  public func apply(_ text: NormalizedText) -> NormalizedText {
    switch self {
    case .bert(let bert): return bert.normalize(text)
    case .unicode(let form): return form.apply(text)
    case .lowercase: return text.mapScalars(Lowercase.map)
    case .lowercaseFinalSigma:
      var index = -1
      return text.mapScalars { scalar in
        index += 1
        return scalar == "\u{03A3}" && Lowercase.endsWord(text.scalars, at: index) ? .replace(["\u{03C2}"]) : Lowercase.map(scalar)
      }
    case .strip(let left, let right):
      var lower = 0, upper = text.count
      if left { while lower < upper && text.scalars[lower].isWhitespace { lower += 1 } }
      if right { while upper > lower && text.scalars[upper - 1].isWhitespace { upper -= 1 } }
      return lower == 0 && upper == text.count ? text : text.slice(lower..<upper)
    case .stripAccents:
      return text.mapScalars { scalar in
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return .drop
        default: return .keep
        }
      }
    case .replace(let pattern, let content):
      let runs = pattern.runs(in: text.scalars)
      return text.rewriteRuns(runs.map(\.range)) { index, _ in runs[index].isMatch ? content : nil }
    case .prepend(let prefix):
      return text.prepending(prefix)
    case .precompiled(let map):
      return map.apply(text)
    case .sequence(let normalizers):
      return normalizers.reduce(text) { $1.apply($0) }
    }
  }
}

enum Lowercase {
  /// Each scalar lower-cased on its own, as Rust's `char::to_lowercase` does (İ → i̇, no final sigma).
  static func map(_ scalar: Unicode.Scalar) -> MappedScalars {
    if scalar.isASCII { return scalar.value >= 65 && scalar.value <= 90 ? .replace([Unicode.Scalar(scalar.value + 32)!]) : .keep }
    guard scalar.properties.changesWhenLowercased else { return .keep }
    return .replace(Array(scalar.properties.lowercaseMapping.unicodeScalars))
  }
}

extension Lowercase {
  /// Unicode's Final_Sigma condition, as Python applies it: a cased letter before (case-ignorable scalars
  /// skipped) and none after.
  static func endsWord(_ scalars: [Unicode.Scalar], at index: Int) -> Bool {
    var before = index - 1
    while before >= 0 && scalars[before].properties.isCaseIgnorable { before -= 1 }
    guard before >= 0, scalars[before].properties.isCased else { return false }
    var after = index + 1
    while after < scalars.count && scalars[after].properties.isCaseIgnorable { after += 1 }
    return after == scalars.count || !scalars[after].properties.isCased
  }
}

/// The four Unicode normalization forms.
public enum UnicodeForm: String, Sendable {
  case nfc = "NFC", nfd = "NFD", nfkc = "NFKC", nfkd = "NFKD"

  func normalize(_ text: String) -> String {
    switch self {
    case .nfc: return text.precomposedStringWithCanonicalMapping
    case .nfd: return text.decomposedStringWithCanonicalMapping
    case .nfkc: return text.precomposedStringWithCompatibilityMapping
    case .nfkd: return text.decomposedStringWithCompatibilityMapping
    }
  }

  /// Normalizes run by run (a run: a starter and the marks after it), so each output scalar knows its origin.
  /// When cutting into runs would change the result (a composition across runs), the whole text is one run.
  public func apply(_ text: NormalizedText) -> NormalizedText {
    if text.scalars.allSatisfy(\.isASCII) { return text }  // every form leaves ASCII as it is
    let whole = Array(normalize(text.string).unicodeScalars)
    if whole == text.scalars { return text }
    var runs: [Range<Int>] = []
    var start = 0
    for i in 1..<max(text.count, 1) where Self.startsRun(text.scalars[i]) {
      runs.append(start..<i)
      start = i
    }
    runs.append(start..<text.count)
    var pieces: [[Unicode.Scalar]] = []
    for run in runs { pieces.append(Array(normalize(String(String.UnicodeScalarView(text.scalars[run]))).unicodeScalars)) }
    if Array(pieces.joined()) != whole { runs = [0..<text.count] }
    return text.rewriteRuns(runs) { index, _ in runs.count == 1 ? whole : pieces[index] }
  }

  /// A scalar that begins a new normalization run: a starter that does not compose with what precedes it.
  static func startsRun(_ scalar: Unicode.Scalar) -> Bool {
    if scalar.isASCII { return true }
    if scalar.properties.canonicalCombiningClass != .notReordered { return false }
    switch scalar.value {
    case 0x1161...0x1175, 0x11A8...0x11C2: return false  // Hangul vowels and trailing consonants join a syllable
    default: return true
    }
  }
}

/// A literal string or a regular expression, as tokenizer.json's `pattern` objects give them.
public enum TextPattern: Sendable {
  case literal([Unicode.Scalar])
  case regex(TokenizerRegex)

  /// The matches, left to right, not overlapping.
  public func matches(in scalars: [Unicode.Scalar]) -> [Range<Int>] {
    switch self {
    case .regex(let regex): return regex.matches(in: scalars)
    case .literal(let needle):
      guard !needle.isEmpty, scalars.count >= needle.count else { return [] }
      var found: [Range<Int>] = []
      var i = 0
      while i + needle.count <= scalars.count {
        if scalars[i] == needle[0] && Array(scalars[i..<i + needle.count]) == needle {
          found.append(i..<i + needle.count)
          i += needle.count
        } else {
          i += 1
        }
      }
      return found
    }
  }

  /// The text cut into consecutive runs: the matches and the stretches between them.
  func runs(in scalars: [Unicode.Scalar]) -> [(range: Range<Int>, isMatch: Bool)] {
    var runs: [(range: Range<Int>, isMatch: Bool)] = []
    var position = 0
    for match in matches(in: scalars) {
      if position < match.lowerBound { runs.append((position..<match.lowerBound, false)) }
      runs.append((match, true))
      position = match.upperBound
    }
    if position < scalars.count { runs.append((position..<scalars.count, false)) }
    return runs
  }
}
