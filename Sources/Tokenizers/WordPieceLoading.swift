import Foundation

extension WordPieceTokenizer {
  /// Loads from a model directory: tokenizer.json when present (the fast tokenizer's full description),
  /// else vocab.txt with tokenizer_config.json's flags.
  public static func load(directory: URL) throws -> WordPieceTokenizer {
    let json = directory.appendingPathComponent("tokenizer.json")
    if FileManager.default.fileExists(atPath: json.path) {
      return try load(tokenizerJSON: json)
    }
    return try load(vocabTXT: directory.appendingPathComponent("vocab.txt"), config: directory.appendingPathComponent("tokenizer_config.json"))
  }

  static func load(tokenizerJSON url: URL) throws -> WordPieceTokenizer {
    guard let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any],
      let model = root["model"] as? [String: Any]
    else { throw TokenizerError("\(url.path): not a tokenizer.json object with a model") }
    guard model["type"] as? String == "WordPiece", let rawVocabulary = model["vocab"] as? [String: Any] else {
      throw TokenizerError("\(url.path): model type \(model["type"] ?? "none") is not WordPiece")
    }
    var vocabulary: [String: Int32] = [:]
    for (token, id) in rawVocabulary {
      guard let id = (id as? NSNumber)?.int32Value else { throw TokenizerError("\(url.path): vocabulary id of '\(token)' is not a number") }
      vocabulary[token] = id
    }
    let normalizerConfig = root["normalizer"] as? [String: Any] ?? [:]
    guard normalizerConfig.isEmpty || normalizerConfig["type"] as? String == "BertNormalizer" else {
      throw TokenizerError("\(url.path): normalizer \(normalizerConfig["type"] ?? "?") is not supported (BertNormalizer is)")
    }
    let normalizer = BertNormalizer(
      cleanText: normalizerConfig["clean_text"] as? Bool ?? true,
      handleChineseChars: normalizerConfig["handle_chinese_chars"] as? Bool ?? true,
      stripAccents: normalizerConfig["strip_accents"] as? Bool,
      lowercase: normalizerConfig["lowercase"] as? Bool ?? true)
    let added = (root["added_tokens"] as? [[String: Any]] ?? []).compactMap { token -> (String, Int32)? in
      guard let content = token["content"] as? String, let id = (token["id"] as? NSNumber)?.int32Value else { return nil }
      return (content, id)
    }
    return try WordPieceTokenizer(
      vocabulary: vocabulary, normalizer: normalizer,
      unknownToken: model["unk_token"] as? String ?? "[UNK]",
      continuingPrefix: model["continuing_subword_prefix"] as? String ?? "##",
      maxInputCharsPerWord: (model["max_input_chars_per_word"] as? NSNumber)?.intValue ?? 100,
      addedTokens: added)
  }

  static func load(vocabTXT: URL, config: URL) throws -> WordPieceTokenizer {
    guard let text = try? String(contentsOf: vocabTXT, encoding: .utf8) else {
      throw TokenizerError("\(vocabTXT.deletingLastPathComponent().path): neither tokenizer.json nor a readable vocab.txt")
    }
    var vocabulary: [String: Int32] = [:]
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
      vocabulary[String(line.trimmingCharacters(in: .init(charactersIn: "\r")))] = Int32(index)
    }
    let settings = (try? JSONSerialization.jsonObject(with: Data(contentsOf: config))) as? [String: Any] ?? [:]
    let lowercase = settings["do_lower_case"] as? Bool ?? true
    let normalizer = BertNormalizer(
      handleChineseChars: settings["tokenize_chinese_chars"] as? Bool ?? true,
      stripAccents: settings["strip_accents"] as? Bool, lowercase: lowercase)
    let specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { token in vocabulary[token].map { (token, $0) } }
    return try WordPieceTokenizer(vocabulary: vocabulary, normalizer: normalizer, addedTokens: specials)
  }
}
