"""Writes two CLAP directories of the published shapes with deterministic synthetic weights (synthetic_weights.py;
the tests rebuild model.safetensors from weights.manifest.json) and their <name>.expected.json:

  clap-htsat-unfused/   laion/clap-htsat-unfused: RoBERTa-base text tower, HTS-AT tiny (96 wide, depths 2-2-6-2)
                        without fusion; ClapFeatureExtractor with truncation "rand_trunc" (Slaney mel filters)
  clap-larger-fused/    laion/larger_clap_general: RoBERTa-base, HTS-AT base (128 wide, depths 2-2-12-2, 1024 out)
                        with the attentional feature fusion; truncation "fusion" (HTK filters, four views)

Both tokenize with the byte-level BPE of Tests/TokenizersTests/Fixtures/roberta-bpe (the embedding table keeps
RoBERTa's 50,265 rows). Expected: get_text_features for texts, get_audio_features for real audio files of several
formats and rates read as the reference reads audio (soundfile, channels averaged, soxr HQ to 48 kHz; clips up
to 10 s, each alone: with fusion, transformers marks the one clip of a batch "longer", so the fusion branch always
runs), and zero-shot probabilities (logits_per_audio.softmax).
Run from the repository root (never in CI):

    /path/to/venv-with-torch/bin/python Tests/EncodersTests/Fixtures/generate_clap_fixtures.py
"""
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import soundfile
import soxr
import torch
from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, PreTrainedTokenizerFast

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_weights import fill, set_constant  # noqa: E402

HERE = Path(__file__).resolve().parent
TESTS = HERE.parents[1]
AUDIO = TESTS / "MediaTests" / "Fixtures" / "audio"
FILES = ["speech.wav", "chord-stereo-44k.flac", "noise-48k.ogg", "sweep.mp3"]
TEXTS = ["the sound of rain on a tin roof", "a dog barking far away", "Ein Hund bellt.", "雨の音", "x", "music " * 60]
LABELS = ["speech", "a chord on a piano", "noise", "a rising tone", "a dog barking"]
TEMPLATE = "the sound of {}"


def read(path):
    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    return soxr.resample(mono, rate, 48000, quality="HQ").astype(np.float32)


def build(name, audio_config, truncation):
    out = HERE / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    config = ClapConfig(text_config={"vocab_size": 50265}, audio_config=audio_config, projection_dim=512)
    torch.manual_seed(0)
    model = ClapModel(config).eval()
    fill(model, out / "weights.manifest.json")
    # CLAP's initial temperature (1/0.07), so the probabilities are not all alike.
    set_constant(model, out / "weights.manifest.json", {"logit_scale_a": 2.6592, "logit_scale_t": 2.6592})
    config.save_pretrained(str(out))
    shutil.copy(TESTS / "TokenizersTests/Fixtures/roberta-bpe/tokenizer.json", out / "tokenizer.json")
    (out / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 512, "pad_token": "<pad>"}, indent=2))
    extractor = ClapFeatureExtractor(feature_size=64, sampling_rate=48000, hop_length=480, max_length_s=10, fft_window_size=1024,
                                     frequency_min=50, frequency_max=14000, truncation=truncation, padding="repeatpad")
    extractor.save_pretrained(str(out))
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(out / "tokenizer.json"), pad_token="<pad>")

    def texts(batch):
        ids = tokenizer(batch, padding=True, truncation=True, max_length=512, return_tensors="pt")
        with torch.no_grad():
            result = model.get_text_features(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"])
        return (result.pooler_output if hasattr(result, "pooler_output") else result)

    audio_vectors = []
    for file in FILES:
        features = extractor(read(AUDIO / file), sampling_rate=48000, return_tensors="pt")
        with torch.no_grad():
            result = model.get_audio_features(input_features=features["input_features"], is_longer=features["is_longer"])
        audio_vectors.append((result.pooler_output if hasattr(result, "pooler_output") else result)[0])
    audio_vectors = torch.stack(audio_vectors)
    labels = texts([TEMPLATE.format(label) for label in LABELS])
    logits = audio_vectors @ labels.t() * model.logit_scale_a.exp()
    (HERE / f"{name}.expected.json").write_text(json.dumps({
        "texts": TEXTS, "text_vectors": texts(TEXTS).tolist(), "files": FILES, "audio_vectors": audio_vectors.tolist(),
        "labels": LABELS, "template": TEMPLATE, "probabilities": logits.softmax(dim=-1).tolist(),
    }))
    print(name, sum(p.numel() for p in model.parameters()), "parameters; probabilities", logits.softmax(dim=-1)[0].tolist())


def main():
    build("clap-htsat-unfused", {"enable_fusion": False}, "rand_trunc")
    build("clap-larger-fused", {"enable_fusion": True, "fusion_type": "aff_2d", "depths": [2, 2, 12, 2], "patch_embeds_hidden_size": 128,
                                "hidden_size": 1024}, "fusion")


if __name__ == "__main__":
    main()
