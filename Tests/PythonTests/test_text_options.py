"""Text options through the real daemon from grpcio and the CLI: dimensions, prompts, chunking, token vectors."""
import json
import math
import subprocess

import conftest

import grpc
import pytest

from chorus.v1 import common_pb2, embedding_pb2, embedding_pb2_grpc

TOKENS = conftest.ROOT / "Tests" / "EncodersTests" / "Fixtures" / "minilm_tokens.expected.json"
COFFEE = conftest.ROOT / "Tests" / "Data" / "skimage" / "coffee.png"
@pytest.fixture
def daemon(tmp_path):
    d = conftest.Daemon(str(tmp_path), extra_args=("--max-request-bytes", "4000000"))
    yield d
    d.stop()


LONG = " ".join(f"Sentence {i} tells of the rain on the roof, the river in spring and the quiet of the night." for i in range(120))


def embed(daemon, texts, **options):
    stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
    request = embedding_pb2.EmbedRequest(inputs=[common_pb2.Input(text=t) for t in texts], options=embedding_pb2.EmbedOptions(**options))
    return stub.Embed(request).results


def norm(vector):
    return math.sqrt(sum(v * v for v in vector))


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / (norm(a) * norm(b))


def test_dimensions_keep_a_renormalised_prefix(daemon):
    full = embed(daemon, ["a photo of a cat"])[0].embedding.vector
    short = embed(daemon, ["a photo of a cat"], dimensions=64)[0].embedding.vector
    assert len(short) == 64
    assert abs(norm(short) - 1) < 1e-5
    scale = norm(full[:64])
    assert max(abs(s - f / scale) for s, f in zip(short, full[:64])) < 1e-6


def test_dimensions_out_of_range_and_on_images_are_refused(daemon):
    with pytest.raises(grpc.RpcError) as error:
        embed(daemon, ["text"], dimensions=385)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "1 to 384" in error.value.details()
    stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
    results = stub.Embed(embedding_pb2.EmbedRequest(
        inputs=[common_pb2.Input(image=COFFEE.read_bytes()), common_pb2.Input(text="a cup of coffee")],
        options=embedding_pb2.EmbedOptions(dimensions=32))).results
    assert results[0].WhichOneof("outcome") == "error"
    assert results[0].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "text inputs only" in results[0].error.message
    assert len(results[1].embedding.vector) == 32


def test_prompts(daemon):
    # all-MiniLM-L6-v2 defines no prompts: a name is refused, saying so.
    with pytest.raises(grpc.RpcError) as error:
        embed(daemon, ["text"], prompt_name="query")
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "defines no prompts" in error.value.details()
    with pytest.raises(grpc.RpcError) as error:
        embed(daemon, ["text"], prompt_name="query", prompt="query: ")
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # A literal prompt is put before the text, and its vectors are cached apart from the plain text's.
    plain = embed(daemon, ["rain on a tin roof"])[0].embedding
    prompted = embed(daemon, ["rain on a tin roof"], prompt="query: ")[0].embedding
    by_hand = embed(daemon, ["query: rain on a tin roof"])[0].embedding
    assert not prompted.cached
    assert max(abs(a - b) for a, b in zip(prompted.vector, by_hand.vector)) < 1e-6
    assert cosine(plain.vector, prompted.vector) < 0.9999
    assert embed(daemon, ["rain on a tin roof"], prompt="query: ")[0].embedding.cached
    assert prompted.content_hash == plain.content_hash  # the content is the text; the prompt is how it was embedded
    with pytest.raises(grpc.RpcError) as error:
        embed(daemon, ["text"], prompt="p" * 70000)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "max_text_bytes" in error.value.details()
    assert embed(daemon, ["still serving"])[0].embedding.vector


def test_token_vectors_equal_transformers_last_hidden_state(daemon):
    reference = json.loads(TOKENS.read_text())
    results = embed(daemon, [item["text"] for item in reference], token_embeddings=True)
    banks = []
    for result, item in zip(results, reference):
        tokens = result.embedding.tokens
        assert [t.id for t in tokens] == [t["id"] for t in item["tokens"]]
        assert [t.text for t in tokens] == [t["text"] for t in item["tokens"]]
        assert [(t.start, t.end) for t in tokens] == [(t["start"], t["end"]) for t in item["tokens"]]
        for ours, theirs in zip(tokens, item["tokens"]):
            assert max(abs(a - b) for a, b in zip(ours.vector, theirs["vector"])) < 2e-4, ours.text
        bank = next(t for t in tokens if t.text == "bank")
        assert item["text"][bank.start:bank.end] == "bank"
        banks.append(bank.vector)
    # The same word in two senses: two different vectors.
    assert cosine(banks[0], banks[1]) < 0.95


def test_chunking_covers_a_long_text_and_weighs_windows_by_new_tokens(daemon):
    truncated = embed(daemon, [LONG])[0].embedding
    assert truncated.truncated
    chunked = embed(daemon, [LONG], chunking=True, return_chunks=True, chunk_overlap_tokens=16)[0].embedding
    assert not chunked.truncated
    chunks = chunked.chunks
    assert len(chunks) >= 4
    assert chunks[0].start == 0 and chunks[-1].end == len(LONG)
    for previous, following in zip(chunks, chunks[1:]):
        assert following.start < previous.end, "neighbouring windows overlap"
    # Each window's vector is what the model gives the window's text alone.
    middle = chunks[1]
    alone = embed(daemon, [LONG[middle.start:middle.end]])[0].embedding.vector
    assert cosine(alone, middle.vector) > 0.999
    assert abs(norm(chunked.vector) - 1) < 1e-5
    # The document vector lies among its windows'.
    assert all(cosine(chunked.vector, c.vector) > 0.8 for c in chunks)
    # A text that fits one window gives its plain vector.
    short = "a short text fits one window"
    assert max(abs(a - b) for a, b in zip(embed(daemon, [short], chunking=True)[0].embedding.vector, embed(daemon, [short])[0].embedding.vector)) < 1e-6
    with pytest.raises(grpc.RpcError) as error:
        embed(daemon, [LONG], chunking=True, chunk_overlap_tokens=500)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_cli_text_options(daemon):
    out = subprocess.run(
        [str(conftest.BIN_DIR / "chorus"), "embed", "--socket", daemon.socket, "--text", "the river bank", "--dimensions", "16", "--tokens", "--json"],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["dimension"] == 16 and len(result["vector"]) == 16
    assert [t["text"] for t in result["tokens"]] == ["[CLS]", "the", "river", "bank", "[SEP]"]
    assert result["tokens"][3]["start"] == 10 and result["tokens"][3]["end"] == 14
    out = subprocess.run(
        [str(conftest.BIN_DIR / "chorus"), "embed", "--socket", daemon.socket, "--text", LONG, "--chunks", "--json"],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    chunks = json.loads(out.stdout)["chunks"]
    assert len(chunks) >= 4 and chunks[-1]["end"] == len(LONG) and {"start", "end", "vector"} <= set(chunks[0])
    out = subprocess.run(
        [str(conftest.BIN_DIR / "chorus"), "embed", "--socket", daemon.socket, "--text", "x", "--prompt-name", "nope"],
        capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "no prompts" in out.stdout + out.stderr


def test_native_http_route_takes_the_same_options(daemon):
    import httpx

    with httpx.Client(transport=httpx.HTTPTransport(uds=daemon.http_socket), base_url="http://localhost", timeout=60) as client:
        answer = client.post("/v1/embed", json={"inputs": [{"text": "the river bank"}], "options": {"dimensions": 8, "tokenEmbeddings": True}})
        assert answer.status_code == 200, answer.text
        embedding = answer.json()["results"][0]["embedding"]
        assert len(embedding["vector"]) == 8
        assert [t["text"] for t in embedding["tokens"]] == ["[CLS]", "the", "river", "bank", "[SEP]"]
        refused = client.post("/v1/embed", json={"inputs": [{"text": "x"}], "options": {"promptName": "query"}})
        assert refused.status_code == 400 and "no prompts" in refused.json()["error"]["message"]
        spaces = client.get("/v1/spaces").json()
        assert any(space["name"] == "starter" for space in spaces["spaces"])
