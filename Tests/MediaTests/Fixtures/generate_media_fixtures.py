"""Writes the Media parity fixtures with the reference implementation (Pillow + transformers' PIL image processors).

    scripts/fetch-test-data
    /path/to/venv-with-transformers/bin/python Tests/MediaTests/Fixtures/generate_media_fixtures.py

- photos/<config>/<photo>.png: the reference's 8-bit pixels after convert_to_rgb, resize and centre crop, for real
  photos of the scikit-image wheel (Tests/Data/skimage), under three processor configs (configs.json).
- photos.json: per config, the reference's float value for every 8-bit level and channel (its rescale and
  normalize on a ramp). The generator checks that the reference's pixel_values equal table[pixels] exactly for
  every photo, so the PNGs plus the tables are a lossless copy of the reference's output.
- formats/: small files in every JPEG/PNG variant the decoder must read (made with Pillow from a real photo), and
  formats.json with the reference's RGB pixels for each (transformers' load_image: open, exif_transpose,
  convert("RGB")).
- bad/: files the decoder must refuse, each with the status it must get (bad.json).
"""
import base64
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image
from transformers.image_transforms import normalize, rescale
from transformers.image_utils import load_image
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil

HERE = Path(__file__).resolve().parent
PHOTOS = HERE.parents[1] / "Data" / "skimage"
NAMES = ["astronaut.png", "camera.png", "chelsea.png", "coffee.png", "coins.png", "hubble_deep_field.jpg", "ihc.png",
         "logo.png", "motorcycle_left.png", "retina.jpg", "rocket.jpg", "brick.png", "page.png"]

# Each config is written as preprocessor_config.json would hold it; Swift parses the same dictionaries.
CONFIGS = {
    "clip": {"feature_extractor_type": "CLIPFeatureExtractor", "size": 224, "crop_size": 224, "do_center_crop": True,
             "do_resize": True, "do_normalize": True, "resample": 3,
             "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]},
    "vit-bilinear-96": {"image_processor_type": "ViTImageProcessor", "size": {"height": 96, "width": 96},
                        "resample": 2, "do_convert_rgb": True, "do_normalize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
    "clip-lanczos-300": {"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 300},
                         "crop_size": {"height": 320, "width": 280}, "resample": 1},
}


def processor(config, **overrides):
    kwargs = {k: v for k, v in config.items() if k not in ("feature_extractor_type", "image_processor_type")}
    kind = config.get("image_processor_type") or config.get("feature_extractor_type")
    if isinstance(kwargs.get("size"), int):
        kwargs["size"] = {"shortest_edge": kwargs["size"]} if kind.startswith("CLIP") else {"height": kwargs["size"], "width": kwargs["size"]}
    if isinstance(kwargs.get("crop_size"), int):
        kwargs["crop_size"] = {"height": kwargs["crop_size"], "width": kwargs["crop_size"]}
    kwargs.update(overrides)
    return (CLIPImageProcessorPil if kind.startswith("CLIP") else ViTImageProcessorPil)(**kwargs)


def level_tables(config):
    """The reference's float for each 8-bit level of each channel: its own rescale and normalize on a ramp."""
    full = processor(config)
    ramp = np.tile(np.arange(256, dtype=np.uint8), (3, 1, 1))  # [3, 1, 256], channel-first
    x = ramp
    if full.do_rescale:
        x = rescale(x, full.rescale_factor, input_data_format="channels_first")
    else:
        x = x.astype(np.float32)
    if full.do_normalize:
        x = normalize(x, full.image_mean, full.image_std, input_data_format="channels_first")
    return x.reshape(3, 256).astype(np.float32)


def load(path):
    # What transformers does with an image file: open, turn upright by EXIF, convert("RGB") (alpha dropped).
    return load_image(str(path))


def write_photos():
    tables = {}
    for name, config in CONFIGS.items():
        table = level_tables(config)
        tables[name] = [[float(v) for v in row] for row in table]
        out = HERE / "photos" / name
        out.mkdir(parents=True, exist_ok=True)
        for photo in NAMES:
            image = load(PHOTOS / photo)
            full = processor(config)(images=image, return_tensors="np")["pixel_values"][0]
            raw = processor(config, do_rescale=False, do_normalize=False)(images=image, return_tensors="np")["pixel_values"][0]
            levels = raw.astype(np.uint8)
            assert np.array_equal(levels.astype(np.float32), raw), "crop is not 8-bit"
            rebuilt = np.stack([table[c][levels[c]] for c in range(3)])
            assert np.array_equal(rebuilt, full), f"{name}/{photo}: pixel_values are not table[pixels]"
            Image.fromarray(np.moveaxis(levels, 0, -1), "RGB").save(out / (Path(photo).stem + ".png"), optimize=True)
    (HERE / "photos.json").write_text(json.dumps({"photos": NAMES, "configs": CONFIGS, "tables": tables}))


def source_image():
    # A real photo, small enough to keep every variant tiny: chelsea.png, downscaled with a ragged size.
    return Image.open(PHOTOS / "chelsea.png").convert("RGB").resize((61, 43), Image.Resampling.BICUBIC)


def exif_with_orientation(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def write_formats():
    out = HERE / "formats"
    out.mkdir(exist_ok=True)
    rgb = source_image()
    w, h = rgb.size
    alpha = Image.fromarray(np.tile(np.linspace(0, 255, w).astype(np.uint8), (h, 1)), "L")
    rgba = rgb.copy()
    rgba.putalpha(alpha)
    gray = rgb.convert("L")
    files = {}

    def save(name, image, **options):
        buffer = io.BytesIO()
        image.save(buffer, **options)
        files[name] = buffer.getvalue()

    save("baseline.jpg", rgb, format="JPEG", quality=90)
    save("progressive.jpg", rgb, format="JPEG", quality=90, progressive=True)
    save("subsampled-420.jpg", rgb, format="JPEG", quality=75, subsampling=2)
    save("gray.jpg", gray, format="JPEG", quality=90)
    save("cmyk.jpg", rgb.convert("CMYK"), format="JPEG", quality=90)
    for orientation in range(1, 9):
        save(f"exif-orientation-{orientation}.jpg", rgb, format="JPEG", quality=90, exif=exif_with_orientation(orientation))
    save("rgb.png", rgb, format="PNG")
    save("rgba.png", rgba, format="PNG")
    save("gray.png", gray, format="PNG")
    la = gray.copy()
    la.putalpha(alpha)
    save("gray-alpha.png", la, format="PNG")
    palette = rgb.quantize(colors=64)
    save("palette.png", palette, format="PNG")
    save("palette-transparent.png", palette, format="PNG", transparency=5)
    save("palette-4bit.png", rgb.quantize(colors=16), format="PNG", bits=4)
    save("bilevel.png", gray.convert("1"), format="PNG")
    save("interlaced.png", rgb, format="PNG")  # re-encoded below with Adam7
    save("rgb-transparent-color.png", rgb, format="PNG", transparency=rgb.getpixel((0, 0)))
    wide = np.asarray(rgb).astype(np.uint16) * 257 + np.arange(w, dtype=np.uint16)[None, :, None]
    files["rgb16.png"] = png_bytes(wide, color_type=2, depth=16)
    files["rgba16.png"] = png_bytes(np.concatenate([wide, (np.asarray(alpha).astype(np.uint16) * 257)[..., None]], -1), color_type=6, depth=16)
    files["gray16.png"] = png_bytes((np.asarray(gray).astype(np.uint16) * 3)[..., None], color_type=0, depth=16)
    files["interlaced.png"] = png_bytes(np.asarray(rgb), color_type=2, depth=8, interlace=True)
    files["one-pixel.png"] = png_bytes(np.array([[[200, 100, 50]]], dtype=np.uint8), color_type=2, depth=8)

    expected = {}
    for name, data in sorted(files.items()):
        (out / name).write_bytes(data)
        image = np.asarray(load(out / name))
        expected[name] = {"width": image.shape[1], "height": image.shape[0],
                          "rgb": base64.b64encode(np.ascontiguousarray(image).tobytes()).decode()}
    (HERE / "formats.json").write_text(json.dumps(expected, indent=1, sort_keys=True))


def chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_bytes(array, color_type, depth, interlace=False, width=None, height=None):
    """A PNG written by hand (Pillow cannot write 16-bit RGB or Adam7), big-endian samples."""
    h, w = array.shape[:2]
    sample = ">u2" if depth == 16 else "u1"
    rows = array.reshape(h, -1).astype(sample)
    ihdr = struct.pack(">IIBBBBB", width if width is not None else w, height if height is not None else h,
                       depth, color_type, 0, 0, 1 if interlace else 0)
    if not interlace:
        raw = b"".join(b"\0" + row.tobytes() for row in rows)
    else:
        pixels = array.astype(sample)
        raw = b""
        # Adam7: (x0, y0, dx, dy) per pass; each pass is a small image of its own, rows filtered with type 0.
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
            sub = pixels[y0::dy, x0::dx]
            if sub.size == 0:
                continue
            raw += b"".join(b"\0" + row.tobytes() for row in sub.reshape(sub.shape[0], -1))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def write_bad():
    out = HERE / "bad"
    out.mkdir(exist_ok=True)
    good_jpeg = (HERE / "formats" / "baseline.jpg").read_bytes()
    good_png = (HERE / "formats" / "rgb.png").read_bytes()
    cases = {}

    def add(name, data, code, contains):
        (out / name).write_bytes(data)
        cases[name] = {"code": code, "contains": contains}

    add("truncated.jpg", good_jpeg[: len(good_jpeg) * 6 // 10], "INVALID_ARGUMENT", "JPEG")
    add("truncated.png", good_png[: len(good_png) * 6 // 10], "INVALID_ARGUMENT", "PNG")
    bad_crc = bytearray(good_png)
    idat = bad_crc.index(b"IDAT")
    bad_crc[idat + 10] ^= 0xFF  # a flipped byte inside IDAT: its CRC no longer matches
    add("bad-crc.png", bytes(bad_crc), "INVALID_ARGUMENT", "PNG")
    add("garbage.bin", bytes(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8)), "INVALID_ARGUMENT", "supported: JPEG, PNG")
    add("empty.jpg", b"", "INVALID_ARGUMENT", "empty")
    add("zero-size.png", png_bytes(np.zeros((1, 1, 3), np.uint8), 2, 8, width=0, height=0), "INVALID_ARGUMENT", "PNG")
    add("huge.png", png_bytes(np.zeros((1, 1, 3), np.uint8), 2, 8, width=60000, height=60000), "RESOURCE_EXHAUSTED", "max_image_pixels")
    huge_jpeg = bytearray(good_jpeg)
    sof = huge_jpeg.index(b"\xff\xc0")
    huge_jpeg[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)
    add("huge.jpg", bytes(huge_jpeg), "RESOURCE_EXHAUSTED", "max_image_pixels")
    add("animation.gif", (PHOTOS / "no_time_for_that_tiny.gif").read_bytes(), "INVALID_ARGUMENT", "GIF images are not supported")
    webp = io.BytesIO()
    source_image().save(webp, format="WEBP")
    add("photo.webp", webp.getvalue(), "INVALID_ARGUMENT", "WebP images are not supported")
    heic = struct.pack(">I", 24) + b"ftypheic" + b"\0\0\0\0" + b"mif1heic" + b"\0" * 64
    add("photo.heic", heic, "INVALID_ARGUMENT", "HEIF/AVIF")
    add("photo.tif", (PHOTOS / "multipage_rgb.tif").read_bytes(), "INVALID_ARGUMENT", "TIFF images are not supported")
    (HERE / "bad.json").write_text(json.dumps(cases, indent=1, sort_keys=True))


if __name__ == "__main__":
    write_photos()
    write_formats()
    write_bad()
    print("wrote photos/, photos.json, formats/, formats.json, bad/, bad.json")
