import Foundation

/// BERT's WordPiece tokenizer as a Hugging Face tokenizer.json describes it: added (special) tokens matched in
/// the raw text first, then `BertNormalizer`, `BertPreTokenizer` (split on whitespace, isolate punctuation),
/// greedy longest-match WordPiece, and the [CLS] … [SEP] template.
public struct WordPieceTokenizer: Sendable {
  public let vocabulary: [String: Int32]
  public let normalizer: BertNormalizer
  public let unknownID: Int32
  public let clsID: Int32
  public let sepID: Int32
  public let padID: Int32
  public let continuingPrefix: String
  public let maxInputCharsPerWord: Int
  /// Tokens matched verbatim in the input before normalisation (the tokenizer.json's added_tokens).
  let addedTokens: [(content: String, id: Int32)]

  public struct Encoding: Equatable, Sendable {
    public var ids: [Int32]
    /// True when the text had more tokens than the limit and was cut.
    public var truncated: Bool
  }

  public init(
    vocabulary: [String: Int32], normalizer: BertNormalizer, unknownToken: String = "[UNK]", clsToken: String = "[CLS]",
    sepToken: String = "[SEP]", padToken: String = "[PAD]", continuingPrefix: String = "##", maxInputCharsPerWord: Int = 100,
    addedTokens: [(String, Int32)] = []
  ) throws {
    func id(_ token: String) throws -> Int32 {
      guard let id = vocabulary[token] else { throw TokenizerError("the vocabulary has no \(token) token") }
      return id
    }
    self.vocabulary = vocabulary
    self.normalizer = normalizer
    unknownID = try id(unknownToken)
    clsID = try id(clsToken)
    sepID = try id(sepToken)
    padID = vocabulary[padToken] ?? 0
    self.continuingPrefix = continuingPrefix
    self.maxInputCharsPerWord = maxInputCharsPerWord
    // Longest first, so "[SEP]" wins over a shorter token that is its prefix.
    self.addedTokens = addedTokens.sorted { $0.0.count > $1.0.count }.map { (content: $0.0, id: $0.1) }
  }

  /// Token ids with [CLS] and [SEP], cut to at most `maxLength` ids in all.
  public func encode(_ text: String, maxLength: Int) -> Encoding {
    var ids: [Int32] = []
    for piece in splitOnAddedTokens(text) {
      switch piece {
      case .added(let id): ids.append(id)
      case .text(let segment):
        for word in Self.preTokenize(normalizer.normalize(String(segment))) { appendWordPieces(word, to: &ids) }
      }
    }
    let room = max(maxLength - 2, 0)
    let truncated = ids.count > room
    if truncated { ids.removeLast(ids.count - room) }
    return Encoding(ids: [clsID] + ids + [sepID], truncated: truncated)
  }

  enum Piece: Equatable {
    case text(Substring)
    case added(Int32)
  }

  func splitOnAddedTokens(_ text: String) -> [Piece] {
    guard !addedTokens.isEmpty else { return [.text(text[...])] }
    var pieces: [Piece] = []
    var segmentStart = text.startIndex
    var index = text.startIndex
    while index < text.endIndex {
      if let match = addedTokens.first(where: { text[index...].hasPrefix($0.content) }) {
        if segmentStart < index { pieces.append(.text(text[segmentStart..<index])) }
        pieces.append(.added(match.id))
        index = text.index(index, offsetBy: match.content.count)
        segmentStart = index
      } else {
        index = text.index(after: index)
      }
    }
    if segmentStart < text.endIndex { pieces.append(.text(text[segmentStart...])) }
    return pieces
  }

  /// Whitespace separates words; each punctuation scalar is a word of its own.
  static func preTokenize(_ text: String) -> [String] {
    var words: [String] = []
    var current = String.UnicodeScalarView()
    func flush() {
      if !current.isEmpty { words.append(String(current)) }
      current = String.UnicodeScalarView()
    }
    for scalar in text.unicodeScalars {
      if scalar.isASCII ? (9...13).contains(scalar.value) || scalar.value == 32 : scalar.properties.isWhitespace {
        flush()
      } else if isPunctuation(scalar) {
        flush()
        words.append(String(scalar))
      } else {
        current.append(scalar)
      }
    }
    flush()
    return words
  }

  static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
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

  /// Greedy longest-match-first; a word with any unmatched part becomes one [UNK].
  private func appendWordPieces(_ word: String, to ids: inout [Int32]) {
    let scalars = Array(word.unicodeScalars)
    guard scalars.count <= maxInputCharsPerWord else {
      ids.append(unknownID)
      return
    }
    var pieces: [Int32] = []
    var start = 0
    while start < scalars.count {
      var end = scalars.count
      var found: Int32?
      while start < end {
        var candidate = String(String.UnicodeScalarView(scalars[start..<end]))
        if start > 0 { candidate = continuingPrefix + candidate }
        if let id = vocabulary[candidate] {
          found = id
          break
        }
        end -= 1
      }
      guard let id = found else {
        ids.append(unknownID)
        return
      }
      pieces.append(id)
      start = end
    }
    ids.append(contentsOf: pieces)
  }
}

public struct TokenizerError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}
