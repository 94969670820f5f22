"""Writes tiny-clip-classify.expected.json: CLIPModel's zero-shot probabilities (logits_per_image.softmax over the
labels) for real image files end to end (load_image, CLIPImageProcessorPil, CLIPTokenizerFast with the template),
the reference for Classify through the engine and the daemon.

    scripts/fetch-test-data
    /path/to/venv-with-torch/bin/python Tests/EncodersTests/Fixtures/generate_clip_classify_fixture.py
"""
import json
from pathlib import Path

import torch
from transformers import CLIPModel, CLIPTokenizerFast
from transformers.image_utils import load_image
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

HERE = Path(__file__).resolve().parent
TESTS = HERE.parents[1]
FILES = ["Data/skimage/chelsea.png", "Data/skimage/rocket.jpg", "MediaTests/Fixtures/formats/rgba.png"]
LABELS = ["cat", "rocket", "cup of coffee", "a dog in the park", "ĉu kato?"]
TEMPLATE = "a photo of a {}"


def main():
    directory = HERE / "tiny-clip"
    model = CLIPModel.from_pretrained(str(directory)).eval()
    tokenizer = CLIPTokenizerFast.from_pretrained(str(directory))
    processor = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    pixels = processor(images=[load_image(str(TESTS / f)) for f in FILES], return_tensors="pt")["pixel_values"]
    runs = []
    for template in [TEMPLATE, None]:
        texts = [template.format(label) if template else label for label in LABELS]
        ids = tokenizer(texts, padding=True, return_tensors="pt")
        with torch.no_grad():
            out = model(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"], pixel_values=pixels)
        runs.append({"template": template, "probabilities": out.logits_per_image.softmax(dim=-1).tolist()})
    HERE.joinpath("tiny-clip-classify.expected.json").write_text(json.dumps({"files": FILES, "labels": LABELS, "runs": runs}, indent=1))
    print("logit_scale", model.logit_scale.exp().item(), runs[0]["probabilities"][0])


if __name__ == "__main__":
    main()
