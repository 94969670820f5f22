#!/usr/bin/env python3
"""Real Whisper base: transformers' embeddings of the audio fixtures with the encoder scripts/fetch-models makes
(Models/whisper-base-encoder: openai/whisper-base from the PyPI CTranslate2 halves, converted by
Models/convert_whisper_ct2.py). Embedding as Chorus defines it for Whisper (see generate_whisper_fixture.py).
Run with the reference venv after scripts/fetch-models.
"""
import glob
import json
import math
import os

import numpy as np
import torch
from transformers import WhisperFeatureExtractor, WhisperModel

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..", "..", "..")
audio = os.path.join(root, "Tests", "MediaTests", "Fixtures", "audio")
directory = os.path.join(root, "Models", "whisper-base-encoder")
encoder = WhisperModel.from_pretrained(directory).encoder.eval()
extractor = WhisperFeatureExtractor.from_pretrained(directory)
expected = {}
for path in sorted(glob.glob(os.path.join(audio, "*.samples.f32"))):
    name = os.path.basename(path)[: -len(".samples.f32")]
    samples = np.fromfile(path, dtype="<f4")
    with torch.no_grad():
        hidden = encoder(extractor(samples, sampling_rate=16000, return_tensors="pt").input_features).last_hidden_state[0]
    vector = hidden[: min(1500, math.ceil(len(samples) / 320))].mean(dim=0)
    expected[name] = (vector / vector.norm()).tolist()
json.dump(expected, open(os.path.join(here, "whisper_base_expected.json"), "w"))
print(sorted(expected))
