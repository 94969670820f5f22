"""Audio from Python: a Whisper directory served by the real chorusd, real audio files, per-clip errors, windows."""
import json
import math
import pathlib
import tempfile

import grpc
import pytest

from conftest import Daemon
from chorus.v1 import common_pb2, embedding_pb2, embedding_pb2_grpc

TESTS = pathlib.Path(__file__).resolve().parents[1]
WHISPER = TESTS / "EncodersTests" / "Fixtures" / "whisper-tiny-random"
AUDIO = TESTS / "MediaTests" / "Fixtures" / "audio"


@pytest.fixture
def whisper_daemon():
    directory = tempfile.mkdtemp(prefix="chorus-py-", dir="/tmp")
    d = Daemon(directory, extra_args=("--no-starter", "--model", f"whisper={WHISPER}", "--max-audio-seconds", "20"))
    yield d
    d.stop()


def test_audio_files_equal_the_reference_and_bad_ones_fail_alone(whisper_daemon):
    expected = json.loads((TESTS / "EncodersTests" / "Fixtures" / "whisper_expected.json").read_text())
    names = ["speech.wav", "chord-stereo-44k.flac", "noise-48k.ogg", "speech.opus", "sweep.mp3"]
    # A 16-bit WAV header that says 21 s of 16 kHz mono, then the samples: over the 20 s limit.
    frames = 21 * 16000
    header = (b"RIFF" + (36 + 2 * frames).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
              + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (16000).to_bytes(4, "little")
              + (32000).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
              + b"data" + (2 * frames).to_bytes(4, "little"))
    bad = {"empty": (b"", grpc.StatusCode.INVALID_ARGUMENT), "text": (b"hello, not audio", grpc.StatusCode.INVALID_ARGUMENT),
           "too long": (header + bytes(2 * frames), grpc.StatusCode.RESOURCE_EXHAUSTED)}
    inputs = [common_pb2.Input(audio=(AUDIO / n).read_bytes()) for n in names] + [common_pb2.Input(audio=b) for b, _ in bad.values()]
    stub = embedding_pb2_grpc.EmbeddingServiceStub(whisper_daemon.channel)
    response = stub.Embed(embedding_pb2.EmbedRequest(space="whisper", inputs=inputs))
    assert response.dimension == 64
    for result, name in zip(response.results, names):
        assert result.WhichOneof("outcome") == "embedding", (name, result.error.message)
        cosine = sum(a * b for a, b in zip(result.embedding.vector, expected[name]["embedding"]))
        assert cosine >= 0.9999, (name, cosine)
    for result, (label, (_, code)) in zip(response.results[len(names):], bad.items()):
        assert result.WhichOneof("outcome") == "error", label
        assert result.error.code == code.value[0], (label, result.error.message)
        assert result.error.message.startswith("audio: "), result.error.message
    assert "max_audio_seconds" in response.results[-1].error.message


def test_segments_of_a_long_clip(whisper_daemon):
    # A 2-second clip is one window: its one segment spans the clip and carries the clip's vector.
    stub = embedding_pb2_grpc.EmbeddingServiceStub(whisper_daemon.channel)
    clip = (AUDIO / "speech.wav").read_bytes()
    response = stub.Embed(embedding_pb2.EmbedRequest(
        space="whisper", inputs=[common_pb2.Input(audio=clip)], options=embedding_pb2.EmbedOptions(segments=True)))
    embedding = response.results[0].embedding
    assert len(embedding.segments) == 1
    assert embedding.segments[0].start_seconds == 0
    assert math.isclose(embedding.segments[0].end_seconds, 34711 / 16000, rel_tol=1e-9)
    assert max(abs(a - b) for a, b in zip(embedding.segments[0].vector, embedding.vector)) < 1e-6
