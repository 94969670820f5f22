"""Measures the starter space's text -> image retrieval (MiniLM text, EfficientNet-Lite0 + ConSE images) through a
real chorusd, and tunes the ConSE head's settings on a split kept apart from the one reported.

    apt-get install tuxpaint-stamps-default      # ~800 pictures, each with a one-line English description
    scripts/setup && scripts/fetch-test-data
    .venv/bin/python Models/evaluate_starter_images.py [--tune]

Captioned images: every Tux Paint stamp PNG with its .txt description (first line), and the scikit-image photos
with the captions below. Each pair goes to the "tune" or the "report" split by a hash of its path. Retrieval: each
caption ranks all images of its split by cosine; recall@k is the share of captions whose own image is in the top k
(image_to_text@k: each image ranks the captions).
--tune tries the head settings of GRID on the tune split (a chorusd per setting, on a copy of the model directory
whose config.json differs only in "conse"), then reports the chosen one (Models/convert_efficientnet_lite.py) on the
report split. Without --tune it reports the installed settings on both splits.
"""
import argparse
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
GRID = {
    "templates": [["a photo of a {}."], ["a photo of a {}.", "a drawing of a {}.", "a {}."], ["a {}."]],
    "top_t": [1, 3, 5, 10, 20],
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

    def stop(self):
        self.channel.close()
        self.process.terminate()
        self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def embed(daemon, inputs, batch=32):
    from chorus.v1 import common_pb2, embedding_pb2, embedding_pb2_grpc
    stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
    vectors = []
    for start in range(0, len(inputs), batch):
        request = embedding_pb2.EmbedRequest(space="starter", inputs=[common_pb2.Input(**item) for item in inputs[start:start + batch]])
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


def model_copy(workdir, conse):
    """A starter models folder whose image model differs from the installed one only in config.json's "conse"."""
    folder = Path(tempfile.mkdtemp(prefix="models-", dir=workdir))
    (folder / "all-MiniLM-L6-v2").symlink_to(ROOT / "Models" / "all-MiniLM-L6-v2")
    image = folder / "efficientnet-lite0"
    image.mkdir()
    source = ROOT / "Models" / "efficientnet-lite0"
    for name in ("model.safetensors", "labels.txt", "preprocessor_config.json"):
        (image / name).symlink_to(source / name)
    config = json.loads((source / "config.json").read_text())
    config["conse"].update(conse)
    (image / "config.json").write_text(json.dumps(config))
    return folder / "all-MiniLM-L6-v2"


def evaluate(text_model, data_dir, data):
    daemon = Daemon(text_model, data_dir)
    try:
        started = time.monotonic()
        images = embed(daemon, [{"image": path.read_bytes()} for path, _ in data])
        texts = embed(daemon, [{"text": caption} for _, caption in data])
        scores = {**recall(texts, images), **recall(images, texts, name="image_to_text")}
        return scores, time.monotonic() - started
    finally:
        daemon.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tune", action="store_true")
    args = parser.parse_args()
    stubs()
    everything = pairs()
    splits = {name: [p for p in everything if split_of(p[0]) == name] for name in ("tune", "report")}
    print(f"{len(everything)} captioned images: tune {len(splits['tune'])}, report {len(splits['report'])}")
    workdir = tempfile.mkdtemp(prefix="chorus-eval-work-")
    data_dir = os.path.join(workdir, "data")
    try:
        if args.tune:
            results = []
            for templates in GRID["templates"]:
                for top_t in GRID["top_t"]:
                    scores, seconds = evaluate(model_copy(workdir, {"templates": templates, "top_t": top_t}), data_dir, splits["tune"])
                    results.append((scores["recall@1"], scores["recall@5"], templates, top_t))
                    print(json.dumps({"split": "tune", "templates": templates, "top_t": top_t, **scores, "seconds": round(seconds, 1)}), flush=True)
            best = max(results, key=lambda r: (r[0] + r[1], r[0]))
            print(json.dumps({"best_on_tune": {"templates": best[2], "top_t": best[3]}}))
        installed = ROOT / "Models" / "all-MiniLM-L6-v2"
        for name in ("tune", "report"):
            scores, seconds = evaluate(installed, data_dir, splits[name])
            chance = {f"chance@{k}": round(k / len(splits[name]), 4) for k in (1, 5)}
            print(json.dumps({"split": name, "settings": "installed", "pairs": len(splits[name]), **scores, **chance, "seconds": round(seconds, 1)}))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
