/// Byte-pair encoding as the reference runs it: the word's scalars (continuing prefix on all but the first,
/// end-of-word suffix on the last) become symbols; unknown scalars become `<0xXX>` byte tokens (byte fallback)
/// or the unknown token (fused runs with `fuse_unk`); then the adjacent pair of lowest merge rank is merged,
/// leftmost first, until no pair has a rank. With `ignore_merges` a word that is in the vocabulary is one token.
public final class BPEModel: TokenModel {
  struct Pair: Hashable {
    var left: Int32
    var right: Int32
  }

  let vocabulary: Vocabulary
  /// Rank and merged id of each mergeable pair.
  let merges: [Pair: (rank: Int32, id: Int32)]
  public let unknownID: Int32?
  let continuingPrefix: String?
  let endOfWordSuffix: String?
  let fuseUnknown: Bool
  let byteFallback: Bool
  let ignoreMerges: Bool
  private let cache = WordCache()

  init(
    vocabulary: Vocabulary, merges: [(String, String)], unknownToken: String?, continuingPrefix: String?, endOfWordSuffix: String?,
    fuseUnknown: Bool, byteFallback: Bool, ignoreMerges: Bool
  ) throws {
    self.vocabulary = vocabulary
    var table: [Pair: (rank: Int32, id: Int32)] = [:]
    let prefixLength = continuingPrefix?.count ?? 0
    for (rank, merge) in merges.enumerated() {
      guard let left = vocabulary[merge.0], let right = vocabulary[merge.1] else {
        throw TokenizerError("the BPE merge \"\(merge.0) \(merge.1)\" names a token that is not in the vocabulary")
      }
      // The merged token drops the right side's continuing prefix, as the reference builds it.
      let merged = merge.0 + (prefixLength > 0 && merge.1.hasPrefix(continuingPrefix!) ? String(merge.1.dropFirst(prefixLength)) : merge.1)
      guard let id = vocabulary[merged] else { throw TokenizerError("the BPE merge \"\(merge.0) \(merge.1)\" makes \(merged), which is not in the vocabulary") }
      let pair = Pair(left: left, right: right)
      if table[pair] == nil { table[pair] = (Int32(rank), id) }
    }
    self.merges = table
    if let unknownToken {
      guard let id = vocabulary[unknownToken] else { throw TokenizerError("the BPE vocabulary has no unknown token \(unknownToken)") }
      unknownID = id
    } else {
      unknownID = nil
    }
    self.continuingPrefix = continuingPrefix.flatMap { $0.isEmpty ? nil : $0 }
    self.endOfWordSuffix = endOfWordSuffix.flatMap { $0.isEmpty ? nil : $0 }
    self.fuseUnknown = fuseUnknown
    self.byteFallback = byteFallback
    self.ignoreMerges = ignoreMerges
  }

  public var vocabularySize: Int { vocabulary.size }
  public func id(of token: String) -> Int32? { vocabulary[token] }
  public func token(of id: Int32) -> String? { vocabulary.tokens[id] }

  public func tokenize(_ word: [Unicode.Scalar]) -> [WordToken] {
    cache.tokens(word, merge)
  }

  private func merge(_ word: [Unicode.Scalar], key: String) -> [WordToken] {
    if ignoreMerges, let id = vocabulary[key] { return [WordToken(id: id, range: 0..<word.count)] }
    var symbols: [WordToken] = []
    symbols.reserveCapacity(word.count)
    var unknown: WordToken?
    for (index, scalar) in word.enumerated() {
      var symbol = String(scalar)
      if index > 0, let continuingPrefix { symbol = continuingPrefix + symbol }
      if index == word.count - 1, let endOfWordSuffix { symbol += endOfWordSuffix }
      let range = index..<index + 1
      if let id = vocabulary[symbol] {
        if let pending = unknown { symbols.append(pending) }
        unknown = nil
        symbols.append(WordToken(id: id, range: range))
        continue
      }
      if byteFallback {
        let bytes = symbol.utf8.map { vocabulary["<0x" + Self.hex($0) + ">"] }
        if bytes.allSatisfy({ $0 != nil }) {
          // (The reference adds these without flushing a pending unknown token first; neither do we.)
          symbols.append(contentsOf: bytes.map { WordToken(id: $0!, range: range) })
          continue
        }
      }
      guard let unknownID else { continue }
      if let pending = unknown {
        if fuseUnknown {
          unknown = WordToken(id: unknownID, range: pending.range.lowerBound..<range.upperBound)
          continue
        }
        symbols.append(pending)
      }
      unknown = WordToken(id: unknownID, range: range)
    }
    if let pending = unknown { symbols.append(pending) }
    // Lowest rank first, leftmost among equals.
    while symbols.count > 1 {
      var best: (rank: Int32, index: Int, id: Int32)?
      for index in 0..<(symbols.count - 1) {
        if let merge = merges[Pair(left: symbols[index].id, right: symbols[index + 1].id)], merge.rank < (best?.rank ?? .max) {
          best = (merge.rank, index, merge.id)
        }
      }
      guard let best else { break }
      symbols[best.index] = WordToken(id: best.id, range: symbols[best.index].range.lowerBound..<symbols[best.index + 1].range.upperBound)
      symbols.remove(at: best.index + 1)
    }
    return symbols
  }

  static func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
  }
}
