#!/usr/bin/env python3
"""PyTorch side of `chorus-bench text`: the reference implementation on the same weights, same inputs, same threads.

Commands (each prints one JSON object on stdout):
  make-clip-b32 DIR BPE_DIR      write a CLIPModel of ViT-B/32's shape with random weights (seeded) to DIR,
                                 with CLIP's tokenizer from BPE_DIR
  throughput KIND DIR BATCH SECONDS TEXTS_JSON
                                 texts/s of tokenizer + model, KIND = st (SentenceTransformer.encode),
                                 clip (CLIPModel text_embeds), st-ort or st-ort-int8 (the transformer exported to
                                 ONNX, fp32 or quantize_dynamic int8, in ONNX Runtime; mean pooling in numpy)
  embed KIND DIR TEXTS_JSON      reference vectors (normalised) for parity checks
  vision MODEL RUNTIME DIR BATCH SECONDS PIXELS_FILE
                                 images/s of the network alone on preprocessed pixels, MODEL = clip
                                 (CLIPModel.get_image_features) or effnet (EfficientNet-Lite0 logits,
                                 efficientnet_lite_pytorch), RUNTIME = torch, ort (ONNX Runtime on the exported
                                 graph, 2 threads) or ort-int8 (that graph through quantize_dynamic: int8 weights
                                 per channel); and the output of the first image for a parity check
  make-audio MODEL DIR          write a model of MODEL's shape with random weights (seeded) and its feature
                                 extractor to DIR: whisper-base (WhisperModel, its encoder as published; a 1-layer
                                 decoder with a small vocabulary keeps the file small) or ast-base (ASTModel)
  audio MODEL DIR BATCH SECONDS FILE [RUNTIME]
                                 10-second clips/s of the encoder alone on features of FILE (already 16 kHz mono
                                 float32 samples), and the first clip's embedding for a parity check; RUNTIME =
                                 torch (default), ort or ort-int8 (whisper-base and ast-base)
  audio-end-to-end MODEL DIR BATCH SECONDS FILE
                                 clips/s of soundfile + channel mean + soxr HQ + the feature extractor + the encoder
                                 on an audio file
  vision-end-to-end MODEL DIR SECONDS FILE...
                                 images/s of load_image + CLIPImageProcessorPil + the network on image files

Needs torch, transformers, sentence-transformers, onnx, onnxruntime, efficientnet_lite_pytorch (a venv outside the
repo; CI never runs this).
"""
import json
import sys
import time

import torch

torch.set_num_threads(2)
torch.set_grad_enabled(False)


def load(kind, directory):
    if kind in ("st-ort", "st-ort-int8"):
        return load_ort_text(kind[3:], directory)
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


def vision_model(kind, directory):
    """The reference network as a function of pixels: CLIPModel's or SiglipModel's get_image_features, or
    EfficientNet-Lite0's logits (efficientnet_lite_pytorch, with the weights of DIR/model.safetensors)."""
    if kind in ("clip", "siglip"):
        from transformers import CLIPModel, SiglipModel

        model = (CLIPModel if kind == "clip" else SiglipModel).from_pretrained(directory).eval()

        class Features(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, pixels):
                out = self.model.get_image_features(pixel_values=pixels)
                return out.pooler_output if hasattr(out, "pooler_output") else out

        return Features().eval(), model.config.vision_config.image_size
    from efficientnet_lite_pytorch import EfficientNet
    from safetensors.torch import load_file

    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(load_file(f"{directory}/model.safetensors"), strict=False)
    return model.eval(), 224


def timed(run, batch, seconds):
    for _ in range(2):
        run()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        run()
        done += batch
    return done / (time.perf_counter() - start)


def ort_session(module, example, path, runtime, inputs, outputs, dynamic_axes):
    """`module` exported to ONNX at `path` and opened in ONNX Runtime with 2 threads; for ort-int8 the graph first
    goes through quantize_dynamic (int8 weights per output channel, activations quantized at run time), as people
    deploying with ONNX Runtime quantize."""
    import onnxruntime

    torch.onnx.export(module, example, path, input_names=inputs, output_names=outputs, dynamic_axes=dynamic_axes, opset_version=17, dynamo=False)
    if runtime == "ort-int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantized = path.replace(".onnx", ".int8.onnx")
        quantize_dynamic(path, quantized, weight_type=QuantType.QInt8, per_channel=True)
        path = quantized
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def load_ort_text(runtime, directory):
    """A sentence-transformers model (transformer + mean pooling + normalisation) with its transformer in ONNX Runtime."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(directory, device="cpu")
    transformer, tokenizer = st[0].auto_model.eval(), st.tokenizer
    example = tokenizer(["a photo of a cat", "two dogs"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in example]

    class Hidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = transformer

        def forward(self, *args):
            return self.transformer(**dict(zip(names, args))).last_hidden_state

    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["hidden"] = {0: "batch", 1: "sequence"}
    session = ort_session(Hidden(), tuple(example[n] for n in names), f"/tmp/chorus-bench-text-{runtime}.onnx", runtime, names, ["hidden"], axes)
    limit = st.max_seq_length

    def run(texts):
        batch = tokenizer(texts, padding=True, truncation=True, max_length=limit, return_tensors="np")
        hidden = session.run(None, {n: batch[n].astype(np.int64) for n in names})[0]
        mask = batch["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    return run


def vision(kind, runtime, directory, batch, seconds, pixels_file):
    """images/s of the network alone on the same preprocessed pixels, in PyTorch or ONNX Runtime (2 threads)."""
    import numpy as np

    model, size = vision_model(kind, directory)
    pixels = np.fromfile(pixels_file, dtype=np.float32).reshape(-1, 3, size, size)[:batch]
    if runtime == "torch":
        tensor = torch.from_numpy(pixels)
        run = lambda: model(tensor)
        first = run()[0].tolist()
    else:
        session = ort_session(model, torch.from_numpy(pixels), f"/tmp/chorus-bench-{kind}.onnx", runtime, ["pixels"], ["out"],
                              {"pixels": {0: "batch"}, "out": {0: "batch"}})
        run = lambda: session.run(None, {"pixels": pixels})[0]
        first = run()[0].tolist()
    return {"images_per_second": timed(run, batch, seconds), "first": first}


def vision_end_to_end(kind, directory, seconds, files):
    """images/s of transformers' whole path on files: load_image, the PIL image processor, the network (batches of
    all files)."""
    import json as _json

    from transformers.image_utils import load_image
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    model, _ = vision_model(kind, directory)
    config = _json.load(open(f"{directory}/preprocessor_config.json"))
    config.pop("image_processor_type", None)
    config.pop("feature_extractor_type", None)
    config.pop("processor_class", None)
    if isinstance(config.get("size"), int):
        config["size"] = {"shortest_edge": config["size"]}
    if isinstance(config.get("crop_size"), int):
        config["crop_size"] = {"height": config["crop_size"], "width": config["crop_size"]}
    processor = (SiglipImageProcessorPil if kind == "siglip" else CLIPImageProcessorPil)(**config)

    def run():
        pixels = processor(images=[load_image(f) for f in files], return_tensors="pt")["pixel_values"]
        return model(pixels)

    return {"images_per_second": timed(run, len(files), seconds)}


def audio_model(kind, directory):
    """The encoder as a function of a batch of features, returning Chorus's embedding (normalised)."""
    if kind.startswith("clap"):
        from transformers import ClapFeatureExtractor, ClapModel

        model = ClapModel.from_pretrained(directory).eval()

        def run(features, frames):
            # One clip per call in the reference's own extractor marks it "longer": the fused branch runs, as in Chorus.
            out = model.get_audio_features(input_features=features, is_longer=torch.ones(features.shape[0], 1, dtype=torch.bool))
            return out.pooler_output if hasattr(out, "pooler_output") else out

        return run, ClapFeatureExtractor.from_pretrained(directory)
    if kind == "whisper-base":
        from transformers import WhisperFeatureExtractor, WhisperModel

        encoder = WhisperModel.from_pretrained(directory).encoder.eval()
        return (lambda features, frames: torch.nn.functional.normalize(
            encoder(features).last_hidden_state[:, :frames].mean(dim=1), dim=-1)), WhisperFeatureExtractor.from_pretrained(directory)
    from transformers import ASTFeatureExtractor, ASTModel

    model = ASTModel.from_pretrained(directory).eval()
    return (lambda features, frames: torch.nn.functional.normalize(model(features).pooler_output, dim=-1)), ASTFeatureExtractor.from_pretrained(directory)


def audio_features(extractor, samples):
    out = extractor(samples, sampling_rate=extractor.sampling_rate, return_tensors="pt")
    return out["input_features"] if "input_features" in out else out["input_values"]


def ort_audio_model(kind, runtime, directory, example):
    """The Whisper or AST encoder exported to ONNX (fp32 or int8) as a function like audio_model's."""
    import numpy as np
    from transformers import ASTModel, WhisperModel

    whisper = kind == "whisper-base"
    network = WhisperModel.from_pretrained(directory).encoder.eval() if whisper else ASTModel.from_pretrained(directory).eval()

    class Output(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.network = network

        def forward(self, features):
            out = self.network(features)
            return out.last_hidden_state if whisper else out.pooler_output

    session = ort_session(Output(), example[:1], f"/tmp/chorus-bench-{kind}-{runtime}.onnx", runtime, ["features"], ["out"],
                          {"features": {0: "batch"}, "out": {0: "batch"}})

    def run(features, frames):
        out = session.run(None, {"features": features.numpy()})[0]
        pooled = out[:, :frames].mean(axis=1) if whisper else out
        return torch.from_numpy(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))

    return run


def audio(kind, directory, batch, seconds, samples_file, runtime="torch"):
    import math

    import numpy as np

    run_model, extractor = audio_model(kind, directory)
    samples = np.fromfile(samples_file, dtype=np.float32)
    features = audio_features(extractor, samples)
    features = features.repeat(batch, *([1] * (features.dim() - 1)))
    frames = min(1500, math.ceil(len(samples) / 320))
    if runtime != "torch":
        run_model = ort_audio_model(kind, runtime, directory, features)
    first = run_model(features[:1], frames)[0].tolist()
    return {"clips_per_second": timed(lambda: run_model(features, frames), batch, seconds), "first": first}


def audio_end_to_end(kind, directory, batch, seconds, path):
    import math

    import numpy as np
    import soundfile
    import soxr

    run_model, extractor = audio_model(kind, directory)

    def run():
        clips = []
        for _ in range(batch):
            data, rate = soundfile.read(path, dtype="float32", always_2d=True)
            mono = data.mean(axis=1, dtype=np.float32)
            target = extractor.sampling_rate
            clips.append(mono if rate == target else soxr.resample(mono, rate, target, quality="HQ").astype(np.float32))
        features = torch.cat([audio_features(extractor, c) for c in clips])
        return run_model(features, min(1500, math.ceil(len(clips[0]) / 320)))

    return {"clips_per_second": timed(run, batch, seconds)}


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
    elif command == "tokenize":
        # Hugging Face tokenizers on one thread (RAYON_NUM_THREADS=1), one encode per string, as Chorus tokenizes.
        directory, seconds, texts = sys.argv[2], float(sys.argv[3]), json.load(open(sys.argv[4]))
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(directory + "/tokenizer.json")
        tok.no_padding()
        tok.no_truncation()
        tok.encode_special_tokens = True
        rounds, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for text in texts:
                tok.encode(text)
            rounds += 1
        elapsed = time.perf_counter() - start
        print(json.dumps({"strings_per_second": rounds * len(texts) / elapsed, "characters_per_second": rounds * sum(map(len, texts)) / elapsed}))
    elif command == "embed":
        kind, directory, texts = sys.argv[2], sys.argv[3], json.load(open(sys.argv[4]))
        print(json.dumps({"vectors": load(kind, directory)(texts).tolist()}))
    elif command == "vision":
        model_kind, runtime, directory, batch, seconds, pixels_file = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]), sys.argv[7]
        print(json.dumps(vision(model_kind, runtime, directory, batch, seconds, pixels_file)))
    elif command == "make-audio":
        kind, directory = sys.argv[2], sys.argv[3]
        torch.manual_seed(10)
        if kind == "whisper-base":
            from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

            config = WhisperConfig(d_model=512, encoder_layers=6, encoder_attention_heads=8, encoder_ffn_dim=2048, num_mel_bins=80,
                                   decoder_layers=1, decoder_attention_heads=8, decoder_ffn_dim=2048, vocab_size=64,
                                   max_target_positions=16, decoder_start_token_id=1, pad_token_id=0, bos_token_id=1, eos_token_id=2)
            WhisperModel(config).save_pretrained(directory, safe_serialization=True)
            WhisperFeatureExtractor().save_pretrained(directory)
        else:
            from transformers import ASTConfig, ASTFeatureExtractor, ASTModel

            ASTModel(ASTConfig()).save_pretrained(directory, safe_serialization=True)  # defaults are AST-base
            ASTFeatureExtractor().save_pretrained(directory)
        print(json.dumps({"written": directory}))
    elif command == "audio":
        kind, directory, batch, seconds, path = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
        print(json.dumps(audio(kind, directory, batch, seconds, path, *sys.argv[7:8])))
    elif command == "audio-end-to-end":
        kind, directory, batch, seconds, path = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
        print(json.dumps(audio_end_to_end(kind, directory, batch, seconds, path)))
    elif command == "vision-end-to-end":
        model_kind, directory, seconds, files = sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5:]
        print(json.dumps(vision_end_to_end(model_kind, directory, seconds, files)))
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
