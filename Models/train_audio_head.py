"""Trains the starter space's audio head: a linear map from Whisper base's pooled encoder states (normalised) into
the starter's text space (all-MiniLM-L6-v2), fitted by ridge regression on pairs of real sounds and captions, and
reports text → audio recall on a split held out by source.

    apt-get install tuxpaint-stamps-default espeak-ng sox
    scripts/setup && swift build -c release --product chorusd
    .venv/bin/pip install numpy && .venv/bin/python Models/train_audio_head.py

Pairs: Tux Paint's sound effects with their stamp's description (first line of the .txt), the English spoken
descriptions (`*_desc.ogg`) with the same caption, espeak-ng saying generated sentences (caption: the sentence),
and sounds made by sox (tones, sweeps, noise, beeps) with a caption each. A pair goes to "train" or "report" by a
hash of its source (stamp, sentence, sox recipe), so a stamp's effect and spoken description stay together.
The ridge strength is chosen by recall on a slice of "train"; the head is then fitted on all of "train" and written
to Models/heads/whisper-base-encoder/ (projection.safetensors, projection.json); scripts/fetch-models copies it
beside the converted encoder, where chorusd's starter space picks it up.
"""
import hashlib
import itertools
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate_starter_images import Daemon, ROOT, STAMPS, stubs  # noqa: E402

ENCODER = ROOT / "Models" / "whisper-base-encoder"
OUT = ROOT / "Models" / "heads" / "whisper-base-encoder"
SUBJECTS = ["the dog", "a small cat", "my teacher", "the old man", "a little girl", "the farmer", "our neighbour", "the pilot",
            "a young boy", "the doctor", "the baker", "my sister", "the children", "a tall woman", "the singer"]
VERBS = ["is reading a book", "walks to the station", "plays the piano", "cooks dinner", "is painting the fence",
         "rides a bicycle", "is sleeping on the sofa", "drinks a cup of tea", "opens the window", "waters the flowers",
         "is driving a red car", "climbs the hill", "feeds the birds", "writes a letter", "is swimming in the lake"]
TIMES = ["this morning", "at night", "every Sunday", "after school", "in the rain", "before lunch", ""]
SOX = [  # (recipe, caption)
    (["synth", "2", "sine", "220"], "a low steady tone"), (["synth", "2", "sine", "1760"], "a high pitched whistle"),
    (["synth", "2", "sine", "200-2000"], "a rising siren sweep"), (["synth", "2", "sine", "2000-200"], "a falling whistle"),
    (["synth", "2", "whitenoise", "vol", "0.3"], "static white noise"), (["synth", "2", "pinknoise", "vol", "0.3"], "rushing wind noise"),
    (["synth", "2", "brownnoise", "vol", "0.4"], "a deep rumble like distant thunder"),
    (["synth", "0.15", "sine", "1000", "pad", "0", "0.35", "repeat", "4"], "beeping alarm"),
    (["synth", "0.05", "square", "800", "pad", "0", "0.45", "repeat", "5"], "a clock ticking"),
    (["synth", "2", "square", "110", "vol", "0.3"], "a buzzing electric hum"),
    (["synth", "2", "sawtooth", "440", "vol", "0.3"], "a harsh synthesizer note"),
    (["synth", "2", "sine", "440", "sine", "554", "sine", "659"], "a major chord"),
    (["synth", "2", "pluck", "330"], "a plucked guitar string"), (["synth", "1", "pluck", "220", "pluck", "440"], "plucked strings"),
    (["synth", "2", "sine", "300", "tremolo", "8", "80"], "a wobbling tone"), (["synth", "3", "pinknoise", "band", "500", "200", "vol", "0.6"], "the sound of ocean waves"),
]


def pairs(work):
    found = []  # (source key, audio path, caption)
    for txt in sorted(STAMPS.rglob("*.txt")):
        caption = txt.read_text(encoding="utf-8", errors="replace").splitlines()[0].strip() if txt.stat().st_size else ""
        if not caption or "=" in caption:
            continue
        for sound in (txt.with_suffix(".ogg"), txt.with_name(txt.stem + "_desc.ogg")):
            if sound.exists():
                found.append(("stamp:" + str(txt.relative_to(STAMPS).with_suffix("")), sound, caption))
    rng = random.Random(7)
    sentences = sorted({f"{s} {v} {t}".strip() + "." for s, v, t in itertools.product(SUBJECTS, VERBS, TIMES)})
    rng.shuffle(sentences)
    for index, sentence in enumerate(sentences[:400]):
        path = work / f"speech-{index}.wav"
        voice, speed = rng.choice(["en", "en-us", "en-gb-x-rp", "en+f3", "en-us+m3"]), rng.choice(["140", "170", "200"])
        subprocess.run(["espeak-ng", "-v", voice, "-s", speed, "-w", str(path), sentence[0].upper() + sentence[1:]], check=True)
        found.append(("speech:" + sentence, path, sentence))
    for index, (recipe, caption) in enumerate(SOX):
        for variant, rate in enumerate(("22050", "44100")):
            path = work / f"sox-{index}-{variant}.wav"
            subprocess.run(["sox", "-n", "-r", rate, "-c", "1", str(path)] + recipe, check=True)
            found.append((f"sox:{index}", path, caption))
    return found


def split_of(key):
    return "train" if hashlib.sha256(key.encode()).digest()[0] % 10 < 7 else "report"


def embed(daemon, space, inputs, batch=16):
    from chorus.v1 import common_pb2, embedding_pb2, embedding_pb2_grpc
    stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
    out = []
    for start in range(0, len(inputs), batch):
        request = embedding_pb2.EmbedRequest(space=space, inputs=[common_pb2.Input(**i) for i in inputs[start:start + batch]])
        for result in stub.Embed(request, timeout=900).results:
            if result.WhichOneof("outcome") != "embedding":
                raise SystemExit(f"embedding failed: {result.error.message}")
            out.append(list(result.embedding.vector))
    return np.array(out, dtype=np.float64)


def fit(x, y, strength):
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    w = np.linalg.solve(xc.T @ xc + strength * np.eye(x.shape[1]), xc.T @ yc)
    return w, my - mx @ w


def recall(audio, texts, captions, ks=(1, 5), queries=None):
    """Each distinct caption (of `queries`, default all) ranks all the split's sounds; a hit when one of its own
    sounds is in the top k."""
    audio = audio / np.linalg.norm(audio, axis=1, keepdims=True)
    hits = {k: 0 for k in ks}
    distinct = sorted(set(queries if queries is not None else captions))
    for caption in distinct:
        query = texts[captions.index(caption)]
        order = np.argsort(-(audio @ query))
        own = {i for i, c in enumerate(captions) if c == caption}
        for k in ks:
            hits[k] += bool(own & set(order[:k].tolist()))
    return {f"recall@{k}": hits[k] / len(distinct) for k in ks} | {"captions": len(distinct), "sounds": len(captions)}


def main():
    stubs()
    work = Path(tempfile.mkdtemp(prefix="chorus-audio-head-"))
    # The encoder alone (a copy of its folder without any installed head), served beside the starter's text.
    bare = work / "whisper-base-bare"
    bare.mkdir()
    for name in ("model.safetensors", "config.json", "preprocessor_config.json"):
        (bare / name).symlink_to(ENCODER / name)
    data = work / "data"
    try:
        everything = pairs(work)
        print(f"{len(everything)} sound-caption pairs", flush=True)
        daemon = Daemon(ROOT / "Models" / "all-MiniLM-L6-v2", str(data), extra_args=("--model", f"whisper={bare}"))
        try:
            audio = embed(daemon, "whisper", [{"audio": p.read_bytes()} for _, p, _ in everything])
            texts = embed(daemon, "starter", [{"text": c} for _, _, c in everything])
        finally:
            daemon.stop()
        split = [split_of(k) for k, _, _ in everything]
        train = [i for i, s in enumerate(split) if s == "train"]
        report = [i for i, s in enumerate(split) if s == "report"]
        # Ridge strength by recall on a held-out slice of train (by source again).
        inner = [i for i in train if hashlib.sha256(everything[i][0].encode()).digest()[1] % 4 == 0]
        fit_on = [i for i in train if i not in set(inner)]
        best = None
        for strength in (0.01, 0.1, 1.0, 3.0, 10.0, 30.0):
            w, b = fit(audio[fit_on], texts[fit_on], strength)
            scores = recall(audio[inner] @ w + b, texts[inner], [everything[i][2] for i in inner])
            print(json.dumps({"ridge": strength, "validation": scores}), flush=True)
            if best is None or scores["recall@1"] + scores["recall@5"] > best[1]:
                best = (strength, scores["recall@1"] + scores["recall@5"])
        w, b = fit(audio[train], texts[train], best[0])
        reported = recall(audio[report] @ w + b, texts[report], [everything[i][2] for i in report])
        chance = {f"chance@{k}": round(k / reported["sounds"], 4) for k in (1, 5)}
        captions = [everything[i][2] for i in report]
        by_source = {}
        for kind in ("stamp:", "speech:", "sox:"):
            own = [everything[i][2] for i in report if everything[i][0].startswith(kind)]
            by_source[kind[:-1]] = recall(audio[report] @ w + b, texts[report], captions, queries=own) if own else {}
        result = {"ridge": best[0], "train_pairs": len(train), "report": reported | chance, "report_by_source": by_source}
        print(json.dumps(result), flush=True)
        OUT.mkdir(parents=True, exist_ok=True)
        write_safetensors(OUT / "projection.safetensors", {"weight": w.T.astype(np.float32), "bias": b.astype(np.float32)})
        (OUT / "projection.json").write_text(json.dumps({
            "target": "all-MiniLM-L6-v2", "input": "L2-normalised mean of Whisper base's last encoder states",
            "trained_by": "Models/train_audio_head.py", **result}, indent=2) + "\n")
        print(f"wrote {OUT}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


if __name__ == "__main__":
    main()
