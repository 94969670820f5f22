import Foundation
import Tokenizers

/// Tokenization on one thread: Chorus's engine beside Hugging Face `tokenizers` (Rust, via Python, one encode per
/// string) on the parity corpus (2,100 varied strings, Tests/TokenizersTests/Fixtures/corpus.jsonl), per family.
func tokenizerBenchmark(seconds: Double) throws {
  let fixtures = root.appendingPathComponent("Tests/TokenizersTests/Fixtures")
  let corpus = try String(contentsOf: fixtures.appendingPathComponent("corpus.jsonl"), encoding: .utf8).split(separator: "\n")
    .map { try JSONSerialization.jsonObject(with: Data($0.utf8), options: .fragmentsAllowed) as! String }
  let corpusFile = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-bench-tokenizer-corpus.json")
  try JSONSerialization.data(withJSONObject: corpus).write(to: corpusFile)
  let characters = corpus.reduce(0) { $0 + $1.unicodeScalars.count }
  print("\ntokenizers, one thread, \(corpus.count) strings (\(characters) code points) per round:")
  let families = [
    ("WordPiece (all-MiniLM-L6-v2)", root.appendingPathComponent("Models/all-MiniLM-L6-v2")),
    ("byte-level BPE (RoBERTa-style)", fixtures.appendingPathComponent("roberta-bpe")),
    ("Unigram + Precompiled (XLM-R-style)", fixtures.appendingPathComponent("xlmr-unigram")),
    ("Split regex + byte-level BPE (Qwen-style)", fixtures.appendingPathComponent("qwen-bpe")),
    ("BPE with byte fallback (Llama-style)", fixtures.appendingPathComponent("llama-bpe")),
  ]
  for (name, directory) in families {
    let tokenizer = try Tokenizer.load(directory: directory)
    for text in corpus { _ = tokenizer.encode(text) }  // warm the word caches, as a serving tokenizer is
    var rounds = 0
    let start = Date()
    while Date().timeIntervalSince(start) < seconds {
      for text in corpus { _ = tokenizer.encode(text) }
      rounds += 1
    }
    let ours = Double(rounds * corpus.count) / Date().timeIntervalSince(start)
    var line = "  \(name): chorus \(String(format: "%.0f", ours)) strings/s (\(String(format: "%.1f", ours * Double(characters) / Double(corpus.count) / 1e6)) M code points/s)"
    if let theirs = runReference(["tokenize", directory.path, "\(seconds)", corpusFile.path])?["strings_per_second"] as? Double {
      line += ", tokenizers \(String(format: "%.0f", theirs)) strings/s, ratio \(String(format: "%.2f", ours / theirs))×"
    }
    print(line)
  }
}
