#!/usr/bin/env python3
"""A tiny Audio Spectrogram Transformer with random weights (the real architecture, small widths) and its
embeddings of the audio fixtures (Tests/MediaTests/Fixtures/audio/*.samples.f32, 16 kHz reference samples).

Embedding, as Chorus defines it for AST: ASTFeatureExtractor (Kaldi fbank, 128 bins, 1024 frames, AudioSet
mean/std) → ASTModel → pooler_output (mean of the class and distillation tokens after the final norm) →
L2-normalised. Also stored per clip: the extractor's first 50 frames ([50, 128], ast50.f32 beside the samples)
for the front end's own parity test.

Run with the reference venv (torch, transformers, numpy). Without torchaudio, transformers computes the fbank
with its numpy path (the same Kaldi recipe).
"""
import glob
import json
import os

import numpy as np
import torch
from transformers import ASTConfig, ASTFeatureExtractor, ASTModel

here = os.path.dirname(os.path.abspath(__file__))
audio = os.path.join(here, "..", "..", "MediaTests", "Fixtures", "audio")
out = os.path.join(here, "ast-tiny-random")

torch.manual_seed(0)
config = ASTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, patch_size=16,
                   frequency_stride=10, time_stride=10, max_length=1024, num_mel_bins=128)
model = ASTModel(config).eval()
with torch.no_grad():
    for name, parameter in model.named_parameters():
        if "layernorm" in name or "token" in name:
            parameter.add_(0.2 * torch.randn_like(parameter))
model.save_pretrained(out, safe_serialization=True)
extractor = ASTFeatureExtractor()
extractor.save_pretrained(out)

expected = {}
for path in sorted(glob.glob(os.path.join(audio, "*.samples.f32"))):
    name = os.path.basename(path)[: -len(".samples.f32")]
    samples = np.fromfile(path, dtype="<f4")
    features = extractor(samples, sampling_rate=16000, return_tensors="pt").input_values
    features[0, :50].numpy().astype("<f4").tofile(os.path.join(audio, name + ".ast50.f32"))
    with torch.no_grad():
        pooled = model(features).pooler_output[0]
    expected[name] = {"embedding": (pooled / pooled.norm()).tolist()}
json.dump(expected, open(os.path.join(here, "ast_expected.json"), "w"))
print(sorted(expected))
