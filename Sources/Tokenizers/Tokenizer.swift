import Foundation

/// A text's tokens: ids, where each came from in the text (code-point offsets, as Python indexes a str;
/// special tokens have 0..<0), which are special, and whether the text was cut to fit.
public struct Encoding: Sendable, Equatable {
  public var ids: [Int32] = []
  public var offsets: [Range<Int>] = []
  public var special: [Bool] = []
  /// True when the text had more tokens than the limit and was cut.
  public var truncated = false

  public init() {}
}

/// The Hugging Face tokenizer pipeline as tokenizer.json describes it: added tokens are found in the raw text,
/// the rest is normalized, pre-tokenized into words, each word tokenized by the model (WordPiece, BPE, Unigram,
/// WordLevel), then the post-processor adds the special tokens.
public final class Tokenizer: Sendable {
  public let normalizer: Normalizer?
  public let preTokenizer: PreTokenizer?
  public let model: any TokenModel
  public let postProcessor: PostProcessor?
  let rawAddedTokens: AddedTokenMatcher
  let normalizedAddedTokens: AddedTokenMatcher
  let addedTokenText: [Int32: String]
  /// The special tokens (control tokens) and their ids.
  public let specialTokens: [String: Int32]
  /// Ids run from 0 to one below this (model vocabulary and added tokens).
  public let vocabularySize: Int

  public init(normalizer: Normalizer?, preTokenizer: PreTokenizer?, model: any TokenModel, postProcessor: PostProcessor?, addedTokens: [AddedToken]) {
    self.normalizer = normalizer
    self.preTokenizer = preTokenizer
    self.model = model
    self.postProcessor = postProcessor
    let matchable = addedTokens.filter { !$0.special }
    rawAddedTokens = AddedTokenMatcher(matchable.filter { !$0.normalized })
    normalizedAddedTokens = AddedTokenMatcher(matchable.filter(\.normalized))
    var text: [Int32: String] = [:]
    for token in addedTokens { text[token.id] = String(String.UnicodeScalarView(token.content)) }
    addedTokenText = text
    specialTokens = Dictionary(addedTokens.filter(\.special).map { (String(String.UnicodeScalarView($0.content)), $0.id) }, uniquingKeysWith: { first, _ in first })
    vocabularySize = max(model.vocabularySize, Int((addedTokens.map(\.id).max() ?? -1) + 1))
  }

  /// Tokens the post-processor puts around one text.
  public var specialTokenCount: Int { postProcessor?.addedTokens ?? 0 }

  /// The token string of an id (the vocabulary's spelling, e.g. "##ing", "Ġthe", "▁the").
  public func token(of id: Int32) -> String? { addedTokenText[id] ?? model.token(of: id) }

  public func id(of token: String) -> Int32? {
    addedTokenText.first(where: { $0.value == token })?.key ?? model.id(of: token)
  }

  /// The text's tokens with the special tokens, at most `maxLength` in all (the text's own tokens are cut
  /// from the end to make room).
  public func encode(_ text: String, maxLength: Int = .max) -> Encoding {
    var encoding = encodeWithoutSpecials(text)
    let room = max(maxLength - specialTokenCount, 0)
    if encoding.ids.count > room {
      encoding.truncated = true
      encoding.ids.removeLast(encoding.ids.count - room)
      encoding.offsets.removeLast(encoding.offsets.count - room)
      encoding.special.removeLast(encoding.special.count - room)
    }
    postProcessor?.apply(&encoding, tokenText: token(of:))
    return encoding
  }

  /// The special tokens around an encoding made by `encodeWithoutSpecials` (a window of one, say).
  public func addingSpecialTokens(_ encoding: Encoding) -> Encoding {
    var encoding = encoding
    postProcessor?.apply(&encoding, tokenText: token(of:))
    return encoding
  }

  /// The text's own tokens, no special tokens added and nothing cut.
  public func encodeWithoutSpecials(_ text: String) -> Encoding {
    var encoding = Encoding()
    func add(_ id: Int32, _ range: Range<Int>) {
      encoding.ids.append(id)
      encoding.offsets.append(range)
      encoding.special.append(false)
    }
    for segment in rawAddedTokens.split(NormalizedText(original: text.unicodeScalars)) {
      switch segment {
      case .token(let id, let range): add(id, range)
      case .text(let raw):
        let normalized = normalizer?.apply(raw) ?? raw
        for part in normalizedAddedTokens.split(normalized) {
          switch part {
          case .token(let id, let range): add(id, range)
          case .text(let piece):
            for word in preTokenizer?.apply([piece]) ?? [piece] where !word.isEmpty {
              for token in model.tokenize(word.scalars) {
                let span = word.span(token.range)
                add(token.id, span.start..<span.end)
              }
            }
          }
        }
      }
    }
    return encoding
  }
}

public struct TokenizerError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}
