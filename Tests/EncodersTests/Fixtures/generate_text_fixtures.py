"""Writes the text parity fixtures from the reference implementation (transformers + sentence-transformers):

- tiny-bert-st/: a tiny random BertModel saved in sentence-transformers layout (WordPiece vocab of 1,000 tokens
  taken from all-MiniLM-L6-v2's, mean pooling, Normalize), and tiny-bert-st.expected.json with
  SentenceTransformer.encode of the texts below.
- tiny-bert-cls/: the same network as a plain transformers directory with a CLS-pooling module and no Normalize.
- minilm.expected.json: the real all-MiniLM-L6-v2's embeddings of 50 sentences (needs Models/all-MiniLM-L6-v2).

    /path/to/venv-with-torch/bin/python Tests/EncodersTests/Fixtures/generate_text_fixtures.py Models/all-MiniLM-L6-v2
"""
import json
import shutil
import sys
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer
from transformers import BertConfig, BertModel, BertTokenizerFast

HERE = Path(__file__).resolve().parent

TEXTS = [
    "", "a dog playing in the park", "A photo of a cat sleeping on a sofa.", "naïve café, résumé!",
    "北京 is a city", "emoji 😀 are unknown here", "the the the the the the the the the the the the the the",
    "Numbers: 3.14, 42, and 1,000,000.", "[CLS] special [SEP] tokens", "x" * 150,
]

SENTENCES = [
    "A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.",
    "A man is riding a horse.", "A woman is playing violin.", "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.", "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.", "A cheetah is running behind its prey.",
    "The quick brown fox jumps over the lazy dog.", "I love listening to classical music in the evening.",
    "Rain is expected tomorrow afternoon.", "The stock market fell sharply on Monday.",
    "She painted the fence bright red.", "Photosynthesis converts light into chemical energy.",
    "The recipe calls for two cups of flour.", "Our flight to Tokyo was delayed by three hours.",
    "He fixed the bicycle's flat tire.", "Children are building a sandcastle on the beach.",
    "A dog playing in the park.", "Sunset over the mountains.", "The cat sat on the mat.",
    "Thunder rumbled across the valley.", "A busy street market at night.", "Fresh bread from the bakery.",
    "The orchestra tuned their instruments.", "A red car parked by the river.", "Snow covered the quiet village.",
    "An old lighthouse on a rocky coast.", "Programming in Swift on Linux.", "Embeddings map text to vectors.",
    "Where is the nearest train station?", "The museum opens at nine.", "Bees buzz around the lavender.",
    "A toddler laughs at bubbles.", "The lecture covered quantum mechanics.", "Coffee with a splash of milk.",
    "Waves crash against the pier.", "The team celebrated their victory.", "Café au lait, s'il vous plaît.",
    "Das ist ein Haus.", "これは日本語の文です。", "Un perro juega en el parque.", "Emoji test 😀🐶🌳",
    "", "   ", "word " * 300, "UPPER CASE SENTENCE WITH SHOUTING!", "mixed-CASE, punctuation... and, commas;",
]


def tiny_vocab(minilm: Path) -> list:
    words = minilm.joinpath("vocab.txt").read_text(encoding="utf-8").split("\n")
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    # Common whole words and suffixes (ids 1996+ are ordinary tokens in BERT's uncased vocab).
    chosen = [w for w in words[1996:5000] if w and w not in specials][:800]
    pieces = [w for w in words if w.startswith("##")][:180]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789.,!?;:'\"()[]-")
    vocab = specials + sorted(set(letters + chosen + pieces) - set(specials), key=lambda s: (len(s), s))
    return vocab[:1000]


def write_tiny_bert(minilm: Path, name: str, pooling: str, normalize: bool, seed: int):
    out = HERE / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    out.joinpath("vocab.txt").write_text("\n".join(tiny_vocab(minilm)) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(out / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(str(out))
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(tokenizer.get_vocab()), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64, hidden_act="gelu")
    model = BertModel(config, add_pooling_layer=False)
    with torch.no_grad():
        for p in model.parameters():  # larger than the 0.02 init, so that errors would show
            p.normal_(0.0, 0.3)
    model.save_pretrained(str(out), safe_serialization=True)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    out.joinpath("modules.json").write_text(json.dumps(modules, indent=2))
    out.joinpath("1_Pooling").mkdir()
    out.joinpath("1_Pooling/config.json").write_text(json.dumps({
        "word_embedding_dimension": 32, "pooling_mode_cls_token": pooling == "cls",
        "pooling_mode_mean_tokens": pooling == "mean", "pooling_mode_max_tokens": pooling == "max",
        "pooling_mode_mean_sqrt_len_tokens": False}, indent=2))
    out.joinpath("sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 48, "do_lower_case": False}))
    reference = SentenceTransformer(str(out), device="cpu")
    reference.tokenizer.split_special_tokens = True  # Chorus reads "[SEP]" in a text as text, never as a control token
    vectors = reference.encode(TEXTS, convert_to_numpy=True, normalize_embeddings=False)
    write_expected(HERE / f"{name}.expected.json", TEXTS, vectors)


def write_expected(path: Path, texts, vectors):
    path.write_text(json.dumps({"texts": texts, "vectors": [[float(f"{v:.9g}") for v in row] for row in vectors]},
                               ensure_ascii=False))
    print(f"wrote {path}")


def main():
    minilm = Path(sys.argv[1]).resolve()
    torch.set_grad_enabled(False)
    write_tiny_bert(minilm, "tiny-bert-st", "mean", True, seed=1)
    write_tiny_bert(minilm, "tiny-bert-cls", "cls", False, seed=2)
    vectors = SentenceTransformer(str(minilm), device="cpu").encode(SENTENCES, convert_to_numpy=True)
    write_expected(HERE / "minilm.expected.json", SENTENCES, vectors)


if __name__ == "__main__":
    main()
