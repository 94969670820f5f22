"""Images from Python: a CLIP directory served by the real chorusd, real image files, per-image errors."""
import json
import pathlib
import tempfile

import grpc
import pytest

from conftest import Daemon
from chorus.v1 import common_pb2, embedding_pb2, embedding_pb2_grpc

TESTS = pathlib.Path(__file__).resolve().parents[1]
CLIP = TESTS / "EncodersTests" / "Fixtures" / "tiny-clip"
MEDIA = TESTS / "MediaTests" / "Fixtures"


@pytest.fixture
def clip_daemon():
    directory = tempfile.mkdtemp(prefix="chorus-py-", dir="/tmp")
    d = Daemon(directory, extra_args=("--no-starter", "--model", f"clip={CLIP}", "--max-image-pixels", "1000000"))
    yield d
    d.stop()


def test_images_equal_the_reference_and_bad_ones_fail_alone(clip_daemon):
    reference = json.loads((TESTS / "EncodersTests" / "Fixtures" / "tiny-clip-images.expected.json").read_text())
    files = [TESTS / f for f in reference["files"]]
    bad = {"bad/garbage.bin": grpc.StatusCode.INVALID_ARGUMENT, "bad/huge.png": grpc.StatusCode.RESOURCE_EXHAUSTED,
           "bad/animation.gif": grpc.StatusCode.INVALID_ARGUMENT, "bad/zero-size.png": grpc.StatusCode.INVALID_ARGUMENT}
    inputs = [common_pb2.Input(image=f.read_bytes()) for f in files] + [common_pb2.Input(image=(MEDIA / b).read_bytes()) for b in bad]
    stub = embedding_pb2_grpc.EmbeddingServiceStub(clip_daemon.channel)
    response = stub.Embed(embedding_pb2.EmbedRequest(space="clip", inputs=inputs))
    assert response.space == "clip" and response.dimension == 24
    for result, expected, f in zip(response.results, reference["vectors"], files):
        assert result.WhichOneof("outcome") == "embedding", (f, result.error.message)
        assert max(abs(a - b) for a, b in zip(result.embedding.vector, expected)) <= 1e-4, f
    for result, (name, code) in zip(response.results[len(files):], bad.items()):
        assert result.WhichOneof("outcome") == "error", name
        assert result.error.code == code.value[0], (name, result.error.message)
        assert result.error.message.startswith("image: "), result.error.message
    # Still serving after the bad ones.
    again = stub.Embed(embedding_pb2.EmbedRequest(space="clip", inputs=[common_pb2.Input(text="a photo of a cat")]))
    assert len(again.results[0].embedding.vector) == 24
