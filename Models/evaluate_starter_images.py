"""Measures the starter space's text -> image retrieval (MiniLM text, EfficientNet-Lite0 + ConSE images) through a
real chorusd, and tunes the ConSE head's settings on a split kept apart from the ones reported.

    apt-get install tuxpaint-stamps-default tuxpaint-data mate-backgrounds plasma-workspace-wallpapers wordnet-base
    scripts/setup && scripts/fetch-test-data
    .venv/bin/python Models/evaluate_starter_images.py [--tune]

Captioned images:
  * tune / report: every Tux Paint stamp PNG (Debian tuxpaint-stamps-default) with its .txt description (first
    line) and the scikit-image photos with the captions below, split by a hash of the path;
  * held-out: real photos of three other Debian packages (tuxpaint-data's templates, mate-backgrounds,
    plasma-workspace-wallpapers) with captions written by hand after looking at each picture
    (Models/eval/heldout_photos.tsv); never used to choose anything.
Retrieval: each caption ranks all images of its set by cosine; recall@k is the share of captions whose own image is
in the top k (image_to_text@k: each image ranks the captions).
--tune computes the classifier's logits once (a chorusd serving the model without its head, raw vectors) and the
MiniLM vectors of every candidate prompt, then scores on the tune split every prompt recipe of
convert_efficientnet_lite.class_prompts, top T and softmax temperature, and the symmetric bottleneck (a query also
mapped onto the class distribution and blended with its own vector); the winner goes into the converter's constants.
Without --tune it measures the installed head through the daemon on every set.
"""
import argparse
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parents[1]
STAMPS = Path("/usr/share/tuxpaint/stamps")
PHOTOS = ROOT / "Tests" / "Data" / "skimage"
PHOTO_CAPTIONS = {
    "astronaut.png": "an astronaut in a space suit with the flag",
    "chelsea.png": "a tabby cat",
    "coffee.png": "a cup of coffee on a saucer",
    "rocket.jpg": "a rocket on the launch pad",
    "motorcycle_left.png": "a motorcycle parked in a garage",
    "coins.png": "old coins on a table",
    "camera.png": "a man with a camera on a tripod",
    "hubble_deep_field.jpg": "galaxies in deep space",
    "retina.jpg": "the retina of an eye",
    "brick.png": "a brick wall",
    "grass.png": "a close up of grass",
    "gravel.png": "gravel stones",
    "horse.png": "the silhouette of a horse",
    "page.png": "a page of printed text",
    "moon.png": "the surface of the moon",
}
HELD_OUT = ROOT / "Models" / "eval" / "heldout_photos.tsv"
GRID = {
    "recipe": ["photo", "photo+gloss", "photo+synonyms", "photo+gloss+synonyms"],
    "top_t": [1, 3, 5, 10, 20, 50],
    "temperature": [0.5, 1, 1.5, 2, 3],
    "query_blend": [0, 0.5, 0.7],  # the symmetric bottleneck: weight of the query's own vector (0: not used)
}


def pairs():
    found = []
    for txt in sorted(STAMPS.rglob("*.txt")):
        png = txt.with_suffix(".png")
        caption = txt.read_text(encoding="utf-8", errors="replace").splitlines()[0].strip() if txt.stat().st_size else ""
        if png.exists() and caption and "=" not in caption:
            found.append((png, caption))
    found += [(PHOTOS / name, caption) for name, caption in PHOTO_CAPTIONS.items()]
    return found


def held_out_pairs():
    rows = [r for r in csv.reader(HELD_OUT.open(encoding="utf-8"), delimiter="\t") if r and not r[0].startswith("#")]
    missing = sorted({package for package, path, _ in rows if not Path(path).exists()})
    if missing:
        raise SystemExit(f"held-out photos missing: apt-get install {' '.join(missing)}")
    return [(Path(path), caption, package) for package, path, caption in rows]


def split_of(path):
    return "tune" if hashlib.sha256(str(path.relative_to(path.parents[1])).encode()).digest()[0] % 2 == 0 else "report"


def stubs():
    out = Path(tempfile.mkdtemp(prefix="chorus-eval-pb-"))
    from grpc_tools import protoc
    protos = sorted(str(p.relative_to(ROOT / "Protos")) for p in (ROOT / "Protos" / "chorus").rglob("*.proto"))
    assert protoc.main(["protoc", f"-I{ROOT / 'Protos'}", f"--python_out={out}", f"--grpc_python_out={out}", *protos]) == 0
    sys.path.insert(0, str(out))


class Daemon:
    def __init__(self, starter_text_model, data_dir, extra_args=()):
        self.dir = tempfile.mkdtemp(prefix="chorus-eval-", dir="/tmp")
        self.socket = os.path.join(self.dir, "s.sock")
        self.process = subprocess.Popen([str(ROOT / ".build" / "release" / "chorusd"), "--socket", self.socket, "--data-dir", data_dir,
                                         "--starter-model", str(starter_text_model), "--log-level", "warning", *extra_args])
        self.channel = grpc.insecure_channel(f"unix://{self.socket}")
        grpc.channel_ready_future(self.channel).result(timeout=60)
        # Ready means warm: every encoder has run and the ConSE class prompts are embedded.
        from grpc_health.v1 import health_pb2, health_pb2_grpc
        health, deadline = health_pb2_grpc.HealthStub(self.channel), time.monotonic() + 600
        while health.Check(health_pb2.HealthCheckRequest(), timeout=5).status != health_pb2.HealthCheckResponse.SERVING:
            if time.monotonic() > deadline:
                raise SystemExit("chorusd did not become ready in 10 minutes")
            time.sleep(0.2)

    def stop(self):
        self.channel.close()
        self.process.terminate()
        self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def embed(daemon, inputs, batch=32, space="starter", raw=False):
    from chorus.v1 import common_pb2, embedding_pb2, embedding_pb2_grpc
    stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
    vectors = []
    for start in range(0, len(inputs), batch):
        request = embedding_pb2.EmbedRequest(space=space, inputs=[common_pb2.Input(**item) for item in inputs[start:start + batch]],
                                             options=embedding_pb2.EmbedOptions(raw=raw))
        for result in stub.Embed(request, timeout=600).results:
            if result.WhichOneof("outcome") != "embedding":
                raise SystemExit(f"embedding failed: {result.error.message}")
            vectors.append(list(result.embedding.vector))
    return vectors


def recall(queries, targets, ks=(1, 5), name="recall"):
    """Share of queries whose own target (same index) ranks in the top k by cosine (unit vectors: dot product)."""
    hits = {k: 0 for k in ks}
    for index, query in enumerate(queries):
        scores = [sum(a * b for a, b in zip(query, target)) for target in targets]
        rank = sorted(range(len(scores)), key=lambda i: -scores[i]).index(index)
        for k in ks:
            hits[k] += rank < k
    return {f"{name}@{k}": hits[k] / len(queries) for k in ks}


def evaluate(data_dir, data):
    daemon = Daemon(ROOT / "Models" / "all-MiniLM-L6-v2", data_dir)
    try:
        started = time.monotonic()
        images = embed(daemon, [{"image": path.read_bytes()} for path, _ in data])
        texts = embed(daemon, [{"text": caption} for _, caption in data])
        scores = {**recall(texts, images), **recall(images, texts, name="image_to_text")}
        return scores, time.monotonic() - started
    finally:
        daemon.stop()


def tune(workdir, data):
    """Scores every setting of GRID on `data` (the tune split) from raw logits and prompt vectors, in numpy, as
    chorusd's LabelHead.mix computes them."""
    import numpy as np
    from convert_efficientnet_lite import class_prompts, wordnet_classes
    source = ROOT / "Models" / "efficientnet-lite0"
    bare = Path(workdir) / "classifier"
    bare.mkdir()
    for name in ("model.safetensors", "labels.txt", "preprocessor_config.json"):
        (bare / name).symlink_to(source / name)
    config = json.loads((source / "config.json").read_text())
    del config["conse"]
    (bare / "config.json").write_text(json.dumps(config))
    labels = (source / "labels.txt").read_text().split("\n")[:1000]
    timm = next(Path(workdir).glob("timm-*.whl"), None) or fetch_timm(workdir)
    classes = wordnet_classes(timm, "/usr/share/wordnet/data.noun")
    recipes = {recipe: class_prompts(labels, classes, recipe) for recipe in GRID["recipe"]}
    texts = sorted({p for prompts in recipes.values() for own in prompts for p in own} | {c for _, c in data})
    daemon = Daemon(ROOT / "Models" / "all-MiniLM-L6-v2", os.path.join(workdir, "data"), extra_args=("--model", f"classifier={bare}"))
    try:
        logits = np.array(embed(daemon, [{"image": p.read_bytes()} for p, _ in data], space="classifier", raw=True))
        vectors = dict(zip(texts, np.array(embed(daemon, [{"text": t} for t in texts], batch=64))))
    finally:
        daemon.stop()
    unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)  # noqa: E731
    captions = unit(np.array([vectors[c] for _, c in data]))

    def conse(scores, embeddings, top, temperature):
        order = np.argsort(-scores, axis=1)[:, :top]
        picked = np.take_along_axis(scores, order, 1) / temperature
        weights = np.exp(picked - picked[:, :1])
        weights /= weights.sum(1, keepdims=True)
        return unit(np.einsum("rt,rtd->rd", weights, embeddings[order]))

    def recall_at(queries, targets):
        scores = queries @ targets.T
        rank = (scores > np.diag(scores)[:, None]).sum(1)
        return float((rank < 1).mean()), float((rank < 5).mean())

    results = []
    for recipe, prompts in recipes.items():
        embeddings = np.array([unit(np.mean([unit(vectors[p]) for p in own], 0)) for own in prompts])
        for top in GRID["top_t"]:
            for temperature in GRID["temperature"]:
                images = conse(logits, embeddings, top, temperature)
                for blend in GRID["query_blend"]:
                    queries = captions if blend == 0 else unit(blend * captions + (1 - blend) * conse(captions @ embeddings.T, embeddings, 10, 0.05))
                    r1, r5 = recall_at(queries, images)
                    results.append({"recipe": recipe, "top_t": top, "temperature": temperature, "query_blend": blend, "recall@1": r1, "recall@5": r5})
    results.sort(key=lambda r: (-(r["recall@1"] + r["recall@5"]), -r["recall@1"]))
    for r in results[:10]:
        print(json.dumps({"split": "tune", **r}))
    # The bottleneck would change every text vector of the space, so it has to win clearly to be built.
    print(json.dumps({"best_on_tune": results[0]}))
    print(json.dumps({"best_on_tune_without_query_blend": next(r for r in results if r["query_blend"] == 0)}))


def fetch_timm(workdir):
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "timm==1.0.31", "-d", workdir], check=True)
    return next(Path(workdir).glob("timm-*.whl"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tune", action="store_true")
    args = parser.parse_args()
    stubs()
    everything = pairs()
    splits = {name: [p for p in everything if split_of(p[0]) == name] for name in ("tune", "report")}
    held_out = held_out_pairs()
    print(f"{len(everything)} captioned images: tune {len(splits['tune'])}, report {len(splits['report'])}; held-out photos {len(held_out)}")
    workdir = tempfile.mkdtemp(prefix="chorus-eval-work-")
    data_dir = os.path.join(workdir, "data")
    try:
        if args.tune:
            tune(workdir, splits["tune"])
            return
        sets = {"held-out photos": [(p, c) for p, c, _ in held_out], "tune": splits["tune"], "report": splits["report"]}
        for package in sorted({k for _, _, k in held_out}):
            sets[f"held-out: {package}"] = [(p, c) for p, c, k in held_out if k == package]
        for name, data in sets.items():
            scores, seconds = evaluate(data_dir, data)
            chance = {f"chance@{k}": round(k / len(data), 4) for k in (1, 5)}
            print(json.dumps({"set": name, "settings": "installed", "pairs": len(data), **scores, **chance, "seconds": round(seconds, 1)}))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
