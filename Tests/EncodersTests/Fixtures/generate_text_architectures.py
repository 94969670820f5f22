"""Writes full-size parity fixtures for the text architectures users bring, on deterministic synthetic weights of
the real shapes (synthetic_weights.py; the tests rebuild model.safetensors from weights.manifest.json):

  xlm-roberta-base/   XLMRobertaModel (multilingual-e5-base / paraphrase-multilingual shape), the SentencePiece
                      Unigram tokenizer of Tests/TokenizersTests/Fixtures/xlmr-unigram, mean pooling + Normalize,
                      e5's prompts ("query: ", "passage: ")
  mpnet-base/         MPNetModel (all-mpnet-base-v2 shape), an MPNet WordPiece tokenizer (BERT's uncased vocabulary
                      from Models/all-MiniLM-L6-v2 with <s> <pad> </s> <unk> first and <mask> last: 30,527), mean
                      pooling + Normalize
  modernbert-base/    ModernBertModel (gte-modernbert-base / modernbert-embed-base shape: 22 layers, global every 3rd,
                      ±64 local windows), the byte-level BPE of Tests/TokenizersTests/Fixtures/roberta-bpe, mean
                      pooling + Normalize, nomic's prompts ("search_query: ", "search_document: ")
  qwen3-0.6b/         Qwen3Model (Qwen3-Embedding-0.6B shape: 28 layers, 16 query / 8 key-value heads of 128), the
                      Qwen-style BPE of Tests/TokenizersTests/Fixtures/qwen-bpe (<|endoftext|> appended), last-token
                      pooling + Normalize, an instruction prompt

Texts of the rotary models stop near 150 tokens (the long one is 8 sentences, past ModernBERT's 64-token
windows), so the debug-built tests stay quick.

Each gets <name>.expected.json: texts, prompt names and sentence-transformers' vectors. Run from the repository
root with a venv that has torch, transformers and sentence-transformers (never in CI):

    /path/to/venv/bin/python Tests/EncodersTests/Fixtures/generate_text_architectures.py
"""
import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer
from transformers import AutoModel, ModernBertConfig, MPNetConfig, MPNetTokenizerFast, Qwen3Config, XLMRobertaConfig

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_weights import fill  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]

TEXTS = [
    "a photo of a cat", "The river bank was flooded after the storm.", "I opened a new bank account today.",
    "Der schnelle braune Fuchs springt über den faulen Hund.", "東京は日本の首都です。", "مرحبا بالعالم",
    "नमस्ते दुनिया", "emoji 😀 and naïve café", "x", "The quick brown fox jumps over the lazy dog. " * 80,
]


def modules(directory, max_seq_length, prompts=None, pooling="mean", width=768):
    directory.joinpath("modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}], indent=2))
    directory.joinpath("1_Pooling").mkdir(exist_ok=True)
    directory.joinpath("1_Pooling/config.json").write_text(json.dumps({
        "word_embedding_dimension": width, "pooling_mode_cls_token": pooling == "cls", "pooling_mode_mean_tokens": pooling == "mean",
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_lasttoken": pooling == "lasttoken"}, indent=2))
    directory.joinpath("sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_seq_length, "do_lower_case": False}))
    if prompts:
        directory.joinpath("config_sentence_transformers.json").write_text(json.dumps({"prompts": prompts, "default_prompt_name": None}))


def build(name, config, tokenizer_files, max_seq_length, prompts=None, pooling="mean", texts=TEXTS, tokenizer_config=None):
    out = HERE / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    torch.manual_seed(0)
    model = AutoModel.from_config(config).eval()
    fill(model, out / "weights.manifest.json")
    config.save_pretrained(str(out))
    for source in tokenizer_files:
        shutil.copy(source, out / Path(source).name)
    modules(out, max_seq_length, prompts, pooling, config.hidden_size)
    if tokenizer_config:
        out.joinpath("tokenizer_config.json").write_text(json.dumps(dict(tokenizer_class="PreTrainedTokenizerFast", **tokenizer_config), indent=2))
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(out, tmp, dirs_exist_ok=True)
        model.save_pretrained(tmp, safe_serialization=True)
        reference = SentenceTransformer(tmp, device="cpu")
        reference.tokenizer.split_special_tokens = True
        runs = [{"prompt_name": None, "vectors": reference.encode(texts, convert_to_numpy=True).tolist()}]
        for prompt_name in (prompts or {}):
            runs.append({"prompt_name": prompt_name, "vectors": reference.encode(texts, prompt_name=prompt_name, convert_to_numpy=True).tolist()})
    for run in runs:
        run["vectors"] = [[float(f"{v:.9g}") for v in row] for row in run["vectors"]]
    HERE.joinpath(f"{name}.expected.json").write_text(json.dumps({"texts": texts, "runs": runs}, ensure_ascii=False))
    print(f"wrote {name}")


def mpnet_tokenizer(directory):
    words = (ROOT / "Models/all-MiniLM-L6-v2/vocab.txt").read_text(encoding="utf-8").split("\n")
    words = [w for w in words if w]
    vocab = ["<s>", "<pad>", "</s>", "<unk>"] + words + ["<mask>"]
    assert len(vocab) == 30527
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
        tokenizer = MPNetTokenizerFast.from_pretrained(tmp, do_lower_case=True)  # converts vocab.txt as transformers does
        tokenizer.save_pretrained(str(directory))
    for extra in ["vocab.txt", "special_tokens_map.json", "added_tokens.json"]:
        directory.joinpath(extra).unlink(missing_ok=True)
    return [directory / "tokenizer.json", directory / "tokenizer_config.json"]


SHORT_TEXTS = TEXTS[:-1] + ["The quick brown fox jumps over the lazy dog. " * 8]


def main():
    torch.set_grad_enabled(False)
    fixtures = HERE.parent.parent / "TokenizersTests/Fixtures"
    only = sys.argv[1:]
    if not only or "modernbert-base" in only:
        build("modernbert-base", ModernBertConfig(vocab_size=50368, hidden_size=768, intermediate_size=1152, num_hidden_layers=22,
                                                  num_attention_heads=12, max_position_embeddings=8192, global_attn_every_n_layers=3,
                                                  local_attention=128, norm_eps=1e-5, norm_bias=False, attention_bias=False, mlp_bias=False,
                                                  hidden_activation="gelu", pad_token_id=1, bos_token_id=0, eos_token_id=2, cls_token_id=0,
                                                  sep_token_id=2),
              [fixtures / "roberta-bpe/tokenizer.json"], 8192, {"search_query": "search_query: ", "search_document": "search_document: "},
              texts=SHORT_TEXTS, tokenizer_config={"pad_token": "<pad>", "cls_token": "<s>", "sep_token": "</s>", "unk_token": "<unk>", "mask_token": "<mask>"})
    if not only or "qwen3-0.6b" in only:
        build("qwen3-0.6b", Qwen3Config(vocab_size=151669, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                                         num_attention_heads=16, num_key_value_heads=8, head_dim=128, max_position_embeddings=32768,
                                         rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True, hidden_act="silu"),
              [fixtures / "qwen-bpe/tokenizer.json"], 32768,
              {"query": "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:", "document": ""},
              pooling="lasttoken", texts=SHORT_TEXTS, tokenizer_config={"pad_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "padding_side": "left"})
    if only:
        return
    xlmr = HERE.parent.parent / "TokenizersTests/Fixtures/xlmr-unigram"
    build("xlm-roberta-base", XLMRobertaConfig(vocab_size=250002, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                               intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1,
                                               layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2),
          [xlmr / "tokenizer.json"], 512, {"query": "query: ", "passage": "passage: "})
    with tempfile.TemporaryDirectory() as tmp:
        files = mpnet_tokenizer(Path(tmp))
        build("mpnet-base", MPNetConfig(vocab_size=30527, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                        intermediate_size=3072, max_position_embeddings=514, relative_attention_num_buckets=32,
                                        layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2), files, 384)


if __name__ == "__main__":
    main()
