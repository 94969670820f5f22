import Foundation
/// Token ids of one text, and whether the text had to be cut to fit.
public struct TokenizedText: Sendable, Equatable {
  public var ids: [Int32]
  public var truncated: Bool

  public init(ids: [Int32], truncated: Bool) {
    self.ids = ids
    self.truncated = truncated
  }
}

import Tokenizers

/// A text tower: tokenizer + network + head. The engine tokenizes first (to answer truncation per input), then
/// runs whole batches; a batch pads only to its longest member.
public protocol TextEncoder: Sendable {
  /// The directory's tokenizer (offsets, token spellings, chunk windows).
  var tokenizer: Tokenizer { get }
  /// Prompts by name (sentence-transformers' config), put before a text when a request names one.
  var prompts: [String: String] { get }
  /// The prompt used when a request names none.
  var defaultPromptName: String? { get }
  /// The text as the tokenizer is to see it (sentence-transformers' do_lower_case); offsets stay valid for the
  /// caller's text only when this leaves its length alone.
  func prepared(_ text: String) -> String
  /// Vectors and, when `tokenStates`, every token's last hidden state (transformers' last_hidden_state).
  func embed(_ batch: [[Int32]], tokenStates: Bool) -> [(vector: [Float], tokens: [[Float]]?)]
  /// The network, e.g. "bert", "clip_text".
  var architecture: String { get }
  var dimension: Int { get }
  /// Most tokens one input may have, special tokens included.
  var maxTokens: Int { get }
  /// Token ids run from 0 to one below this (the embedding table's rows); ids given by a caller are checked here.
  var vocabularySize: Int { get }
  func tokenize(_ text: String) -> TokenizedText
  /// One vector per sequence, as the reference model outputs it (a sentence-transformers Normalize included).
  func embed(_ batch: [[Int32]]) -> [[Float]]
}

extension TextEncoder {
  public var prompts: [String: String] { [:] }
  public var defaultPromptName: String? { nil }
  public func prepared(_ text: String) -> String { text }
  /// The prepared text's ids, cut to `maxTokens` with the special tokens kept.
  public func tokenize(_ text: String) -> TokenizedText {
    let encoding = tokenizer.encode(prepared(text), maxLength: maxTokens)
    return TokenizedText(ids: encoding.ids, truncated: encoding.truncated)
  }
  /// Encoders without token states answer vectors only.
  public func embed(_ batch: [[Int32]], tokenStates: Bool) -> [(vector: [Float], tokens: [[Float]]?)] {
    embed(batch).map { ($0, nil) }
  }
}

extension Tokenizer {
  /// A model directory's tokenizer, its failure naming the directory (a start-up error).
  static func forModel(in directory: URL) throws -> Tokenizer {
    do {
      return try Tokenizer.load(directory: directory)
    } catch {
      throw CheckpointError("\(directory.path): tokenizer: \(error)")
    }
  }
}
