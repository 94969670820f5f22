"""The daemon's public API from a second language: Python grpcio stubs generated from Protos/."""
import os
import tempfile

import conftest

import grpc
import pytest

from chorus.v1 import collections_pb2, common_pb2, collections_pb2_grpc, embedding_pb2, embedding_pb2_grpc, system_pb2, system_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def test_health_is_serving(daemon):
    stub = health_pb2_grpc.HealthStub(daemon.channel)
    assert stub.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING
    assert stub.Check(health_pb2.HealthCheckRequest(service="chorus.v1.EmbeddingService")).status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as error:
        stub.Check(health_pb2.HealthCheckRequest(service="nope.Service"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_health_watch_streams_current_status(daemon):
    stub = health_pb2_grpc.HealthStub(daemon.channel)
    stream = stub.Watch(health_pb2.HealthCheckRequest(), timeout=5)
    assert next(stream).status == health_pb2.HealthCheckResponse.SERVING
    stream.cancel()


def test_info(daemon):
    info = system_pb2_grpc.SystemServiceStub(daemon.channel).GetInfo(system_pb2.GetInfoRequest())
    assert info.version == "0.1.0"
    assert info.socket == daemon.socket
    assert info.data_dir == daemon.data_dir
    assert info.pid == daemon.process.pid
    assert info.max_request_bytes == 65536
    assert 0 < info.uptime_seconds < 120


def test_starter_space_is_listed(daemon):
    spaces = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel).ListSpaces(embedding_pb2.ListSpacesRequest())
    assert spaces.default_space == "starter"
    (starter,) = [s for s in spaces.spaces if s.name == "starter"]
    assert starter.dimension == 384
    assert [e.modality for e in starter.encoders] == [common_pb2.MODALITY_TEXT, common_pb2.MODALITY_IMAGE, common_pb2.MODALITY_AUDIO]
    assert [e.architecture for e in starter.encoders] == ["bert", "efficientnet_lite+conse", "whisper_encoder+projection"]


def test_embed_batch_answers_each_input_in_order(daemon):
    stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
    response = stub.Embed(embedding_pb2.EmbedRequest(inputs=[{"text": "a dog playing in the park"}, {}, {"audio": b"RIFF"}, {"text": ""}]))
    assert response.space == "starter" and response.dimension == 384
    kinds = [r.WhichOneof("outcome") for r in response.results]
    assert kinds == ["embedding", "error", "error", "embedding"]
    vector = response.results[0].embedding.vector
    assert len(vector) == 384
    assert abs(sum(v * v for v in vector) - 1.0) < 1e-4
    assert response.results[1].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert response.results[2].error.message.startswith("audio: cannot read the audio"), response.results[2].error.message


def test_embed_matches_reference_vectors(daemon):
    """The starter's vectors through the socket equal sentence-transformers' (committed reference fixture)."""
    import json
    import pathlib

    fixture = json.loads((pathlib.Path(__file__).parents[1] / "EncodersTests/Fixtures/minilm.expected.json").read_text())
    stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
    texts = fixture["texts"][:10]
    response = stub.Embed(embedding_pb2.EmbedRequest(inputs=[{"text": t} for t in texts]))
    for result, expected in zip(response.results, fixture["vectors"][:10]):
        assert max(abs(a - b) for a, b in zip(result.embedding.vector, expected)) < 1e-4


def test_unknown_space_is_not_found(daemon):
    stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
    with pytest.raises(grpc.RpcError) as error:
        stub.Embed(embedding_pb2.EmbedRequest(space="nope", inputs=[{"text": "hello"}]))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no space named 'nope' (available: starter)" in error.value.details()


def test_server_side_files_are_read_by_the_daemon(tmp_path):
    daemon = conftest.Daemon(tempfile.mkdtemp(prefix="chorus-py-", dir="/tmp"), extra_args=("--file-root", str(tmp_path)))
    try:
        check_server_side_files(daemon, tmp_path)
    finally:
        daemon.stop()


def check_server_side_files(daemon, tmp_path):
    stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
    note = tmp_path / "note.txt"
    note.write_text("fine")
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01\x02")
    response = stub.Embed(embedding_pb2.EmbedRequest(inputs=[
        {"file": {"path": str(note)}}, {"text": "fine"}, {"file": {"path": str(binary)}}, {"file": {"path": str(tmp_path)}},
        {"file": {"path": str(note), "modality": common_pb2.MODALITY_AUDIO}}]))
    assert response.results[0].embedding.vector == response.results[1].embedding.vector
    assert response.results[2].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "cannot tell its modality" in response.results[2].error.message
    assert response.results[3].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "not a regular file" in response.results[3].error.message
    assert response.results[4].error.message.startswith("audio: cannot read the audio"), response.results[4].error.message


def test_oversized_request_is_resource_exhausted_and_daemon_keeps_serving(daemon):
    stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
    with pytest.raises(grpc.RpcError) as error:
        stub.Embed(embedding_pb2.EmbedRequest(inputs=[{"audio": os.urandom(100_000)}]))
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "65536" in error.value.details()
    health = health_pb2_grpc.HealthStub(daemon.channel)
    assert health.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING


def test_clip_directory_serves_text_equal_to_reference(tmp_path):
    """`chorusd --model clip=DIR` on a Hugging Face CLIP directory: text vectors equal CLIPModel's text_embeds."""
    import json
    import pathlib

    import conftest

    fixtures = pathlib.Path(__file__).parents[1] / "EncodersTests/Fixtures"
    reference = json.loads((fixtures / "tiny-clip.expected.json").read_text())
    d = conftest.Daemon(str(tmp_path), extra_args=("--no-starter", "--model", f"clip={fixtures / 'tiny-clip'}"))
    try:
        stub = embedding_pb2_grpc.EmbeddingServiceStub(d.channel)
        spaces = stub.ListSpaces(embedding_pb2.ListSpacesRequest())
        assert [(s.name, s.dimension, s.encoders[0].architecture) for s in spaces.spaces] == [("clip", 24, "clip_text")]
        response = stub.Embed(embedding_pb2.EmbedRequest(space="clip", inputs=[{"text": t} for t in reference["texts"]]))
        for result, expected in zip(response.results, reference["vectors"]):
            assert max(abs(a - b) for a, b in zip(result.embedding.vector, expected)) < 1e-4
        assert response.results[7].embedding.truncated  # 100 words > 77 tokens
    finally:
        d.stop()


def test_cache_hit_on_repeat_and_stats(daemon):
    stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
    system = system_pb2_grpc.SystemServiceStub(daemon.channel)
    # The warm start has already put the starter's ConSE class prompts through the cache.
    before = system.GetCacheStats(system_pb2.GetCacheStatsRequest())
    request = embedding_pb2.EmbedRequest(inputs=[{"text": "a sentence the cache will remember"}])
    first, second = stub.Embed(request), stub.Embed(request)
    assert not first.results[0].embedding.cached and second.results[0].embedding.cached
    assert list(first.results[0].embedding.vector) == list(second.results[0].embedding.vector)
    stats = system.GetCacheStats(system_pb2.GetCacheStatsRequest())
    assert (stats.hits - before.hits, stats.misses - before.misses, stats.entries - before.entries) == (1, 1, 1)
    assert 0 < stats.memory_bytes <= stats.memory_limit_bytes and 0 < stats.disk_bytes <= stats.disk_limit_bytes
