import Synchronization

/// One token a model found in a word: its id and the scalars of the word it covers.
public struct WordToken: Sendable, Equatable {
  public var id: Int32
  public var range: Range<Int>
}

/// A tokenizer.json `model`: a word (one pre-tokenized piece) to token ids.
public protocol TokenModel: Sendable {
  func tokenize(_ word: [Unicode.Scalar]) -> [WordToken]
  func id(of token: String) -> Int32?
  func token(of id: Int32) -> String?
  var vocabularySize: Int { get }
  /// The id it gives what it cannot spell, if it has one.
  var unknownID: Int32? { get }
}

/// A vocabulary both ways, keyed byte for byte (see `ExactString`).
struct Vocabulary: Sendable {
  private let table: [ExactString: Int32]
  let tokens: [Int32: String]
  let size: Int
  /// The longest token, in scalars: no lookup of anything longer can succeed.
  let longest: Int

  init(_ entries: [(String, Int32)]) {
    var table: [ExactString: Int32] = [:]
    var tokens: [Int32: String] = [:]
    table.reserveCapacity(entries.count)
    for (token, id) in entries {
      if table[ExactString(token)] == nil { table[ExactString(token)] = id }
      tokens[id] = token
    }
    self.table = table
    self.tokens = tokens
    size = Int((entries.map(\.1).max() ?? -1) + 1)
    longest = entries.map { $0.0.unicodeScalars.count }.max() ?? 0
  }

  subscript(_ token: String) -> Int32? { table[ExactString(token)] }
}

func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String { String(String.UnicodeScalarView(scalars)) }

/// Words seen before, to their tokens: text is full of repeats, and a model's word work (sub-word search,
/// merges, Viterbi) costs far more than one lookup. Emptied when it grows past its bound.
final class WordCache: Sendable {
  private let words = Mutex<[ExactString: [WordToken]]>([:])

  func tokens(_ word: [Unicode.Scalar], _ tokenize: ([Unicode.Scalar], String) -> [WordToken]) -> [WordToken] {
    let text = string(word[...])
    let key = ExactString(text)
    if let cached = words.withLock({ $0[key] }) { return cached }
    let tokens = tokenize(word, text)
    words.withLock { words in
      if words.count > 100_000 { words.removeAll() }
      words[key] = tokens
    }
    return tokens
  }
}

/// Greedy longest-match-first sub-words ("##" continues a word); a word with any unmatched part, or longer
/// than `maxInputCharsPerWord`, is one unknown token.
public struct WordPieceModel: TokenModel {
  let vocabulary: Vocabulary
  let unknown: Int32
  let continuingPrefix: String
  let maxInputCharsPerWord: Int
  public var unknownID: Int32? { unknown }
  private let cache = WordCache()

  init(vocabulary: Vocabulary, unknownToken: String, continuingPrefix: String, maxInputCharsPerWord: Int) throws {
    self.vocabulary = vocabulary
    guard let unknown = vocabulary[unknownToken] else { throw TokenizerError("the WordPiece vocabulary has no unknown token \(unknownToken)") }
    self.unknown = unknown
    self.continuingPrefix = continuingPrefix
    self.maxInputCharsPerWord = maxInputCharsPerWord
  }

  public var vocabularySize: Int { vocabulary.size }
  public func id(of token: String) -> Int32? { vocabulary[token] }
  public func token(of id: Int32) -> String? { vocabulary.tokens[id] }

  public func tokenize(_ word: [Unicode.Scalar]) -> [WordToken] {
    cache.tokens(word) { word, _ in subwords(word) }
  }

  private func subwords(_ word: [Unicode.Scalar]) -> [WordToken] {
    guard word.count <= maxInputCharsPerWord else { return [WordToken(id: unknown, range: 0..<word.count)] }
    var pieces: [WordToken] = []
    var start = 0
    let prefixLength = continuingPrefix.unicodeScalars.count
    while start < word.count {
      // Nothing longer than the longest vocabulary entry can match (words of 100 scalars would otherwise cost
      // thousands of lookups).
      var end = min(word.count, start + max(vocabulary.longest - (start > 0 ? prefixLength : 0), 1))
      var found: Int32?
      while start < end {
        let candidate = start > 0 ? continuingPrefix + string(word[start..<end]) : string(word[start..<end])
        if let id = vocabulary[candidate] {
          found = id
          break
        }
        end -= 1
      }
      guard let id = found else { return [WordToken(id: unknown, range: 0..<word.count)] }
      pieces.append(WordToken(id: id, range: start..<end))
      start = end
    }
    return pieces
  }
}

/// One token per whole word, or the unknown token.
public struct WordLevelModel: TokenModel {
  let vocabulary: Vocabulary
  public let unknownID: Int32?

  public var vocabularySize: Int { vocabulary.size }
  public func id(of token: String) -> Int32? { vocabulary[token] }
  public func token(of id: Int32) -> String? { vocabulary.tokens[id] }

  public func tokenize(_ word: [Unicode.Scalar]) -> [WordToken] {
    if let id = vocabulary[string(word[...])] ?? unknownID { return [WordToken(id: id, range: 0..<word.count)] }
    return []
  }
}
