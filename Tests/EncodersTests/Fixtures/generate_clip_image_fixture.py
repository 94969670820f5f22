"""Writes tiny-clip/preprocessor_config.json (CLIP's published preprocessing, at the tiny model's 32 pixels) and
tiny-clip-images.expected.json: CLIPModel's image features for real image files, end to end as transformers does it
(load_image: open + EXIF transpose; CLIPImageProcessorPil; get_image_features), raw and normalised.

    scripts/fetch-test-data
    /path/to/venv-with-torch/bin/python Tests/EncodersTests/Fixtures/generate_clip_image_fixture.py
"""
import json
from pathlib import Path

import torch
from transformers import CLIPModel
from transformers.image_utils import load_image
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

HERE = Path(__file__).resolve().parent
TESTS = HERE.parents[1]
# Paths relative to Tests/: real photos (fetched) and decoder fixtures (committed).
FILES = ["Data/skimage/chelsea.png", "Data/skimage/rocket.jpg", "Data/skimage/coffee.png", "Data/skimage/camera.png",
         "MediaTests/Fixtures/formats/exif-orientation-6.jpg", "MediaTests/Fixtures/formats/rgba.png",
         "MediaTests/Fixtures/formats/cmyk.jpg"]


def main():
    directory = HERE / "tiny-clip"
    # The layout of openai/clip-vit-base-patch32's file, sizes scaled to image_size 32.
    (directory / "preprocessor_config.json").write_text(json.dumps({
        "crop_size": 32, "do_center_crop": True, "do_normalize": True, "do_resize": True,
        "feature_extractor_type": "CLIPFeatureExtractor",
        "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
        "resample": 3, "size": 32}, indent=2) + "\n")
    processor = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    model = CLIPModel.from_pretrained(str(directory)).eval()
    images = [load_image(str(TESTS / f)) for f in FILES]
    pixels = processor(images=images, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        raw = model.get_image_features(pixel_values=pixels)
        raw = raw.pooler_output if hasattr(raw, "pooler_output") else raw
    normalised = raw / raw.norm(dim=-1, keepdim=True)
    HERE.joinpath("tiny-clip-images.expected.json").write_text(json.dumps({
        "files": FILES,
        "raw": [[float(f"{v:.9g}") for v in row] for row in raw.tolist()],
        "vectors": [[float(f"{v:.9g}") for v in row] for row in normalised.tolist()],
    }))
    print("wrote tiny-clip/preprocessor_config.json and tiny-clip-images.expected.json")


if __name__ == "__main__":
    main()
