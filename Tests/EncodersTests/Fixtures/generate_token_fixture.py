"""Writes minilm_tokens.expected.json: for two sentences where "bank" means two things, every token of
all-MiniLM-L6-v2 (ids, code-point offsets, spelling) and its contextual vector, transformers' last_hidden_state.
The daemon's token_embeddings option must give these. Reference: transformers.

    /path/to/venv-with-torch/bin/python Tests/EncodersTests/Fixtures/generate_token_fixture.py Models/all-MiniLM-L6-v2
"""
import json
import sys
from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer

SENTENCES = ["the river bank", "the bank account"]


def main():
    directory = sys.argv[1]
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModel.from_pretrained(directory).eval()
    out = []
    with torch.no_grad():
        for text in SENTENCES:
            batch = tokenizer(text, return_tensors="pt", return_offsets_mapping=True)
            offsets = batch.pop("offset_mapping")[0].tolist()
            states = model(**batch).last_hidden_state[0]
            ids = batch["input_ids"][0].tolist()
            out.append({"text": text, "tokens": [
                {"id": i, "text": tokenizer.convert_ids_to_tokens(i), "start": s, "end": e, "vector": [float(f"{v:.7g}") for v in state.tolist()]}
                for i, (s, e), state in zip(ids, offsets, states)]})
    Path(__file__).with_name("minilm_tokens.expected.json").write_text(json.dumps(out))
    print("wrote minilm_tokens.expected.json")


if __name__ == "__main__":
    main()
