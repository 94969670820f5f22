#!/usr/bin/env python3
"""A tiny Whisper with random weights (the real architecture, small widths) and its encoder's embeddings of the
audio fixtures (Tests/MediaTests/Fixtures/audio/*.samples.f32, 16 kHz reference samples).

Embedding, as Chorus defines it for Whisper: WhisperFeatureExtractor → WhisperModel.encoder → mean of the last
hidden state over the first ⌈samples / 320⌉ frames (at most 1500) → L2-normalised. Also stored: the encoder's
last hidden state of the first clip at frames 0..3 (checks the layers before the pooling).

Run with the reference venv (torch, transformers, numpy).
"""
import glob
import json
import math
import os

import numpy as np
import torch
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

here = os.path.dirname(os.path.abspath(__file__))
audio = os.path.join(here, "..", "..", "MediaTests", "Fixtures", "audio")
out = os.path.join(here, "whisper-tiny-random")

torch.manual_seed(0)
config = WhisperConfig(
    vocab_size=64, num_mel_bins=80, d_model=64, encoder_layers=2, encoder_attention_heads=4, encoder_ffn_dim=128,
    decoder_layers=1, decoder_attention_heads=4, decoder_ffn_dim=128, max_source_positions=1500, max_target_positions=16,
    decoder_start_token_id=1, pad_token_id=0, bos_token_id=1, eos_token_id=2,
)
model = WhisperModel(config).eval()
# Random layer norms too, so the test notices a swapped or missing one.
with torch.no_grad():
    for name, parameter in model.named_parameters():
        if "layer_norm" in name:
            parameter.add_(0.2 * torch.randn_like(parameter))
model.save_pretrained(out, safe_serialization=True)
extractor = WhisperFeatureExtractor()
extractor.save_pretrained(out)

expected = {}
for path in sorted(glob.glob(os.path.join(audio, "*.samples.f32"))):
    name = os.path.basename(path)[: -len(".samples.f32")]
    samples = np.fromfile(path, dtype="<f4")
    features = extractor(samples, sampling_rate=16000, return_tensors="pt").input_features
    with torch.no_grad():
        hidden = model.encoder(features).last_hidden_state[0]
    frames = min(1500, math.ceil(len(samples) / 320))
    vector = hidden[:frames].mean(dim=0)
    vector = vector / vector.norm()
    expected[name] = {"frames": frames, "embedding": vector.tolist()}
    if "hidden_first_frames" not in expected:
        expected["hidden_first_frames"] = {"clip": name, "rows": hidden[:4].tolist()}
json.dump(expected, open(os.path.join(here, "whisper_expected.json"), "w"))
print({k: v.get("frames") for k, v in expected.items() if isinstance(v, dict)})
