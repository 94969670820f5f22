"""Writes tiny-clip-vision.expected.json: seeded random pixel tensors (already preprocessed, [2, 3, 32, 32]) and
the tiny CLIPModel's image features for them, raw (get_image_features) and normalised (image_embeds). Uses the
tiny-clip directory written by generate_clip_fixtures.py. Reference: transformers.

    /path/to/venv-with-torch/bin/python Tests/EncodersTests/Fixtures/generate_clip_vision_fixture.py
"""
import json
from pathlib import Path

import torch
from transformers import CLIPModel

HERE = Path(__file__).resolve().parent


def main():
    torch.manual_seed(7)
    model = CLIPModel.from_pretrained(str(HERE / "tiny-clip")).eval()
    pixels = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        raw = model.get_image_features(pixel_values=pixels)
        raw = raw.pooler_output if hasattr(raw, "pooler_output") else raw
        ids = torch.tensor([[model.config.text_config.bos_token_id, model.config.text_config.eos_token_id]])
        embeds = model(input_ids=ids, pixel_values=pixels).image_embeds
    HERE.joinpath("tiny-clip-vision.expected.json").write_text(json.dumps({
        "pixels": [float(f"{v:.9g}") for v in pixels.flatten().tolist()],
        "raw": [[float(f"{v:.9g}") for v in row] for row in raw.tolist()],
        "vectors": [[float(f"{v:.9g}") for v in row] for row in embeds.tolist()],
    }))
    print("wrote tiny-clip-vision.expected.json")


if __name__ == "__main__":
    main()
