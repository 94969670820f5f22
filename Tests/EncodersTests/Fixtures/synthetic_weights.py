"""Deterministic full-size "random" weights that need not be committed: every tensor's values come from
splitmix64 over (FNV-1a(name) ^ seed) + index, scaled per kind of tensor. The tests rebuild the same
model.safetensors from the manifest these functions write (Tests/Support/CSyntheticWeights computes the same
values bit for bit), then compare with the vectors the reference computed on it.
"""
import json

import numpy as np

SEED = 20261130
MASK = (1 << 64) - 1


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & MASK
    return h


def kind(name, shape):
    """(center, scale): norms near 1, batch-norm variances positive, biases and everything else small, like a trained
    model's ranges."""
    if name.endswith("running_var"):
        return 1.0, 0.2
    if len(shape) == 1 and ("norm" in name.lower() or name.endswith("ln.weight")) and name.endswith("weight"):
        return 1.0, 0.1
    if name.endswith("bias"):
        return 0.0, 0.05
    if "embed" in name or "relative_attention_bias" in name:
        return 0.0, 0.1
    return 0.0, 0.06


def values(base, count, center, scale):
    x = np.arange(count, dtype=np.uint64) + np.uint64(base) + np.uint64(0x9E3779B97F4A7C15)
    z = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    return (center + scale * ((2.0 * u) - 1.0)).astype(np.float32)


def fill(model, manifest_path):
    """Sets every parameter and persistent buffer of `model` and writes the manifest the tests read."""
    import torch  # only the generators need it; `values` serves the tests too

    entries = []
    state = model.state_dict()
    with np.errstate(over="ignore"):
        for name, tensor in state.items():
            if not tensor.is_floating_point():
                continue
            center, scale = kind(name, tuple(tensor.shape))
            base = (fnv1a64(name) ^ SEED) & MASK
            data = values(base, tensor.numel(), center, scale).reshape(tuple(tensor.shape))
            state[name] = torch.from_numpy(data)
            entries.append({"name": name, "shape": list(tensor.shape), "base": str(base), "center": center, "scale": scale})
    model.load_state_dict(state, strict=True)
    manifest_path.write_text(json.dumps(entries, indent=0))
    return model


def set_constant(model, manifest_path, constants):
    """Gives the named tensors one value each (a trained model's logit scale, say), in the model and the manifest."""
    import torch

    manifest = json.loads(manifest_path.read_text())
    for entry in manifest:
        if entry["name"] in constants:
            entry["center"], entry["scale"] = constants[entry["name"]], 0.0
    manifest_path.write_text(json.dumps(manifest, indent=0))
    with torch.no_grad():
        for name, value in constants.items():
            model.get_parameter(name).fill_(value)
