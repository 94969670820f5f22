import Foundation
import Synchronization

/// CLIP's byte-level BPE tokenizer, as the Hugging Face fast CLIP tokenizer runs it: special tokens matched in
/// the raw text; NFC, runs of whitespace to one space, per-scalar lower-casing; CLIP's pre-tokenizer pattern
/// (contractions, letter runs, single digits, runs of other symbols); bytes mapped to GPT-2's printable code
/// points; merges by rank with "</w>" closing each word; <|startoftext|> … <|endoftext|>.
public final class ByteLevelBPETokenizer: Sendable {
  public let vocabulary: [String: Int32]
  public let startID: Int32
  public let endID: Int32
  /// Merge rank by "left right" pair.
  private let ranks: [String: Int]
  private let byteSymbols: [String]
  private let specials: [(content: String, id: Int32)]
  /// Words seen before, to their ids (text is full of repeats).
  private let cache = Mutex<[String: [Int32]]>([:])

  public init(vocabulary: [String: Int32], merges: [(String, String)], startToken: String = "<|startoftext|>", endToken: String = "<|endoftext|>") throws {
    guard let start = vocabulary[startToken], let end = vocabulary[endToken] else {
      throw TokenizerError("the vocabulary lacks \(startToken) or \(endToken)")
    }
    self.vocabulary = vocabulary
    startID = start
    endID = end
    var ranks: [String: Int] = [:]
    for (rank, merge) in merges.enumerated() where ranks[merge.0 + " " + merge.1] == nil {
      ranks[merge.0 + " " + merge.1] = rank
    }
    self.ranks = ranks
    byteSymbols = Self.gpt2ByteSymbols()
    specials = [(startToken, start), (endToken, end)]
  }

  /// Loads vocab.json and merges.txt from a model directory, or the BPE model inside tokenizer.json when the
  /// directory has only that (as newer transformers versions save it).
  public static func load(directory: URL) throws -> ByteLevelBPETokenizer {
    let vocabURL = directory.appendingPathComponent("vocab.json"), mergesURL = directory.appendingPathComponent("merges.txt")
    if !FileManager.default.fileExists(atPath: vocabURL.path) {
      return try load(tokenizerJSON: directory.appendingPathComponent("tokenizer.json"))
    }
    guard let vocabData = FileManager.default.contents(atPath: vocabURL.path),
      let raw = try? JSONSerialization.jsonObject(with: vocabData) as? [String: Any]
    else { throw TokenizerError("\(vocabURL.path): missing or not a JSON object") }
    var vocabulary: [String: Int32] = [:]
    for (token, id) in raw {
      guard let id = (id as? NSNumber)?.int32Value else { throw TokenizerError("\(vocabURL.path): id of '\(token)' is not a number") }
      vocabulary[token] = id
    }
    guard let text = try? String(contentsOf: mergesURL, encoding: .utf8) else { throw TokenizerError("\(mergesURL.path): missing or not UTF-8") }
    var merges: [(String, String)] = []
    for line in text.split(separator: "\n") where !line.hasPrefix("#version") {
      let parts = line.split(separator: " ")
      guard parts.count == 2 else { continue }
      merges.append((String(parts[0]), String(parts[1])))
    }
    return try ByteLevelBPETokenizer(vocabulary: vocabulary, merges: merges)
  }

  static func load(tokenizerJSON url: URL) throws -> ByteLevelBPETokenizer {
    guard let data = FileManager.default.contents(atPath: url.path),
      let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let model = root["model"] as? [String: Any]
    else { throw TokenizerError("\(url.deletingLastPathComponent().path): neither vocab.json + merges.txt nor a readable tokenizer.json") }
    guard model["type"] as? String == "BPE", let rawVocabulary = model["vocab"] as? [String: Any], let rawMerges = model["merges"] as? [Any] else {
      throw TokenizerError("\(url.path): model is not a BPE model with vocab and merges")
    }
    var vocabulary: [String: Int32] = [:]
    for (token, id) in rawVocabulary {
      guard let id = (id as? NSNumber)?.int32Value else { throw TokenizerError("\(url.path): id of '\(token)' is not a number") }
      vocabulary[token] = id
    }
    // Merges are "left right" strings in older files and [left, right] pairs in newer ones.
    let merges: [(String, String)] = try rawMerges.map { merge in
      if let pair = merge as? [String], pair.count == 2 { return (pair[0], pair[1]) }
      if let line = merge as? String, case let parts = line.split(separator: " "), parts.count == 2 { return (String(parts[0]), String(parts[1])) }
      throw TokenizerError("\(url.path): a merge is neither \"a b\" nor [a, b]")
    }
    return try ByteLevelBPETokenizer(vocabulary: vocabulary, merges: merges)
  }

  public struct Encoding: Equatable, Sendable {
    public var ids: [Int32]
    public var truncated: Bool
  }

  /// Ids with the start and end tokens, cut to at most `maxLength` in all.
  public func encode(_ text: String, maxLength: Int) -> Encoding {
    var ids: [Int32] = []
    for piece in splitOnSpecials(text) {
      switch piece {
      case .special(let id): ids.append(id)
      case .text(let segment):
        for word in Self.preTokenize(Self.normalize(segment)) { ids.append(contentsOf: wordIDs(word)) }
      }
    }
    let room = max(maxLength - 2, 0)
    let truncated = ids.count > room
    if truncated { ids.removeLast(ids.count - room) }
    return Encoding(ids: [startID] + ids + [endID], truncated: truncated)
  }

  enum Piece {
    case text(String)
    case special(Int32)
  }

  private func splitOnSpecials(_ text: String) -> [Piece] {
    var pieces: [Piece] = []
    var rest = Substring(text)
    while let (range, id) = specials.compactMap({ special in rest.range(of: special.content).map { ($0, special.id) } }).min(by: { $0.0.lowerBound < $1.0.lowerBound }) {
      pieces.append(.text(String(rest[..<range.lowerBound])))
      pieces.append(.special(id))
      rest = rest[range.upperBound...]
    }
    pieces.append(.text(String(rest)))
    return pieces
  }

  /// NFC, whitespace runs to one space, each scalar lower-cased on its own.
  static func normalize(_ text: String) -> String {
    var out = String.UnicodeScalarView()
    var inSpace = false
    for scalar in text.precomposedStringWithCanonicalMapping.unicodeScalars {
      if scalar.properties.isWhitespace {
        if !inSpace { out.append(" ") }
        inSpace = true
        continue
      }
      inSpace = false
      out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
    }
    return String(out)
  }

  /// The words CLIP's pattern finds: 's 't 're 've 'm 'll 'd, letter runs, single numbers, runs of anything
  /// else that is not whitespace. Whitespace separates and is dropped.
  static func preTokenize(_ text: String) -> [String] {
    let scalars = Array(text.unicodeScalars)
    var words: [String] = []
    var i = 0
    func isLetter(_ s: Unicode.Scalar) -> Bool {
      switch s.properties.generalCategory {
      case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
      default: return false
      }
    }
    func isNumber(_ s: Unicode.Scalar) -> Bool {
      switch s.properties.generalCategory {
      case .decimalNumber, .letterNumber, .otherNumber: return true
      default: return false
      }
    }
    func isOther(_ s: Unicode.Scalar) -> Bool { !s.properties.isWhitespace && !isLetter(s) && !isNumber(s) }
    func word(_ range: Range<Int>) -> String { String(String.UnicodeScalarView(scalars[range])) }
    while i < scalars.count {
      let s = scalars[i]
      if s.properties.isWhitespace {
        i += 1
        continue
      }
      if s == "'" {
        let next = i + 1 < scalars.count ? scalars[i + 1] : " "
        let after = i + 2 < scalars.count ? scalars[i + 2] : " "
        if "stmd".unicodeScalars.contains(next) {
          words.append(word(i..<i + 2))
          i += 2
          continue
        }
        if (next == "r" && after == "e") || (next == "v" && after == "e") || (next == "l" && after == "l") {
          words.append(word(i..<i + 3))
          i += 3
          continue
        }
      }
      var end = i + 1
      if isLetter(s) {
        while end < scalars.count && isLetter(scalars[end]) { end += 1 }
      } else if !isNumber(s) {
        while end < scalars.count && isOther(scalars[end]) { end += 1 }
      }
      words.append(word(i..<end))
      i = end
    }
    return words
  }

  /// BPE over one word's byte symbols, lowest-ranked pair first.
  private func wordIDs(_ word: String) -> [Int32] {
    if let cached = cache.withLock({ $0[word] }) { return cached }
    var symbols = word.utf8.map { byteSymbols[Int($0)] }
    symbols[symbols.count - 1] += "</w>"
    while symbols.count > 1 {
      var best: (rank: Int, index: Int)?
      for index in 0..<(symbols.count - 1) {
        if let rank = ranks[symbols[index] + " " + symbols[index + 1]], rank < (best?.rank ?? .max) {
          best = (rank, index)
        }
      }
      guard let best else { break }
      let left = symbols[best.index], right = symbols[best.index + 1]
      var merged: [String] = []
      var index = 0
      while index < symbols.count {
        if index < symbols.count - 1 && symbols[index] == left && symbols[index + 1] == right {
          merged.append(left + right)
          index += 2
        } else {
          merged.append(symbols[index])
          index += 1
        }
      }
      symbols = merged
    }
    let ids = symbols.map { vocabulary[$0] ?? endID }
    cache.withLock { cache in
      if cache.count > 100_000 { cache.removeAll() }
      cache[word] = ids
    }
    return ids
  }

  /// GPT-2's byte → printable code point table (printable bytes first, the rest from U+0100 up).
  static func gpt2ByteSymbols() -> [String] {
    let printable = Array(33...126) + Array(161...172) + Array(174...255)
    var table = [String](repeating: "", count: 256)
    for byte in printable { table[byte] = String(Unicode.Scalar(UInt32(byte))!) }
    var next: UInt32 = 256
    for byte in 0..<256 where table[byte].isEmpty {
      table[byte] = String(Unicode.Scalar(next)!)
      next += 1
    }
    return table
  }
}
