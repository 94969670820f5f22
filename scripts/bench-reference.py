#!/usr/bin/env python3
"""PyTorch side of `chorus-bench text`: the reference implementation on the same weights, same inputs, same threads.

Commands (each prints one JSON object on stdout):
  make-clip-b32 DIR BPE_DIR      write a CLIPModel of ViT-B/32's shape with random weights (seeded) to DIR,
                                 with CLIP's tokenizer from BPE_DIR
  throughput KIND DIR BATCH SECONDS TEXTS_JSON
                                 texts/s of tokenizer + model, KIND = st (SentenceTransformer.encode) or
                                 clip (CLIPModel text_embeds)
  embed KIND DIR TEXTS_JSON      reference vectors (normalised) for parity checks
  vision DIR BATCH SECONDS PIXELS_FILE
                                 images/s of CLIPModel.get_image_features on preprocessed pixels (model only),
                                 and the features of the first image for a parity check

Needs torch, transformers, sentence-transformers (a venv outside the repo; CI never runs this).
"""
import json
import sys
import time

import torch

torch.set_num_threads(2)
torch.set_grad_enabled(False)


def load(kind, directory):
    if kind == "st":
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(directory, device="cpu")
        return lambda texts: model.encode(texts, batch_size=len(texts), convert_to_numpy=True)
    from transformers import CLIPModel, CLIPTokenizer

    model = CLIPModel.from_pretrained(directory).eval()
    tokenizer = CLIPTokenizer.from_pretrained(directory)

    def run(texts):
        batch = tokenizer(texts, padding=True, truncation=True, max_length=77, return_tensors="pt")
        features = model.get_text_features(**batch)
        features = features.pooler_output if hasattr(features, "pooler_output") else features
        return torch.nn.functional.normalize(features, dim=-1).numpy()

    return run


def main():
    command = sys.argv[1]
    if command == "make-clip-b32":
        from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

        directory, bpe = sys.argv[2], sys.argv[3]
        torch.manual_seed(32)
        model = CLIPModel(CLIPConfig())  # defaults are ViT-B/32: text width 512, 12 layers, 8 heads
        model.save_pretrained(directory, safe_serialization=True)
        CLIPTokenizer.from_pretrained(bpe).save_pretrained(directory)
        print(json.dumps({"written": directory}))
    elif command == "throughput":
        kind, directory, batch, seconds, texts = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), json.load(open(sys.argv[6]))
        run = load(kind, directory)
        chunk = (texts * (batch // len(texts) + 1))[:batch]
        for _ in range(3):
            run(chunk)
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            run(chunk)
            done += len(chunk)
        print(json.dumps({"texts_per_second": done / (time.perf_counter() - start)}))
    elif command == "embed":
        kind, directory, texts = sys.argv[2], sys.argv[3], json.load(open(sys.argv[4]))
        print(json.dumps({"vectors": load(kind, directory)(texts).tolist()}))
    elif command == "vision":
        import numpy as np
        from transformers import CLIPModel

        directory, batch, seconds, pixels_file = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
        model = CLIPModel.from_pretrained(directory).eval()
        size = model.config.vision_config.image_size
        pixels = torch.from_numpy(np.fromfile(pixels_file, dtype=np.float32).reshape(-1, 3, size, size))[:batch]

        def run():
            out = model.get_image_features(pixel_values=pixels)
            return out.pooler_output if hasattr(out, "pooler_output") else out

        first = run()[0].tolist()
        for _ in range(2):
            run()
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            run()
            done += batch
        print(json.dumps({"images_per_second": done / (time.perf_counter() - start), "first": first}))
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
