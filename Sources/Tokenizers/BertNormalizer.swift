/// The text clean-up of BERT's tokenizer (`BertNormalizer` in tokenizer.json), scalar by scalar as the
/// reference does it: drop control characters, turn whitespace into spaces, pad CJK ideographs with spaces,
/// strip accents (NFD, then drop nonspacing marks) and lower-case each scalar on its own (no final-sigma rule).
public struct BertNormalizer: Sendable {
  public var cleanText = true
  public var handleChineseChars = true
  public var stripAccents = true
  public var lowercase = true

  public init(cleanText: Bool = true, handleChineseChars: Bool = true, stripAccents: Bool? = nil, lowercase: Bool = true) {
    self.cleanText = cleanText
    self.handleChineseChars = handleChineseChars
    self.stripAccents = stripAccents ?? lowercase
    self.lowercase = lowercase
  }

  public func normalize(_ text: NormalizedText) -> NormalizedText {
    normalizeASCII(text) ?? normalizeUnicode(text)
  }

  /// ASCII needs no property lookups (most text; the lookups were a visible share of a request's time):
  /// controls dropped, \t \n \r to spaces, A–Z lowered; ASCII has no CJK, accents or decompositions.
  /// nil when the text is not all ASCII.
  func normalizeASCII(_ text: NormalizedText) -> NormalizedText? {
    guard text.scalars.allSatisfy(\.isASCII) else { return nil }
    return text.mapScalars { scalar in
        let value = scalar.value
        if cleanText {
          if value == 9 || value == 10 || value == 13 { return .replace([" "]) }
          if value < 32 || value == 127 { return .drop }  // general category Cc (0 included)
        }
        return lowercase && value >= 65 && value <= 90 ? .replace([Unicode.Scalar(value + 32)!]) : .keep
    }
  }

  func normalizeUnicode(_ text: NormalizedText) -> NormalizedText {
    var result = text.mapScalars { scalar in
      if cleanText {
        if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { return .drop }
        if Self.isWhitespace(scalar) { return .replace([" "]) }
      }
      return handleChineseChars && Self.isChineseChar(scalar) ? .replace([" ", scalar, " "]) : .keep
    }
    if stripAccents {
      result = UnicodeForm.nfd.apply(result).mapScalars { $0.properties.generalCategory == .nonspacingMark ? .drop : .keep }
    }
    if lowercase { result = result.mapScalars(Lowercase.map) }
    return result
  }

  static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
    scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar.properties.isWhitespace
  }

  static func isControl(_ scalar: Unicode.Scalar) -> Bool {
    if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
    switch scalar.properties.generalCategory {
    case .control, .format, .unassigned, .privateUse, .surrogate: return true
    default: return false
    }
  }

  static func isChineseChar(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
      0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
      return true
    default:
      return false
    }
  }
}
