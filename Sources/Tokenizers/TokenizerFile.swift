import Foundation

/// Reads tokenizer.json (the `tokenizers` library's serialization). Every component it names must be one this
/// engine implements; anything else stops loading with the component's name and the file.
extension Tokenizer {
  public static func load(tokenizerJSON url: URL) throws -> Tokenizer {
    guard let data = FileManager.default.contents(atPath: url.path) else { throw TokenizerError("\(url.path): missing or unreadable") }
    do {
      let exact = try ExactJSON.parse(data)
      guard let root = exact.foundation as? [String: Any] else { throw TokenizerError("not a JSON object") }
      var vocabulary: [(String, Int32)]?
      if case .object(let members)? = exact["model"]?["vocab"] {
        vocabulary = try members.map { member in
          guard case .number(let id) = member.value else { throw TokenizerError("model: id of \(member.key.debugDescription) is not a number") }
          return (member.key, Int32(id))
        }
      }
      return try TokenizerDescription(root, vocabulary: vocabulary).build()
    } catch let error as TokenizerError {
      throw TokenizerError("\(url.path): \(error.description)")
    }
  }
}

/// tokenizer.json's object model, turned into components. Also what the loaders of older files (vocab.txt,
/// vocab.json + merges.txt) build, so that every directory goes through the same code.
struct TokenizerDescription {
  let root: [String: Any]
  /// model.vocab as the file lists it, key by key (a dictionary would fold canonically equivalent tokens).
  let vocabulary: [(String, Int32)]?

  init(_ root: [String: Any], vocabulary: [(String, Int32)]?) {
    self.root = root
    self.vocabulary = vocabulary
  }

  func build() throws -> Tokenizer {
    let added = try (root["added_tokens"] as? [[String: Any]] ?? []).map(Self.addedToken)
    guard let modelObject = root["model"] as? [String: Any] else { throw TokenizerError("no model") }
    let model = try model(modelObject, specialIDs: Set(added.filter(\.special).map(\.id)))
    let lookup = { (token: String) -> Int32? in added.first(where: { String(String.UnicodeScalarView($0.content)) == token })?.id ?? model.id(of: token) }
    return Tokenizer(
      normalizer: try (root["normalizer"] as? [String: Any]).map(Self.normalizer),
      preTokenizer: try (root["pre_tokenizer"] as? [String: Any]).map(Self.preTokenizer),
      model: model,
      postProcessor: try (root["post_processor"] as? [String: Any]).map { try Self.postProcessor($0, lookup: lookup) },
      addedTokens: added)
  }

  static func type(_ object: [String: Any]) -> String { object["type"] as? String ?? "(no type)" }

  static func bool(_ object: [String: Any], _ key: String, _ fallback: Bool) -> Bool { object[key] as? Bool ?? fallback }

  static func scalars(_ object: [String: Any], _ key: String, _ fallback: String = "") -> [Unicode.Scalar] {
    Array((object[key] as? String ?? fallback).unicodeScalars)
  }

  static func id(_ value: Any?) -> Int32? { (value as? NSNumber)?.int32Value }

  static func addedToken(_ object: [String: Any]) throws -> AddedToken {
    guard let content = object["content"] as? String, let id = id(object["id"]) else { throw TokenizerError("an added token lacks its content or id") }
    return AddedToken(
      content: Array(content.unicodeScalars), id: id, special: bool(object, "special", false), normalized: bool(object, "normalized", false),
      singleWord: bool(object, "single_word", false), leftStrip: bool(object, "lstrip", false), rightStrip: bool(object, "rstrip", false))
  }

  static func pattern(_ object: [String: Any], in component: String) throws -> TextPattern {
    guard let pattern = object["pattern"] as? [String: Any] else { throw TokenizerError("\(component) has no pattern") }
    if let literal = pattern["String"] as? String { return .literal(Array(literal.unicodeScalars)) }
    if let regex = pattern["Regex"] as? String { return .regex(try TokenizerRegex(regex)) }
    throw TokenizerError("\(component)'s pattern is neither String nor Regex")
  }

  static let normalizers = "BertNormalizer, NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Replace, Prepend, Precompiled, Sequence"

  static func normalizer(_ object: [String: Any]) throws -> Normalizer {
    switch type(object) {
    case "BertNormalizer":
      return .bert(
        BertNormalizer(
          cleanText: bool(object, "clean_text", true), handleChineseChars: bool(object, "handle_chinese_chars", true),
          stripAccents: object["strip_accents"] as? Bool, lowercase: bool(object, "lowercase", true)))
    case "NFC": return .unicode(.nfc)
    case "NFD": return .unicode(.nfd)
    case "NFKC": return .unicode(.nfkc)
    case "NFKD": return .unicode(.nfkd)
    case "Lowercase": return bool(object, "chorus_final_sigma", false) ? .lowercaseFinalSigma : .lowercase
    case "Strip": return .strip(left: bool(object, "strip_left", true), right: bool(object, "strip_right", true))
    case "StripAccents": return .stripAccents
    case "Replace": return .replace(try pattern(object, in: "normalizer Replace"), with: scalars(object, "content"))
    case "Prepend": return .prepend(scalars(object, "prepend"))
    case "Precompiled":
      guard let encoded = object["precompiled_charsmap"] as? String, !encoded.isEmpty else { return .sequence([]) }
      guard let data = Data(base64Encoded: encoded) else { throw TokenizerError("normalizer Precompiled: precompiled_charsmap is not base64") }
      var map = try PrecompiledCharsMap(data)
      map.longestMatch = bool(object, "chorus_sentencepiece_matching", false)
      return .precompiled(map)
    case "Sequence":
      return .sequence(try (object["normalizers"] as? [[String: Any]] ?? []).map(normalizer))
    case let other:
      throw TokenizerError("normalizer \(other) is not supported (supported: \(normalizers))")
    }
  }

  static let preTokenizers = "BertPreTokenizer, ByteLevel, Metaspace, Split, Whitespace, WhitespaceSplit, Digits, Punctuation, Sequence"

  static func preTokenizer(_ object: [String: Any]) throws -> PreTokenizer {
    func behavior(_ fallback: SplitBehavior) throws -> SplitBehavior {
      guard let name = object["behavior"] as? String else { return fallback }
      guard let behavior = SplitBehavior(rawValue: name) else { throw TokenizerError("pre_tokenizer \(type(object)): behavior \(name) is not supported") }
      return behavior
    }
    switch type(object) {
    case "BertPreTokenizer": return .bert
    case "ByteLevel": return .byteLevel(addPrefixSpace: bool(object, "add_prefix_space", true), useRegex: bool(object, "use_regex", true))
    case "Metaspace":
      let replacement = scalars(object, "replacement", "▁")
      guard replacement.count == 1 else { throw TokenizerError("pre_tokenizer Metaspace: replacement must be one character") }
      let scheme: PrependScheme
      if let name = object["prepend_scheme"] as? String {
        guard let parsed = PrependScheme(rawValue: name) else { throw TokenizerError("pre_tokenizer Metaspace: prepend_scheme \(name) is not supported") }
        scheme = parsed
      } else {
        scheme = bool(object, "add_prefix_space", true) ? .always : .never
      }
      return .metaspace(replacement: replacement[0], prependScheme: scheme, split: bool(object, "split", true))
    case "Split":
      return .split(try pattern(object, in: "pre_tokenizer Split"), try behavior(.isolated), invert: bool(object, "invert", false))
    case "Whitespace": return .whitespace
    case "WhitespaceSplit": return .whitespaceSplit
    case "Digits": return .digits(individual: bool(object, "individual_digits", false))
    case "Punctuation": return .punctuation(try behavior(.isolated))
    case "Sequence": return .sequence(try (object["pretokenizers"] as? [[String: Any]] ?? []).map(preTokenizer))
    case let other: throw TokenizerError("pre_tokenizer \(other) is not supported (supported: \(preTokenizers))")
    }
  }

  func vocabulary(in component: String) throws -> Vocabulary {
    guard let vocabulary else { throw TokenizerError("model \(component) has no vocab object") }
    return Vocabulary(vocabulary)
  }

  func model(_ object: [String: Any], specialIDs: Set<Int32>) throws -> any TokenModel {
    switch Self.type(object) {
    case "WordPiece":
      return try WordPieceModel(
        vocabulary: vocabulary(in: "WordPiece"), unknownToken: object["unk_token"] as? String ?? "[UNK]",
        continuingPrefix: object["continuing_subword_prefix"] as? String ?? "##",
        maxInputCharsPerWord: (object["max_input_chars_per_word"] as? NSNumber)?.intValue ?? 100)
    case "BPE":
      if let dropout = (object["dropout"] as? NSNumber)?.doubleValue, dropout > 0 {
        throw TokenizerError("model BPE: dropout \(dropout) is a training setting; a served tokenizer must be deterministic (set it to null)")
      }
      guard let rawMerges = object["merges"] as? [Any] else { throw TokenizerError("model BPE has no merges") }
      // "left right" strings in older files, [left, right] pairs in newer ones.
      let merges: [(String, String)] = try rawMerges.map { merge in
        if let pair = merge as? [String], pair.count == 2 { return (pair[0], pair[1]) }
        if let line = merge as? String, let space = line.firstIndex(of: " ") { return (String(line[..<space]), String(line[line.index(after: space)...])) }
        throw TokenizerError("model BPE: a merge is neither \"a b\" nor [a, b]")
      }
      return try BPEModel(
        vocabulary: vocabulary(in: "BPE"), merges: merges, unknownToken: object["unk_token"] as? String,
        continuingPrefix: object["continuing_subword_prefix"] as? String, endOfWordSuffix: object["end_of_word_suffix"] as? String,
        fuseUnknown: Self.bool(object, "fuse_unk", false), byteFallback: Self.bool(object, "byte_fallback", false), ignoreMerges: Self.bool(object, "ignore_merges", false))
    case "Unigram":
      guard let raw = object["vocab"] as? [[Any]] else { throw TokenizerError("model Unigram has no vocab list") }
      let pieces: [(String, Double)] = try raw.map { entry in
        guard entry.count == 2, let piece = entry[0] as? String, let score = (entry[1] as? NSNumber)?.doubleValue else {
          throw TokenizerError("model Unigram: a vocab entry is not [piece, score]")
        }
        return (piece, score)
      }
      guard let unknown = Self.id(object["unk_id"]) else { throw TokenizerError("model Unigram has no unk_id (the reference needs one to encode unknown text)") }
      return try UnigramModel(pieces: pieces, unknownID: unknown, byteFallback: Self.bool(object, "byte_fallback", false), excluded: specialIDs)
    case "WordLevel":
      let vocabulary = try vocabulary(in: "WordLevel")
      return WordLevelModel(vocabulary: vocabulary, unknownID: (object["unk_token"] as? String).flatMap { vocabulary[$0] })
    case let other:
      throw TokenizerError("model \(other) is not supported (supported: WordPiece, BPE, Unigram, WordLevel)")
    }
  }

  static func postProcessor(_ object: [String: Any], lookup: (String) -> Int32?) throws -> PostProcessor {
    func pair(_ key: String) throws -> Int32 {
      guard let pair = object[key] as? [Any], pair.count == 2, let id = id(pair[1]) else { throw TokenizerError("post_processor \(type(object)): \(key) is not [token, id]") }
      return id
    }
    switch type(object) {
    case "TemplateProcessing":
      guard let single = object["single"] as? [[String: Any]] else { throw TokenizerError("post_processor TemplateProcessing has no single template") }
      let specials = object["special_tokens"] as? [String: [String: Any]] ?? [:]
      return .template(
        try single.map { piece in
          if piece["Sequence"] != nil { return .sequence }
          guard let special = piece["SpecialToken"] as? [String: Any], let name = special["id"] as? String else {
            throw TokenizerError("post_processor TemplateProcessing: a piece is neither Sequence nor SpecialToken")
          }
          if let ids = specials[name]?["ids"] as? [Any] { return .special(ids.compactMap(id)) }
          guard let id = lookup(name) else { throw TokenizerError("post_processor TemplateProcessing: special token \(name) is not in the vocabulary") }
          return .special([id])
        })
    case "BertProcessing": return .bert(cls: try pair("cls"), sep: try pair("sep"))
    case "RobertaProcessing":
      return .roberta(cls: try pair("cls"), sep: try pair("sep"), trimOffsets: bool(object, "trim_offsets", true), addPrefixSpace: bool(object, "add_prefix_space", true))
    case "ByteLevel": return .byteLevel(trimOffsets: bool(object, "trim_offsets", true), addPrefixSpace: bool(object, "add_prefix_space", true))
    case "Sequence": return .sequence(try (object["processors"] as? [[String: Any]] ?? []).map { try postProcessor($0, lookup: lookup) })
    case let other: throw TokenizerError("post_processor \(other) is not supported (supported: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence)")
    }
  }
}
