/// SentencePiece's unigram language model: the segmentation of a word with the highest total piece score
/// (Viterbi over scalar positions). A scalar no piece covers is the unknown token with score
/// min(score) − 10; runs of unknown scalars are fused into one; with byte fallback an unknown piece is spelled
/// as `<0xXX>` byte tokens instead.
public struct UnigramModel: TokenModel {
  let vocabulary: Vocabulary
  let scores: [Double]
  let unknown: Int32
  public var unknownID: Int32? { unknown }
  let byteFallback: Bool
  let fuseUnknown = true
  let unknownScore: Double
  /// Longest piece, in scalars: how far ahead a lookup needs to look.
  let longestPiece: Int
  /// Ids a piece of text must never become (special tokens): their strings are spelled with other pieces.
  let excluded: Set<Int32>
  private let cache = WordCache()

  init(pieces: [(String, Double)], unknownID: Int32, byteFallback: Bool, excluded: Set<Int32>) throws {
    guard Int(unknownID) < pieces.count, unknownID >= 0 else { throw TokenizerError("the Unigram unk_id \(unknownID) is outside its \(pieces.count) pieces") }
    vocabulary = Vocabulary(pieces.enumerated().map { ($0.element.0, Int32($0.offset)) })
    scores = pieces.map(\.1)
    unknown = unknownID
    self.byteFallback = byteFallback
    unknownScore = (scores.min() ?? 0) - 10
    longestPiece = pieces.map { $0.0.unicodeScalars.count }.max() ?? 1
    self.excluded = excluded
  }

  public var vocabularySize: Int { vocabulary.size }
  public func id(of token: String) -> Int32? { vocabulary[token] }
  public func token(of id: Int32) -> String? { vocabulary.tokens[id] }

  public func tokenize(_ word: [Unicode.Scalar]) -> [WordToken] {
    cache.tokens(word) { word, _ in viterbi(word) }
  }

  private func viterbi(_ word: [Unicode.Scalar]) -> [WordToken] {
    let n = word.count
    guard n > 0 else { return [] }
    // best[i]: the best path over word[0..<i]: its score, where its last piece starts, and that piece's id.
    var score = [Double](repeating: 0, count: n + 1)
    var from = [Int](repeating: -1, count: n + 1)
    var piece = [Int32](repeating: -1, count: n + 1)
    for start in 0..<n where start == 0 || from[start] >= 0 {
      let base = score[start]
      var coversOneScalar = false
      var candidate = String.UnicodeScalarView()
      for end in (start + 1)...min(n, start + longestPiece) {
        candidate.append(word[end - 1])
        guard let id = vocabulary[String(candidate)], !excluded.contains(id) else { continue }
        let total = base + scores[Int(id)]
        if from[end] < 0 || total > score[end] {
          score[end] = total
          from[end] = start
          piece[end] = id
        }
        if end == start + 1 { coversOneScalar = true }
      }
      if !coversOneScalar {
        let total = base + unknownScore
        if from[start + 1] < 0 || total > score[start + 1] {
          score[start + 1] = total
          from[start + 1] = start
          piece[start + 1] = unknown
        }
      }
    }
    // Back from the end, fusing neighbouring unknown pieces.
    var tokens: [WordToken] = []
    var end = n
    while end > 0 {
      let start = from[end]
      if fuseUnknown && piece[end] == unknown, let last = tokens.last, last.id == unknown {
        tokens[tokens.count - 1] = WordToken(id: unknown, range: start..<last.range.upperBound)
      } else {
        tokens.append(WordToken(id: piece[end], range: start..<end))
      }
      end = start
    }
    tokens.reverse()
    guard byteFallback else { return tokens }
    return tokens.flatMap { token -> [WordToken] in
      guard token.id == unknown else { return [token] }
      let bytes = string(word[token.range]).utf8.map { vocabulary["<0x" + BPEModel.hex($0) + ">"] }
      guard bytes.allSatisfy({ $0 != nil }) else { return [token] }
      // Every byte token stands for the whole unknown piece, as the reference reports it.
      return bytes.map { WordToken(id: $0!, range: token.range) }
    }
  }
}
