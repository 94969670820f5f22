#!/usr/bin/env python3
"""Audio files and their reference samples and Whisper features (Tests/MediaTests/Fixtures/audio/).

Sources are real: speech from espeak-ng, tones and noise synthesised by sox. Each file is written in a common
container (WAV 16-bit, FLAC stereo 44.1 kHz, Ogg Vorbis, Ogg Opus, MP3) and read back the way the reference reads
audio: soundfile (libsndfile) floats, channels averaged (librosa.to_mono), resampled to 16 kHz by soxr HQ
(librosa's default `soxr_hq`). Stored per file: the 16 kHz samples (float32) and WhisperFeatureExtractor's
log-mel for the first 100 frames (float32, [80, 100]).

Run with the reference venv (transformers, soundfile, soxr, numpy); needs espeak-ng and sox on PATH.
"""
import json
import os
import subprocess
import tempfile

import numpy as np
import soundfile
import soxr
from transformers import WhisperFeatureExtractor

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "audio")
os.makedirs(here, exist_ok=True)
work = tempfile.mkdtemp()


def sh(*args):
    subprocess.run(args, check=True)


# Sources.
sh("espeak-ng", "-w", f"{work}/speech.wav", "-s", "170", "A small dog barks at the red car.")
sh("sox", "-n", "-r", "44100", "-c", "2", f"{work}/chord.wav", "synth", "1.2", "sine", "440", "sine", "660", "fade", "0.05", "1.2", "0.1")
sh("sox", "-n", "-r", "48000", "-c", "1", f"{work}/noise.wav", "synth", "0.8", "pinknoise", "vol", "0.3")
sh("sox", "-n", "-r", "16000", "-c", "1", f"{work}/sweep.wav", "synth", "1.0", "sine", "200-4000", "vol", "0.5")

files = {}
# (source, output name, soundfile format, subtype)
for source, name, fmt, subtype in [
    ("speech.wav", "speech.wav", "WAV", "PCM_16"),
    ("chord.wav", "chord-stereo-44k.flac", "FLAC", "PCM_16"),
    ("noise.wav", "noise-48k.ogg", "OGG", "VORBIS"),
    ("speech.wav", "speech.opus", "OGG", "OPUS"),
    ("sweep.wav", "sweep.mp3", "MP3", "MPEG_LAYER_III"),
]:
    data, rate = soundfile.read(f"{work}/{source}", dtype="float32", always_2d=True)
    if fmt == "OGG" and subtype == "OPUS" and rate not in (8000, 12000, 16000, 24000, 48000):
        data, rate = soxr.resample(data, rate, 48000, quality="HQ").astype(np.float32), 48000
    soundfile.write(f"{here}/{name}", data, rate, format=fmt, subtype=subtype)
    files[name] = rate

extractor = WhisperFeatureExtractor()
meta = {}
for name in sorted(files):
    data, rate = soundfile.read(f"{here}/{name}", dtype="float32", always_2d=True)
    mono = data.mean(axis=1, dtype=np.float32)
    samples = mono if rate == 16000 else soxr.resample(mono, rate, 16000, quality="HQ").astype(np.float32)
    samples.astype("<f4").tofile(f"{here}/{name}.samples.f32")
    features = extractor(samples, sampling_rate=16000, return_tensors="np").input_features[0]
    features[:, :100].astype("<f4").tofile(f"{here}/{name}.whisper100.f32")
    meta[name] = {"source_rate": rate, "channels": data.shape[1], "samples": int(len(samples))}
json.dump(meta, open(f"{here}/meta.json", "w"), indent=1, sort_keys=True)
print(json.dumps(meta, indent=1))
