"""Writes siglip-base/ (google/siglip-base-patch16-224's shapes and files: config.json, preprocessor_config.json,
spiece.model, tokenizer_config.json) with deterministic synthetic weights (synthetic_weights.py; the tests rebuild
model.safetensors from weights.manifest.json), and siglip-base.expected.json: SiglipModel's text features for
multilingual texts (the slow SiglipTokenizer, padding="max_length", no attention mask, as SigLIP was trained and
as transformers 4.x processors gave them), image features for real files end to end (load_image,
SiglipImageProcessorPil, get_image_features), and zero-shot probabilities (sigmoid of logits_per_image).

The tokenizer is the SentencePiece Unigram of Tests/TokenizersTests/Fixtures/siglip-unigram (trained there, 3,000
pieces); the embedding table keeps SigLIP's 32,000 rows. Run from the repository root (never in CI):

    scripts/fetch-test-data
    /path/to/venv-with-torch/bin/python Tests/EncodersTests/Fixtures/generate_siglip_fixture.py
"""
import json
import shutil
import sys
from pathlib import Path

import torch
from transformers import SiglipConfig, SiglipModel, SiglipTokenizer
from transformers.image_utils import load_image
from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_weights import fill, set_constant  # noqa: E402

HERE = Path(__file__).resolve().parent
TESTS = HERE.parents[1]
TEXTS = [
    "a photo of a cat", "A photo of a DOG, running!", "Der schnelle braune Fuchs springt über den faulen Hund.", "東京は日本の首都です。",
    "emoji 😀 and naïve café", "x", "ΣΊΣΥΦΟΣ", "The quick brown fox jumps over the lazy dog. " * 20, "",
]
FILES = ["Data/skimage/chelsea.png", "Data/skimage/rocket.jpg", "Data/skimage/coffee.png", "Data/skimage/camera.png",
         "MediaTests/Fixtures/formats/exif-orientation-6.jpg", "MediaTests/Fixtures/formats/rgba.png",
         "MediaTests/Fixtures/formats/cmyk.jpg"]
LABELS = ["cat", "rocket", "cup of coffee", "man with a camera", "dog"]
TEMPLATE = "This is a photo of {}."
PREPROCESSOR = {
    "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
    "image_processor_type": "SiglipImageProcessor", "image_std": [0.5, 0.5, 0.5], "processor_class": "SiglipProcessor",
    "resample": 3, "rescale_factor": 0.00392156862745098, "size": {"height": 224, "width": 224},
}


def main():
    out = HERE / "siglip-base"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    config = SiglipConfig(text_config={"vocab_size": 32000}, vision_config={"image_size": 224, "patch_size": 16})
    torch.manual_seed(0)
    model = SiglipModel(config).eval()
    fill(model, out / "weights.manifest.json")
    # A trained SigLIP's temperature and bias (about e^4.7 and -16); with random towers' small cosines, a bias of
    # 0 keeps the probabilities spread out, so the test sees the formula rather than values stuck at 0.
    set_constant(model, out / "weights.manifest.json", {"logit_scale": 4.6, "logit_bias": 0.0})
    config.save_pretrained(str(out))
    (out / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR, indent=2) + "\n")
    tokenizer_dir = TESTS / "TokenizersTests/Fixtures/siglip-unigram"
    for name in ["spiece.model", "tokenizer_config.json"]:
        shutil.copy(tokenizer_dir / name, out / name)
    tokenizer = SiglipTokenizer(vocab_file=str(out / "spiece.model"), model_max_length=64)

    def text_features(texts):
        ids = tokenizer(texts, padding="max_length", truncation=True, max_length=64, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            result = model.get_text_features(input_ids=ids)
        return result.pooler_output if hasattr(result, "pooler_output") else result

    processor = SiglipImageProcessorPil()
    pixels = processor(images=[load_image(str(TESTS / f)) for f in FILES], return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        images = model.get_image_features(pixel_values=pixels)
        images = images.pooler_output if hasattr(images, "pooler_output") else images
    texts = text_features(TEXTS)
    labels = text_features([TEMPLATE.format(label) for label in LABELS])
    image_embeds = images / images.norm(dim=-1, keepdim=True)
    label_embeds = labels / labels.norm(dim=-1, keepdim=True)
    logits = image_embeds @ label_embeds.t() * model.logit_scale.exp() + model.logit_bias
    (HERE / "siglip-base.expected.json").write_text(json.dumps({
        "texts": TEXTS, "text_vectors": texts.tolist(), "files": FILES, "image_vectors": images.tolist(),
        "labels": LABELS, "template": TEMPLATE, "probabilities": torch.sigmoid(logits).tolist(),
        "logit_scale": model.logit_scale.item(), "logit_bias": model.logit_bias.item(),
    }))
    print("siglip-base:", sum(p.numel() for p in model.parameters()), "parameters;", "probabilities", torch.sigmoid(logits)[0].tolist())


if __name__ == "__main__":
    main()
