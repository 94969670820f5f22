"""The daemon's public API from a second language: Python grpcio stubs generated from Protos/."""
import os

import grpc
import pytest

from chorus.v1 import collections_pb2, collections_pb2_grpc, embedding_pb2, embedding_pb2_grpc, system_pb2, system_pb2_grpc
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


def test_spaces_empty_without_models(daemon):
    spaces = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel).ListSpaces(embedding_pb2.ListSpacesRequest())
    assert list(spaces.spaces) == []
    assert spaces.default_space == ""


def test_unknown_space_is_not_found(daemon):
    stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
    with pytest.raises(grpc.RpcError) as error:
        stub.Embed(embedding_pb2.EmbedRequest(space="nope", inputs=[{"text": "hello"}]))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no space named 'nope'" in error.value.details()


def test_collections_are_unimplemented_with_a_reason(daemon):
    stub = collections_pb2_grpc.CollectionServiceStub(daemon.channel)
    with pytest.raises(grpc.RpcError) as error:
        stub.Search(collections_pb2.SearchRequest(collection="photos", like_id="x"))
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "vector store" in error.value.details()


def test_oversized_request_is_resource_exhausted_and_daemon_keeps_serving(daemon):
    stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
    with pytest.raises(grpc.RpcError) as error:
        stub.Embed(embedding_pb2.EmbedRequest(inputs=[{"audio": os.urandom(100_000)}]))
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "65536" in error.value.details()
    health = health_pb2_grpc.HealthStub(daemon.channel)
    assert health.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING
