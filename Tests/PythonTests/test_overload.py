"""Callers that misbehave under load, from Python grpcio: each is refused or ended cleanly, and the daemon keeps
serving everyone else at once."""
import socket
import tempfile
import time

import grpc
import pytest

import conftest
from chorus.v1 import embedding_pb2, embedding_pb2_grpc


@pytest.fixture
def small_queue():
    d = conftest.Daemon(tempfile.mkdtemp(prefix="chorus-ovl-", dir="/tmp"), extra_args=("--max-batch-size", "8", "--max-queued-inputs", "16"))
    yield d
    d.stop()


def quick_text_call(daemon, text="still serving"):
    stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
    started = time.monotonic()
    response = stub.Embed(embedding_pb2.EmbedRequest(inputs=[{"text": text}]), timeout=5)
    assert len(response.results[0].embedding.vector) == 384
    return time.monotonic() - started


def test_expired_and_microsecond_deadlines_end_cleanly(small_queue):
    stub = embedding_pb2_grpc.EmbeddingServiceStub(small_queue.channel)
    for timeout in (1e-6, 1e-4, 0.001):
        with pytest.raises(grpc.RpcError) as error:
            stub.Embed(embedding_pb2.EmbedRequest(inputs=[{"text": f"in a hurry {timeout}"} for _ in range(8)]), timeout=timeout)
        assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert quick_text_call(small_queue) < 1


def test_a_client_that_disconnects_mid_request_leaves_the_daemon_serving(small_queue):
    channel = grpc.insecure_channel(f"unix://{small_queue.socket}")
    stub = embedding_pb2_grpc.EmbeddingServiceStub(channel)
    jpeg = open(conftest.ROOT / "Tests/MediaTests/Fixtures/formats/baseline.jpg", "rb").read()
    future = stub.Embed.future(embedding_pb2.EmbedRequest(inputs=[{"image": jpeg + str(i).encode()} for i in range(16)]))
    time.sleep(0.05)
    future.cancel()
    channel.close()
    assert quick_text_call(small_queue) < 1


def test_a_connection_that_sends_nothing_blocks_nobody(small_queue):
    silent = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(50)]
    for s in silent:
        s.connect(small_queue.socket)
    try:
        assert quick_text_call(small_queue) < 1
    finally:
        for s in silent:
            s.close()


def test_a_thousand_concurrent_calls_on_one_channel_are_answered_or_refused_clearly(small_queue):
    stub = embedding_pb2_grpc.EmbeddingServiceStub(small_queue.channel)
    futures = [stub.Embed.future(embedding_pb2.EmbedRequest(inputs=[{"text": f"call number {i}"} for _ in range(4)]), timeout=30)
               for i in range(1000)]
    outcomes = {}
    for future in futures:
        try:
            future.result()
            outcomes["OK"] = outcomes.get("OK", 0) + 1
        except grpc.RpcError as error:
            outcomes[error.code().name] = outcomes.get(error.code().name, 0) + 1
    assert set(outcomes) <= {"OK", "RESOURCE_EXHAUSTED"}, outcomes
    assert outcomes.get("OK", 0) >= 4, outcomes
    assert quick_text_call(small_queue) < 1


def test_http_overload_is_429_with_retry_after_and_both_apis_keep_serving(small_queue):
    """OpenAI-shaped requests from 24 threads at once against a 16-input queue: each answered 200 or refused at once
    with 429 and Retry-After, nothing else; then both APIs answer at once."""
    import concurrent.futures

    import httpx

    def call(caller):
        with httpx.Client(transport=httpx.HTTPTransport(uds=small_queue.http_socket), base_url="http://localhost", timeout=60) as client:
            started = time.monotonic()
            answer = client.post("/v1/embeddings", json={"input": [f"caller {caller} text {i} about the weather" for i in range(12)]})
            return answer.status_code, answer.headers.get("retry-after"), answer.json(), time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(call, range(24)))
    statuses = sorted(status for status, _, _, _ in answers)
    assert set(statuses) <= {200, 429}, statuses
    assert 200 in statuses and 429 in statuses, statuses
    for status, retry_after, body, seconds in answers:
        if status == 429:
            assert int(retry_after) >= 1 and "max_queued_inputs" in body["error"]["message"]
            assert body["error"]["type"] == "rate_limit_error" and seconds < 5
        else:
            assert len(body["data"]) == 12
    assert quick_text_call(small_queue) < 1
    with httpx.Client(transport=httpx.HTTPTransport(uds=small_queue.http_socket), base_url="http://localhost", timeout=10) as client:
        assert client.post("/v1/embeddings", json={"input": "after the storm"}).status_code == 200


def test_an_http_client_that_leaves_has_its_queued_inputs_dropped():
    """40 new texts in one OpenAI request to a daemon running one text per batch; the client closes its connection
    at once. Its inputs still queued leave the queue: far fewer than 40 are computed, and the daemon serves on."""
    import httpx

    daemon = conftest.Daemon(tempfile.mkdtemp(prefix="chorus-ovl-", dir="/tmp"), extra_args=("--max-batch-size", "1"))
    try:
        def batches():
            with httpx.Client(transport=httpx.HTTPTransport(uds=daemon.http_socket), base_url="http://localhost", timeout=10) as client:
                text = client.get("/metrics").text
            return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("chorus_batch_size_count"))

        before = batches()
        body = ('{"input": [' + ",".join(f'"a caller who leaves, text number {i}"' for i in range(40)) + "]}").encode()
        with socket.socket(socket.AF_UNIX) as raw:
            raw.connect(daemon.http_socket)
            raw.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                        + str(len(body)).encode() + b"\r\n\r\n" + body)
            time.sleep(0.05)
        time.sleep(3)
        computed = batches() - before
        assert computed < 20, f"{computed} of 40 texts were computed for a client that had left"
        assert quick_text_call(daemon) < 1
    finally:
        daemon.stop()
