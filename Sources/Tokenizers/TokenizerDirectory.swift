import Foundation

/// A model directory's tokenizer: tokenizer.json when there is one; otherwise the older files, converted at load
/// into the same description transformers' converters give them (so one engine runs every directory):
/// vocab.txt (BERT, MPNet: WordPiece), vocab.json + merges.txt (CLIP, RoBERTa, GPT-2: byte-level BPE) or
/// XLM-RoBERTa's sentencepiece.bpe.model or SigLIP's spiece.model.
extension Tokenizer {
  public static func load(directory: URL) throws -> Tokenizer {
    let file = { (name: String) in directory.appendingPathComponent(name) }
    let exists = { (name: String) in FileManager.default.fileExists(atPath: file(name).path) }
    if exists("tokenizer.json") { return try load(tokenizerJSON: file("tokenizer.json")) }
    let settings = (try? JSONSerialization.jsonObject(with: Data(contentsOf: file("tokenizer_config.json")))) as? [String: Any] ?? [:]
    let modelType = ((try? JSONSerialization.jsonObject(with: Data(contentsOf: file("config.json")))) as? [String: Any])?["model_type"] as? String
    do {
      if exists("vocab.txt") { return try LegacyTokenizerFiles.wordPiece(vocab: file("vocab.txt"), settings: settings).build() }
      if exists("vocab.json") && exists("merges.txt") {
        let isCLIP = modelType == "clip" || (settings["tokenizer_class"] as? String ?? "").hasPrefix("CLIP") || !exists("tokenizer_config.json")
        return try LegacyTokenizerFiles.byteLevelBPE(vocab: file("vocab.json"), merges: file("merges.txt"), settings: settings, clip: isCLIP).build()
      }
      if exists("sentencepiece.bpe.model") {
        guard modelType == "xlm-roberta" || (settings["tokenizer_class"] as? String ?? "").hasPrefix("XLMRoberta") else {
          throw TokenizerError("sentencepiece.bpe.model is converted for XLM-RoBERTa only; save this model's tokenizer.json (transformers: tokenizer.save_pretrained)")
        }
        return try LegacyTokenizerFiles.xlmRobertaSentencePiece(model: file("sentencepiece.bpe.model")).build()
      }
      if exists("spiece.model") {
        guard modelType == "siglip" || (settings["tokenizer_class"] as? String ?? "").hasPrefix("Siglip") else {
          throw TokenizerError("spiece.model is converted for SigLIP only; save this model's tokenizer.json (transformers: tokenizer.save_pretrained)")
        }
        return try LegacyTokenizerFiles.siglipSentencePiece(model: file("spiece.model"), settings: settings).build()
      }
    } catch let error as TokenizerError {
      throw TokenizerError("\(directory.path): \(error.description)")
    }
    throw TokenizerError("\(directory.path): no tokenizer.json, vocab.txt, vocab.json + merges.txt, sentencepiece.bpe.model or spiece.model")
  }
}

enum LegacyTokenizerFiles {
  /// A special token's text from tokenizer_config.json (a string, or an AddedToken object with `content`).
  static func token(_ settings: [String: Any], _ key: String, _ fallback: String) -> String {
    if let text = settings[key] as? String { return text }
    return (settings[key] as? [String: Any])?["content"] as? String ?? fallback
  }

  static func specials(_ names: [String], in vocabulary: [(String, Int32)]) -> [[String: Any]] {
    var seen = Set<String>()
    return names.compactMap { name in
      guard !name.isEmpty, seen.insert(name).inserted, let id = vocabulary.first(where: { $0.0 == name })?.1 else { return nil }
      return ["id": NSNumber(value: id), "content": name, "special": true, "normalized": false]
    }
  }

  static func wordPiece(vocab url: URL, settings: [String: Any]) throws -> TokenizerDescription {
    guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw TokenizerError("\(url.lastPathComponent) is not readable UTF-8") }
    var vocabulary: [(String, Int32)] = []
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
      vocabulary.append((String(line.trimmingCharacters(in: .init(charactersIn: "\r"))), Int32(index)))
    }
    let cls = token(settings, "cls_token", "[CLS]"), sep = token(settings, "sep_token", "[SEP]"), unknown = token(settings, "unk_token", "[UNK]")
    let others = ["pad_token": "[PAD]", "mask_token": "[MASK]", "bos_token": "", "eos_token": ""].map { token(settings, $0.key, $0.value) }
    var normalizer: [String: Any] = [
      "type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": settings["tokenize_chinese_chars"] as? Bool ?? true,
      "lowercase": settings["do_lower_case"] as? Bool ?? true,
    ]
    if let strip = settings["strip_accents"] as? Bool { normalizer["strip_accents"] = strip }
    return TokenizerDescription(
      [
        "added_tokens": specials([cls, sep, unknown] + others, in: vocabulary),
        "normalizer": normalizer,
        "pre_tokenizer": ["type": "BertPreTokenizer"],
        "model": ["type": "WordPiece", "unk_token": unknown, "continuing_subword_prefix": "##", "max_input_chars_per_word": 100],
        "post_processor": ["type": "BertProcessing", "cls": [cls, NSNumber(value: try id(cls, vocabulary))], "sep": [sep, NSNumber(value: try id(sep, vocabulary))]],
      ], vocabulary: vocabulary)
  }

  static func id(_ token: String, _ vocabulary: [(String, Int32)]) throws -> Int32 {
    guard let id = vocabulary.first(where: { $0.0 == token })?.1 else { throw TokenizerError("the vocabulary has no \(token) token") }
    return id
  }

  /// CLIP's converter, or RoBERTa's (GPT-2's without the <s> </s> template).
  static func byteLevelBPE(vocab: URL, merges: URL, settings: [String: Any], clip: Bool) throws -> TokenizerDescription {
    guard let data = FileManager.default.contents(atPath: vocab.path), case .object(let members)? = try? ExactJSON.parse(data) else {
      throw TokenizerError("\(vocab.lastPathComponent) is missing or not a JSON object")
    }
    let vocabulary: [(String, Int32)] = try members.map { member in
      guard case .number(let id) = member.value else { throw TokenizerError("\(vocab.lastPathComponent): id of \(member.key.debugDescription) is not a number") }
      return (member.key, Int32(id))
    }
    guard let text = try? String(contentsOf: merges, encoding: .utf8) else { throw TokenizerError("\(merges.lastPathComponent) is not readable UTF-8") }
    let mergeLines = text.split(separator: "\n").filter { !$0.hasPrefix("#version") && $0.split(separator: " ").count == 2 }.map(String.init)
    if clip {
      let start = "<|startoftext|>", end = "<|endoftext|>"
      return TokenizerDescription([
        "added_tokens": specials([start, end], in: vocabulary),
        "normalizer": ["type": "Sequence", "normalizers": [["type": "NFC"], ["type": "Replace", "pattern": ["Regex": #"\s+"#], "content": " "], ["type": "Lowercase"]]],
        "pre_tokenizer": [
          "type": "Sequence",
          "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": #"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"#], "behavior": "Removed", "invert": true],
            ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true],
          ],
        ],
        "model": ["type": "BPE", "unk_token": end, "continuing_subword_prefix": "", "end_of_word_suffix": "</w>", "merges": mergeLines],
        "post_processor": ["type": "RobertaProcessing", "cls": [start, NSNumber(value: try id(start, vocabulary))], "sep": [end, NSNumber(value: try id(end, vocabulary))], "trim_offsets": false, "add_prefix_space": false],
      ], vocabulary: vocabulary)
    }
    let prefixSpace = settings["add_prefix_space"] as? Bool ?? false
    let cls = token(settings, "cls_token", "<s>"), sep = token(settings, "sep_token", "</s>")
    var description: [String: Any] = [
      "added_tokens": specials([cls, sep, token(settings, "unk_token", "<unk>"), token(settings, "pad_token", "<pad>"), token(settings, "mask_token", "<mask>"), token(settings, "bos_token", ""), token(settings, "eos_token", "")], in: vocabulary),
      "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": prefixSpace, "use_regex": true],
      "model": ["type": "BPE", "continuing_subword_prefix": "", "end_of_word_suffix": "", "merges": mergeLines],
    ]
    if let clsID = try? id(cls, vocabulary), let sepID = try? id(sep, vocabulary) {
      description["post_processor"] = ["type": "RobertaProcessing", "cls": [cls, NSNumber(value: clsID)], "sep": [sep, NSNumber(value: sepID)], "trim_offsets": true, "add_prefix_space": prefixSpace]
    } else {
      description["post_processor"] = ["type": "ByteLevel", "trim_offsets": true, "add_prefix_space": prefixSpace]
    }
    return TokenizerDescription(description, vocabulary: vocabulary)
  }
}
