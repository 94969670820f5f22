"""Trains the starter space's audio head: a map from Whisper base's pooled encoder states (normalised) into the
starter's text space (all-MiniLM-L6-v2), and reports text -> audio retrieval on material held out by source.

    apt-get install espeak-ng flite sox tuxpaint-stamps-default tuxpaint-data hedgewars-data supertux-data \
        extremetuxracer-data frozen-bubble-data sound-theme-freedesktop oxygen-sounds \
        wesnoth-1.16-data lincity-ng-data pingus-data sound-icons fortunes
    scripts/setup && swift build -c release --product chorusd
    .venv/bin/pip install numpy && .venv/bin/python Models/train_audio_head.py

Pairs (sound, caption), all from real material:
  * sound effects of Debian game and desktop packages, captioned from their file names ("horse-canter.wav" ->
    "horse canter", "Oxygen-Im-Connection-Lost.ogg" -> "connection lost"), and Tux Paint's stamp sounds and spoken
    stamp descriptions with the stamp's description;
  * speech: sentences that are not generated from any grammar -- Debian package descriptions (`apt-cache
    dumpavail`), manual-page summaries (`man -k`), fortune cookies (Debian `fortunes`) -- spoken by espeak-ng with
    a random accent, voice variant, speed and pitch; held out besides: everyday sentences written for the purpose (Models/eval/heldout_sentences.txt),
    spoken by espeak-ng and by flite;
  * sox's synthetic tones and noises.
Held out (never seen while fitting or choosing): whole sound packages (HELD_OUT_PACKAGES), a fifth of the
sentences (by a hash) plus the everyday sentences, a quarter of espeak-ng's voice variants (by a hash) and all
of flite's voices (another synthesiser). The held-out speech is spoken only by held-out voices.

The head (ridge regression or a two-layer MLP) and its strength are chosen by recall on a validation slice of the
training sources (split by source again); the chosen head is refitted on all training pairs and written to
Models/heads/whisper-base-encoder/ (projection.safetensors, projection.json with the figures); scripts/fetch-models
copies it beside the converted encoder, where chorusd's starter space picks it up.
Vectors are computed by a release chorusd whose data directory (~/.cache/chorus-audio-head) keeps them between runs.
"""
import hashlib
import json
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate_starter_images import Daemon, ROOT, STAMPS, stubs  # noqa: E402
from evaluate_starter_images import embed as shared_embed  # noqa: E402

ENCODER = ROOT / "Models" / "whisper-base-encoder"
OUT = ROOT / "Models" / "heads" / "whisper-base-encoder"
HELD_OUT_SENTENCES = ROOT / "Models" / "eval" / "heldout_sentences.txt"
CACHE = Path.home() / ".cache" / "chorus-audio-head"
# Sound-effect packages: (package, path pattern the files must match, pattern they must not).
PACKAGES = [
    ("hedgewars-data", r"/Sounds/[^/]+\.ogg$", r"^$"),
    ("hedgewars-data:voices", r"/Sounds/voices/[^/]+/[^/]+\.ogg$", r"^$"),
    ("supertux-data", r"/sounds/", r"^$"),
    ("extremetuxracer-data", r"\.wav$", r"^$"),
    ("frozen-bubble-data", r"/snd/", r"mainzik|introzik"),
    ("tuxpaint-data", r"/sounds/", r"^$"),
    ("sound-theme-freedesktop", r"\.oga$", r"audio-channel"),
    ("oxygen-sounds", r"\.ogg$", r"^$"),
    ("wesnoth-1.16-data", r"/sounds/", r"/music/|/ambient/"),
    ("lincity-ng-data", r"/sounds/", r"/music/"),
    ("pingus-data", r"/sounds/", r"^$"),
    ("sound-icons", r"\.wav$", r"^$"),
]
HELD_OUT_PACKAGES = {"wesnoth-1.16-data", "lincity-ng-data", "pingus-data", "sound-icons"}
# Words in file names that say nothing about the sound.
NOISE_WORDS = {"oxygen", "sys", "im", "snd", "sfx", "sound", "wav", "ogg", "the", "x", "remix", "01", "02"}
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
ACCENTS = ["en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029"]
FLITE_VOICES = ["slt", "rms", "awb", "kal16"]
SPEECH_TRAIN, SPEECH_REPORT, FORTUNES = 3200, 160, 2000


def digest(text, salt=""):
    return hashlib.sha256((salt + text).encode()).digest()


def caption_from_name(path):
    """'Oxygen-Im-Connection-Lost.ogg' -> 'connection lost'; 'shotgunreload' stays one word (MiniLM's word pieces
    still see 'shotgun')."""
    stem = re.sub(r"([a-z])([A-Z])", r"\1 \2", Path(path).stem)
    words = [w for w in re.split(r"[\s_\-.]+", stem.lower()) if w and not w.isdigit() and w not in NOISE_WORDS]
    words = [re.sub(r"\d+$", "", w) for w in words]
    return " ".join(w for w in words if w)


def package_files(package, keep, drop):
    name = package.split(":")[0]
    listed = subprocess.run(["dpkg", "-L", name], capture_output=True, text=True)
    if listed.returncode != 0:
        raise SystemExit(f"{name} is not installed (apt-get install {name})")
    return sorted(p for p in listed.stdout.split("\n") if re.search(r"\.(ogg|oga|wav)$", p) and re.search(keep, p) and not re.search(drop, p))


def sentences():
    """(source, sentence): package descriptions and manual-page summaries (by a hash), then FORTUNES sentences of
    the fortune cookies (everyday English, quotes and jokes); and the held-out everyday sentences."""
    found = {}
    dump = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True).stdout
    for line in dump.split("\n"):
        if line.startswith("Description: "):
            text = line[len("Description: "):].strip()
            if 4 <= len(text.split()) <= 14 and re.fullmatch(r"[A-Za-z][A-Za-z0-9 ,'()/+.-]+", text):
                found.setdefault(text.lower(), ("descriptions", text))
    whatis = subprocess.run(["man", "-k", "."], capture_output=True, text=True).stdout
    for line in whatis.split("\n"):
        match = re.match(r"\S+ \((1|8)\)\s+- (.+)$", line)
        if match and "unknown subject" not in match.group(2):
            text = match.group(2).strip()
            if 4 <= len(text.split()) <= 14 and re.fullmatch(r"[A-Za-z][A-Za-z0-9 ,'()/+.-]+", text):
                found.setdefault(text.lower(), ("manuals", text))
    chosen = sorted(found.values(), key=lambda s: digest(s[1]))[:SPEECH_TRAIN * 2]
    fortunes = set()
    for file in sorted(Path("/usr/share/games/fortunes").glob("*")):
        if file.is_file() and "." not in file.name:
            for entry in file.read_text(encoding="utf-8", errors="replace").split("\n%\n"):
                for text in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", entry).strip()):
                    if 5 <= len(text.split()) <= 16 and re.fullmatch(r"[A-Z][A-Za-z ,'-]+[.!?]", text):
                        fortunes.add(("fortunes", text))
    chosen += sorted(fortunes, key=lambda s: digest(s[1]))[:FORTUNES]
    everyday = [("everyday", line.strip()) for line in HELD_OUT_SENTENCES.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    return chosen, everyday


def held_out_sentence(text):
    return digest(text, "sentence")[0] % 5 == 0


def espeak_variants():
    folder = Path("/usr/lib/x86_64-linux-gnu/espeak-ng-data/voices/!v")
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def held_out_variant(name):
    return digest(name, "variant")[0] % 4 == 0


def speak(work, index, text, voice, rng):
    path = work / f"speech-{index}.wav"
    if voice[0] == "flite":
        subprocess.run(["flite", "-voice", voice[1], "-t", text, "-o", str(path)], check=True)
    else:
        accent, variant = voice[1], voice[2]
        speed, pitch = str(rng.randint(120, 210)), str(rng.randint(25, 75))
        subprocess.run(["espeak-ng", "-v", f"{accent}+{variant}", "-s", speed, "-p", pitch, "-w", str(path), text], check=True,
                       stderr=subprocess.DEVNULL)
    return path


def pairs(work):
    """(source, split, kind, audio path, caption); split is train or report."""
    found = []
    for txt in sorted(STAMPS.rglob("*.txt")):
        caption = txt.read_text(encoding="utf-8", errors="replace").splitlines()[0].strip() if txt.stat().st_size else ""
        if not caption or "=" in caption:
            continue
        for sound in (txt.with_suffix(".ogg"), txt.with_name(txt.stem + "_desc.ogg")):
            if sound.exists():
                found.append(("tuxpaint-stamps-default", "train", "effect", sound, caption))
    voices_rng = random.Random(11)
    for package, keep, drop in PACKAGES:
        files = package_files(package, keep, drop)
        if package.endswith(":voices"):  # 839 short phrases in ~60 voice packs: a sample
            files = sorted(voices_rng.sample(files, 240))
        split = "report" if package.split(":")[0] in HELD_OUT_PACKAGES else "train"
        kind = "speech" if package.endswith(":voices") else "effect"
        for path in files:
            caption = caption_from_name(path)
            if len(caption) >= 3:
                found.append((package, split, kind, Path(path), caption))
    rng = random.Random(7)
    variants = espeak_variants()
    train_variants = [v for v in variants if not held_out_variant(v)]
    report_variants = [v for v in variants if held_out_variant(v)]
    pool, everyday = sentences()
    train_sentences = [s for s in pool if s[0] != "fortunes" and not held_out_sentence(s[1])][:SPEECH_TRAIN]
    train_sentences += [s for s in pool if s[0] == "fortunes" and not held_out_sentence(s[1])]
    report_sentences = [s for s in pool if s[0] != "fortunes" and held_out_sentence(s[1])][:SPEECH_REPORT - len(everyday)] + everyday
    index = 0
    for source, text in train_sentences:
        voice = ("espeak-ng", rng.choice(ACCENTS), rng.choice(train_variants))
        found.append((f"speech:{source}", "train", "speech", speak(work, index, text, voice, rng), text))
        index += 1
    for number, (source, text) in enumerate(report_sentences):
        # Each held-out sentence once by a held-out espeak-ng variant and once by flite.
        for voice in (("espeak-ng", rng.choice(ACCENTS), rng.choice(report_variants)), ("flite", FLITE_VOICES[number % len(FLITE_VOICES)])):
            found.append((f"speech:{source}:{voice[0]}", "report", "speech", speak(work, index, text, voice, rng), text))
            index += 1
    for number, (recipe, caption) in enumerate(SOX):
        for variant, rate in enumerate(("22050", "44100")):
            path = work / f"sox-{number}-{variant}.wav"
            subprocess.run(["sox", "-n", "-r", rate, "-c", "1", str(path)] + recipe, check=True)
            found.append(("sox", "train", "effect", path, caption))
    return found


def embed(daemon, space, inputs, batch=16):
    return np.array(shared_embed(daemon, inputs, batch=batch, space=space), dtype=np.float64)


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def fit_ridge(x, y, strength):
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    w = np.linalg.solve(xc.T @ xc + strength * np.eye(x.shape[1]), xc.T @ yc)
    return {"kind": "linear", "weight": w.T, "bias": my - mx @ w}


def fit_mlp(x, y, decay, hidden=512, steps=1500, seed=0):
    """Two layers (x -> GELU(x W1 + b1) W2 + b2), full-batch Adam on 1 - cosine to the caption vectors."""
    rng = np.random.default_rng(seed)
    params = {"w1": rng.normal(0, 1 / np.sqrt(x.shape[1]), (x.shape[1], hidden)), "b1": np.zeros(hidden),
              "w2": rng.normal(0, 1 / np.sqrt(hidden), (hidden, y.shape[1])), "b2": np.zeros(y.shape[1])}
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
    target = unit(y)
    for step in range(1, steps + 1):
        h = x @ params["w1"] + params["b1"]
        g = gelu(h)
        out = g @ params["w2"] + params["b2"]
        norm = np.linalg.norm(out, axis=1, keepdims=True)
        cosine = (out * target).sum(1, keepdims=True) / norm
        d_out = -(target / norm - cosine * out / norm ** 2) / len(x)
        grads = {"w2": g.T @ d_out, "b2": d_out.sum(0)}
        d_h = (d_out @ params["w2"].T) * gelu_grad(h)
        grads |= {"w1": x.T @ d_h, "b1": d_h.sum(0)}
        for k in params:
            if k.startswith("w"):
                grads[k] += decay * params[k]
            m, v = moments[k]
            m[:] = 0.9 * m + 0.1 * grads[k]
            v[:] = 0.999 * v + 0.001 * grads[k] ** 2
            params[k] -= 1e-3 * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    return {"kind": "mlp", **params}


def erf(x):
    """Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7): numpy has no vectorised erf."""
    t = 1 / (1 + 0.3275911 * np.abs(x))
    y = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * np.exp(-x * x)
    return np.sign(x) * y


def gelu(x):  # the erf GELU, as chorusd computes it
    return 0.5 * x * (1 + erf(x / np.sqrt(2)))


def gelu_grad(x):
    return 0.5 * (1 + erf(x / np.sqrt(2))) + x * np.exp(-x * x / 2) / np.sqrt(2 * np.pi)


def apply(head, x):
    if head["kind"] == "linear":
        return x @ head["weight"].T + head["bias"]
    return gelu(x @ head["w1"] + head["b1"]) @ head["w2"] + head["b2"]


def recall(audio, texts, captions, ks=(1, 5), queries=None):
    """Each distinct caption (of `queries`, default all) ranks all the set's sounds; a hit when one of its own
    sounds is in the top k."""
    audio = unit(audio)
    hits = {k: 0 for k in ks}
    distinct = sorted(set(queries if queries is not None else captions))
    for caption in distinct:
        query = texts[captions.index(caption)]
        order = np.argsort(-(audio @ query))
        own = {i for i, c in enumerate(captions) if c == caption}
        for k in ks:
            hits[k] += bool(own & set(order[:k].tolist()))
    return {f"recall@{k}": round(hits[k] / len(distinct), 4) for k in ks} | {"captions": len(distinct), "sounds": len(captions),
                                                                         "chance@1": round(1 / len(captions), 4)}


def first_among_five(audio, texts, captions, seed=3):
    """Groups of five clips of different sentences: how often each clip's own sentence ranks first of the five."""
    order = list(range(len(captions)))
    random.Random(seed).shuffle(order)
    wins = total = 0
    for start in range(0, len(order) - 4, 5):
        group = order[start:start + 5]
        if len({captions[i] for i in group}) < 5:
            continue
        for i in group:
            scores = [unit(audio[i]) @ texts[j] for j in group]
            wins += int(np.argmax(scores) == group.index(i))
            total += 1
    return {"first_among_five": round(wins / max(total, 1), 4), "clips": total, "chance": 0.2}


def evaluate(head, audio, texts, everything, rows):
    predicted = apply(head, audio[rows])
    captions = [everything[i][4] for i in rows]
    result = {"all": recall(predicted, texts[rows], captions)}
    for label, test in (("sound effects", lambda e: e[2] == "effect"), ("speech", lambda e: e[2] == "speech")):
        own = [i for i in rows if test(everything[i])]
        if own:
            result[label] = recall(predicted, texts[rows], captions, queries=[everything[i][4] for i in own])
    sources = sorted({everything[i][0] for i in rows})
    for source in sources:
        own = [i for i in rows if everything[i][0] == source]
        result[source] = recall(apply(head, audio[own]), texts[own], [everything[i][4] for i in own])
        if everything[own[0]][2] == "speech":
            result[source] |= first_among_five(apply(head, audio[own]), texts[own], [everything[i][4] for i in own])
    return result


def main():
    stubs()
    work = Path(tempfile.mkdtemp(prefix="chorus-audio-head-"))
    bare = work / "whisper-base-bare"  # the encoder alone, without any installed head
    bare.mkdir()
    for name in ("model.safetensors", "config.json", "preprocessor_config.json"):
        (bare / name).symlink_to(ENCODER / name)
    CACHE.mkdir(parents=True, exist_ok=True)
    try:
        everything = pairs(work)
        print(f"{len(everything)} sound-caption pairs", flush=True)
        daemon = Daemon(ROOT / "Models" / "all-MiniLM-L6-v2", str(CACHE), extra_args=("--model", f"whisper={bare}"))
        try:
            audio = embed(daemon, "whisper", [{"audio": e[3].read_bytes()} for e in everything])
            texts = embed(daemon, "starter", [{"text": e[4]} for e in everything], batch=64)
        finally:
            daemon.stop()
        # For trying other heads on the same vectors without a daemon.
        np.savez(CACHE / "vectors.npz", audio=audio, texts=texts, pairs=np.array([[e[0], e[1], e[2], str(e[3]), e[4]] for e in everything]))
        train = [i for i, e in enumerate(everything) if e[1] == "train"]
        report = [i for i, e in enumerate(everything) if e[1] == "report"]
        # Validation: a slice of the training sources (whole packages, whole sentences) held out while choosing.
        inner = [i for i in train if digest(everything[i][0] + everything[i][4], "validation")[0] % 5 == 0]
        fit_on = [i for i in train if i not in set(inner)]
        candidates = [("ridge", s) for s in (0.01, 0.1, 1.0, 3.0, 10.0)] + [("mlp", 1e-3)]
        best = None
        for kind, strength in candidates:
            fitted = fit_ridge(audio[fit_on], texts[fit_on], strength) if kind == "ridge" else fit_mlp(audio[fit_on], texts[fit_on], strength)
            scores = recall(apply(fitted, audio[inner]), texts[inner], [everything[i][4] for i in inner])
            print(json.dumps({"head": kind, "strength": strength, "validation": scores}), flush=True)
            if best is None or scores["recall@1"] + scores["recall@5"] > best[2]:
                best = (kind, strength, scores["recall@1"] + scores["recall@5"])
        kind, strength, _ = best
        head = fit_ridge(audio[train], texts[train], strength) if kind == "ridge" else fit_mlp(audio[train], texts[train], strength)
        result = {"head": kind, "strength": strength, "train_pairs": len(train), "report_pairs": len(report),
                  "held_out": evaluate(head, audio, texts, everything, report),
                  "training_like": evaluate(head, audio, texts, everything, inner)}
        print(json.dumps(result, indent=1), flush=True)
        OUT.mkdir(parents=True, exist_ok=True)
        if kind == "linear" or kind == "ridge":
            tensors = {"weight": head["weight"], "bias": head["bias"]}
        else:
            tensors = {"0.weight": head["w1"].T, "0.bias": head["b1"], "2.weight": head["w2"].T, "2.bias": head["b2"]}
        write_safetensors(OUT / "projection.safetensors", tensors)
        (OUT / "projection.json").write_text(json.dumps({
            "target": "all-MiniLM-L6-v2", "input": "L2-normalised mean of Whisper base's last encoder states",
            "layers": "linear" if kind == "ridge" else "linear-gelu-linear",
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
