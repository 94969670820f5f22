"""Writes bpe_clip.jsonl: the corpus of generate_wordpiece.py plus CLIP-specific strings, and the ids of the
Hugging Face fast CLIP tokenizer (max_length 77) built from Models/clip-bpe (vocab.json + merges.txt made by
scripts/fetch-models from the open_clip_torch wheel). Reference: `transformers`.

    /path/to/venv-with-transformers/bin/python Tests/TokenizersTests/Fixtures/generate_bpe.py Models/clip-bpe
"""
import json
import sys
from pathlib import Path

from transformers import CLIPTokenizer

sys.path.insert(0, str(Path(__file__).parent))
from generate_wordpiece import corpus  # noqa: E402

EXTRA = [
    "a photo of a cat", "A PHOTO OF A DOG", "<|startoftext|>already<|endoftext|> inside", "it's they're we've I'm you'll he'd",
    "don't 'quoted' ''double''", "12345 67.89", "x1y2z3", "hello\u00a0\u2003world", "tab\tseparated\nlines",
    "Ça va? Où est la gare?", "emoji🙂mixed🙂text", "ﬁ ligature", "e\u0301 vs é", "Ω ohm vs Ω omega",
]


def main():
    tokenizer = CLIPTokenizer.from_pretrained(sys.argv[1])
    assert tokenizer.is_fast
    assert tokenizer("a photo of a cat")["input_ids"] == [49406, 320, 1125, 539, 320, 2368, 49407], "not CLIP's vocabulary"
    out = Path(__file__).with_name("bpe_clip.jsonl")
    with out.open("w", encoding="utf-8") as f:
        for text in corpus() + EXTRA:
            ids = tokenizer(text, truncation=True, max_length=77)["input_ids"]
            full = tokenizer(text, truncation=False)["input_ids"]
            f.write(json.dumps({"text": text, "ids": ids, "truncated": len(full) > 77}, ensure_ascii=False) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
