"""Writes the CLIP parity fixtures from the reference implementation (transformers):

- tiny-clip/: a tiny random CLIPModel (text and vision towers) with a byte-level BPE vocabulary cut down to
  CLIP's first 500 merges (vocab.json, merges.txt, tokenizer.json saved by transformers), and
  tiny-clip.expected.json with CLIPModel's text_embeds (normalised) for the texts below, plus
  get_text_features (raw) for the same texts.

    /path/to/venv-with-torch/bin/python Tests/EncodersTests/Fixtures/generate_clip_fixtures.py Models/clip-bpe
"""
import json
import shutil
import sys
from pathlib import Path

import torch
from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

HERE = Path(__file__).resolve().parent

TEXTS = [
    "", "a photo of a cat", "A PHOTO OF A DOG!", "it's a sunny day, isn't it?", "naïve café 北京 😀",
    "numbers 123 and 4.5", "<|endoftext|> in the middle", "word " * 100, "sunset over the mountains",
    "the quick brown fox jumps over the lazy dog",
]


def small_vocab(source: Path, target: Path, merges_kept: int):
    vocab = json.loads(source.joinpath("vocab.json").read_text(encoding="utf-8"))
    merges = source.joinpath("merges.txt").read_text(encoding="utf-8").split("\n")[1:1 + merges_kept]
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    base = [token for token, _ in by_id[:512]]
    tokens = base + ["".join(m.split()) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    target.joinpath("vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}, ensure_ascii=False), encoding="utf-8")
    target.joinpath("merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return len(tokens)


def main():
    source = Path(sys.argv[1]).resolve()
    out = HERE / "tiny-clip"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    vocab_size = small_vocab(source, out, 500)
    tokenizer = CLIPTokenizer.from_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    torch.manual_seed(3)
    config = CLIPConfig(
        text_config=dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         max_position_embeddings=77, hidden_act="quick_gelu", bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1,
                         pad_token_id=vocab_size - 1),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=32,
                           patch_size=8, hidden_act="quick_gelu"),
        projection_dim=24)
    model = CLIPModel(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    model.save_pretrained(str(out), safe_serialization=True)
    with torch.no_grad():
        # Chorus reads "<|endoftext|>" in a text as text, never as a control token.
        batch = tokenizer(TEXTS, padding=True, truncation=True, max_length=77, return_tensors="pt", split_special_tokens=True)
        raw = model.get_text_features(**batch)
        raw = raw.pooler_output if hasattr(raw, "pooler_output") else raw
        dummy = torch.zeros(1, 3, 32, 32)
        embeds = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], pixel_values=dummy).text_embeds
    HERE.joinpath("tiny-clip.expected.json").write_text(json.dumps({
        "texts": TEXTS,
        "vectors": [[float(f"{v:.9g}") for v in row] for row in embeds.tolist()],
        "raw": [[float(f"{v:.9g}") for v in row] for row in raw.tolist()],
    }, ensure_ascii=False))
    print("wrote tiny-clip and tiny-clip.expected.json")


if __name__ == "__main__":
    main()
