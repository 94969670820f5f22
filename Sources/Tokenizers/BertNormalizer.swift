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

  public func normalize(_ text: String) -> String {
    normalizeASCII(text) ?? normalizeUnicode(text)
  }

  func normalizeUnicode(_ text: String) -> String {
    var scalars: [Unicode.Scalar] = []
    scalars.reserveCapacity(text.unicodeScalars.count)
    for scalar in text.unicodeScalars {
      if cleanText {
        if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
        if Self.isWhitespace(scalar) {
          scalars.append(" ")
          continue
        }
      }
      if handleChineseChars && Self.isChineseChar(scalar) {
        scalars.append(contentsOf: [" ", scalar, " "])
      } else {
        scalars.append(scalar)
      }
    }
    var result = String(String.UnicodeScalarView(scalars))
    if stripAccents {
      let decomposed = result.decomposedStringWithCanonicalMapping.unicodeScalars
      result = String(String.UnicodeScalarView(decomposed.filter { $0.properties.generalCategory != .nonspacingMark }))
    }
    if lowercase {
      var lowered = String.UnicodeScalarView()
      for scalar in result.unicodeScalars { lowered.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars) }
      result = String(lowered)
    }
    return result
  }

  /// The same rules for all-ASCII text without Unicode property lookups (most text; property lookups were a
  /// visible share of a request's time): controls dropped, \t \n \r to spaces, A–Z lowered; ASCII has no CJK,
  /// accents or decompositions. nil when the text is not all ASCII.
  func normalizeASCII(_ text: String) -> String? {
    var text = text
    return text.withUTF8 { bytes -> String? in
      guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
      var out = [UInt8]()
      out.reserveCapacity(bytes.count)
      for byte in bytes {
        if cleanText {
          if byte == 9 || byte == 10 || byte == 13 {
            out.append(32)
            continue
          }
          if byte < 32 || byte == 127 { continue }  // general category Cc (0 included)
        }
        out.append(lowercase && (65...90).contains(byte) ? byte + 32 : byte)
      }
      return String(decoding: out, as: UTF8.self)
    }
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
