"""Writes wordpiece_minilm.jsonl: a varied corpus and the token ids Hugging Face's tokenizer gives for it with
the all-MiniLM-L6-v2 tokenizer (max_length 256, as SentenceTransformer uses it). Reference: `transformers`.

    /path/to/venv-with-transformers/bin/python Tests/TokenizersTests/Fixtures/generate_wordpiece.py Models/all-MiniLM-L6-v2
"""
import json
import random
import sys
from pathlib import Path

from transformers import AutoTokenizer

HAND_PICKED = [
    "", " ", "\t\n", "a dog playing in the park", "A Dog Playing In The PARK!", "Hello, world.",
    "naïve café résumé façade", "Crème brûlée à la mode", "Ångström Ørsted Łódź", "ﬁnancial ﬂow", "straße",
    "ΣΊΣΥΦΟΣ σίσυφος", "Привет, мир!", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก",
    "我爱北京天安门", "東京は日本の首都です。", "한국어 텍스트입니다", "混合 text 和 中文 characters",
    "emoji 😀🎉👍🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷", "❤️ love ✨ sparkle", "https://example.com/path?query=1&b=2#frag",
    "user@example.org wrote: <b>bold</b>", "C:\\Program Files\\app.exe", "$1,234.56 or €99,99 (15% off)",
    "3.14159 2.71828 1e-10 0x1F 1,000,000", "phone: +1 (555) 012-3456", "2026-11-25T04:29:00Z", "[CLS] hello [SEP] world [MASK]",
    "[unk] lower-case special", "tabs\there\tand\nnewlines\r\n", "zero\u200bwidth\u200cjoiners\u200d", "soft\u00adhyphen",
    "non\u00a0breaking\u2003spaces\u3000ideographic", "control\u0001chars\u0007here\u007f", "replacement \ufffd char",
    "combining e\u0301 a\u0300 n\u0303", "İstanbul ıi", "ǅungla ǈ ǋ", "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ", "½ ¼ ² ³ ℃ ™ ©",
    "--- ... !!! ??? ;;; :::", "«quotes» „low“ ‘single’ “double”", "dash – em — minus −", "(parens) [brackets] {braces}",
    "supercalifragilisticexpialidocious", "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "x" * 99, "y" * 100, "z" * 101, "word " * 300, "a" + "b" * 150 + " short",
    "The quick brown fox jumps over the lazy dog. " * 20, "unaffable unwanted running runner's",
    "Don't won't can't shouldn't I'm you're", "#hashtag @mention $ticker %percent ^caret &amp *star",
    "math: ∑ ∫ √ ∞ ≠ ≤ ≥ ± × ÷", "arrows ← → ↑ ↓ ⇒", "music ♩ ♪ ♫ ♬", "Ελληνικά κείμενο με τόνους",
    "Tiếng Việt có dấu", "Română: șțăîâ", "Türkçe: çğıöşü", "Polski: zażółć gęślą jaźń", "Čeština: příliš žluťoučký kůň",
]

WORDS = ("photo cat dog sunset beach mountain city night river forest music piano guitar rain thunder bird "
         "car train plane ocean snow winter summer happy sad running jumping red blue green yellow").split()
DECOR = ["", "!", "?", ",", ".", "...", " 😀", " café", " 北京", " #tag", " 42", " 3.5", " (x)", " naïve", "'s", "-like"]


def corpus():
    rng = random.Random(20261125)
    texts = list(HAND_PICKED)
    while len(texts) < 560:
        n = rng.randint(1, 18)
        words = []
        for _ in range(n):
            w = rng.choice(WORDS)
            if rng.random() < 0.3:
                w = w.capitalize() if rng.random() < 0.5 else w.upper()
            words.append(w + rng.choice(DECOR))
        texts.append(" ".join(words))
    return texts


def main():
    model = Path(sys.argv[1])
    tokenizer = AutoTokenizer.from_pretrained(str(model))
    assert tokenizer.is_fast
    out = Path(__file__).with_name("wordpiece_minilm.jsonl")
    with out.open("w", encoding="utf-8") as f:
        for text in corpus():
            ids = tokenizer(text, truncation=True, max_length=256)["input_ids"]
            full = tokenizer(text, truncation=False)["input_ids"]
            f.write(json.dumps({"text": text, "ids": ids, "truncated": len(full) > 256}, ensure_ascii=False) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
