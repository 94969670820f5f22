"""The HTTP API against a real chorusd: the stock `openai` client over the Unix socket, curl, raw sockets for
the protocol's corners, the native JSON routes beside gRPC, API keys on TCP, and metrics checked by promtool and
scraped by a real Prometheus server."""
import base64
import json
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import grpc
import httpx
import numpy as np
import openai
import pytest

import conftest
from chorus.v1 import collections_pb2, collections_pb2_grpc, common_pb2, embedding_pb2, embedding_pb2_grpc

JPEG = conftest.ROOT / "Tests" / "MediaTests" / "Fixtures" / "formats" / "baseline.jpg"


def openai_client(daemon):
    return openai.OpenAI(
        base_url="http://localhost/v1", api_key="unused",
        http_client=httpx.Client(transport=httpx.HTTPTransport(uds=daemon.http_socket)))


def http(daemon, method, path, **kwargs):
    with httpx.Client(transport=httpx.HTTPTransport(uds=daemon.http_socket), base_url="http://localhost", timeout=30) as client:
        return client.request(method, path, **kwargs)


def grpc_vectors(daemon, texts):
    stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
    response = stub.Embed(embedding_pb2.EmbedRequest(inputs=[common_pb2.Input(text=t) for t in texts]))
    return [np.array(r.embedding.vector, dtype=np.float32) for r in response.results]


@pytest.fixture(scope="module")
def shared():
    """One daemon for the tests that only read (each daemon costs seconds of warm-up)."""
    directory = tempfile.mkdtemp(prefix="chorus-http-", dir="/tmp")
    d = conftest.Daemon(directory, extra_args=("--max-request-bytes", "65536"))
    yield d
    d.stop()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_openai_client_gets_the_grpc_vectors_in_base64_and_float(shared):
    client = openai_client(shared)
    texts = ["a dog running on the beach", "quarterly earnings beat expectations", "ein Hund am Strand"]
    expected = grpc_vectors(shared, texts)
    # With numpy installed the client asks for base64 and decodes it itself.
    answer = client.embeddings.create(model="default", input=texts)
    assert answer.model == "starter"
    assert [d.index for d in answer.data] == [0, 1, 2]
    for got, want in zip(answer.data, expected):
        assert np.array_equal(np.array(got.embedding, dtype=np.float32), want)
    assert answer.usage.prompt_tokens > len(texts) and answer.usage.total_tokens == answer.usage.prompt_tokens
    as_floats = client.embeddings.create(model="starter", input=texts[0], encoding_format="float")
    assert np.array_equal(np.array(as_floats.data[0].embedding, dtype=np.float32), expected[0])


def test_dimensions_keep_a_renormalised_prefix(shared):
    client = openai_client(shared)
    full = grpc_vectors(shared, ["a red bicycle"])[0]
    short = np.array(client.embeddings.create(model="", input="a red bicycle", dimensions=64).data[0].embedding, dtype=np.float32)
    assert short.shape == (64,)
    np.testing.assert_allclose(short, full[:64] / np.linalg.norm(full[:64]), rtol=1e-5, atol=1e-6)


def test_token_ids_are_used_as_given(shared):
    # all-MiniLM-L6-v2's WordPiece: [CLS]=101 "hello"=7592 [SEP]=102.
    body = http(shared, "POST", "/v1/embeddings", json={"input": [[101, 7592, 102], "hello"], "encoding_format": "float"}).json()
    ids, text = (np.array(d["embedding"], dtype=np.float32) for d in body["data"])
    np.testing.assert_allclose(ids, text, atol=1e-6)
    flat = http(shared, "POST", "/v1/embeddings", json={"input": [101, 7592, 102]}).json()
    assert len(flat["data"]) == 1 and np.allclose(flat["data"][0]["embedding"], text, atol=1e-6)


def test_images_and_audio_as_objects_and_data_urls(shared):
    jpeg = JPEG.read_bytes()
    wav = subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-t", "wav", "-", "synth", "1", "sine", "440"], capture_output=True, check=True).stdout
    body = {"input": [
        {"text": "a tone"},
        {"image": base64.b64encode(jpeg).decode()},
        {"image": "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()},
        {"audio": "data:audio/wav;base64," + base64.b64encode(wav).decode()},
    ], "encoding_format": "float"}
    answer = http(shared, "POST", "/v1/embeddings", json=body)
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert len(data) == 4 and all(len(d["embedding"]) == 384 for d in data)
    assert data[1]["embedding"] == data[2]["embedding"]
    # Non-text inputs count no tokens.
    assert answer.json()["usage"]["prompt_tokens"] == http(shared, "POST", "/v1/embeddings", json={"input": "a tone"}).json()["usage"]["prompt_tokens"]


def test_models_are_listed_in_openais_shape(shared):
    models = openai_client(shared).models.list()
    starter = next(m for m in models.data if m.id == "starter")
    assert starter.object == "model" and starter.owned_by == "chorus"
    raw = http(shared, "GET", "/v1/models").json()
    assert raw["object"] == "list" and raw["data"][0]["dimension"] == 384 and "image" in raw["data"][0]["modalities"]
    assert raw["data"][0]["precision"] == "fp32"


@pytest.mark.parametrize("body, status, needle", [
    (b"{not json", 400, "not valid JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (json.dumps({"input": []}).encode(), 400, "empty list"),
    (json.dumps({"input": ""}).encode(), 400, "empty string"),
    (json.dumps({"input": ["fine", ""]}).encode(), 400, "input[1]"),
    (json.dumps({"input": 5}).encode(), 400, "string or a list"),
    (json.dumps({"input": ["x"] * 2049}).encode(), 400, "2049"),
    (json.dumps({"input": "x", "model": "nope"}).encode(), 404, "starter"),
    (json.dumps({"input": "x", "dimensions": 0}).encode(), 400, "dimensions"),
    (json.dumps({"input": "x", "dimensions": 385}).encode(), 400, "384"),
    (json.dumps({"input": "x", "dimensions": "8"}).encode(), 400, "dimensions"),
    (json.dumps({"input": "x", "encoding_format": "int8"}).encode(), 400, "encoding_format"),
    (json.dumps({"input": [{"image": "not base64!"}]}).encode(), 400, "base64"),
    (json.dumps({"input": [{"image": "data:image/gif;base64,R0lGODlh"}]}).encode(), 400, "image/gif"),
    (json.dumps({"input": [{"audio": "aGVsbG8gd29ybGQ="}]}).encode(), 400, "input[0]"),
    (json.dumps({"input": [{"video": "aGVsbG8="}]}).encode(), 400, "video"),
    (json.dumps({"input": [[1, -3]]}).encode(), 400, "token id"),
    (json.dumps({"input": [[1, 999999]]}).encode(), 400, "vocabulary"),
])
def test_bad_embedding_requests_get_openai_errors(shared, body, status, needle):
    answer = http(shared, "POST", "/v1/embeddings", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert needle in error["message"] and set(error) == {"message", "type", "param", "code"}
    assert grpc_vectors(shared, ["still serving"])[0].shape == (384,)


def test_openai_client_raises_its_own_error_types(shared):
    client = openai_client(shared)
    with pytest.raises(openai.NotFoundError, match="starter"):
        client.embeddings.create(model="missing", input="x")
    with pytest.raises(openai.BadRequestError, match="empty"):
        client.embeddings.create(model="default", input=[])


def test_protocol_corners(shared):
    # Oversized body: refused with 413 from its Content-Length (the shared allows 64 KiB here).
    big = http(shared, "POST", "/v1/embeddings", content=b"{" + b" " * 200_000 + b"}", headers={"content-type": "application/json"})
    assert big.status_code == 413 and "max_request_bytes" in big.json()["error"]["message"]
    # The same body chunked (no length up front) is cut off while it streams in.
    chunked = http(shared, "POST", "/v1/embeddings", content=(b" " * 10_000 for _ in range(20)))
    assert chunked.status_code == 413
    # A small chunked body works.
    ok = http(shared, "POST", "/v1/embeddings", content=iter([b'{"input": ', b'"chunked"}']))
    assert ok.status_code == 200, ok.text
    unknown = http(shared, "GET", "/v1/nothing-here")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    wrong = http(shared, "GET", "/v1/embeddings")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    # HTTP/1.0 and keep-alive on one raw connection.
    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(shared.http_socket)
        raw.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.5)
        assert raw.recv(65536).count(b"SERVING") == 2
    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(shared.http_socket)
        raw.sendall(b"GET /health HTTP/1.0\r\n\r\n")
        raw.settimeout(10)
        reply = raw.recv(65536)
        assert b" 200 " in reply.split(b"\r\n")[0] and b"SERVING" in reply


def test_slow_headers_are_dropped_and_the_daemon_keeps_serving():
    directory = tempfile.mkdtemp(prefix="chorus-http-", dir="/tmp")
    daemon = conftest.Daemon(directory, extra_args=("--http-header-timeout", "1"))
    try:
        with socket.socket(socket.AF_UNIX) as raw:
            raw.connect(daemon.http_socket)
            raw.settimeout(10)
            started = time.monotonic()
            raw.sendall(b"GET /health HTTP/1.1\r\n")
            for _ in range(5):
                try:
                    raw.sendall(b"X-Slow: y\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    break
                time.sleep(0.5)
            closed = raw.recv(100) == b""
            assert closed and time.monotonic() - started < 8
        assert http(daemon, "GET", "/health").json() == {"status": "SERVING"}
    finally:
        daemon.stop()


def test_native_routes_use_the_proto_json_mapping_and_share_the_store_with_grpc(store_daemon):
    daemon = store_daemon
    jpeg = JPEG.read_bytes()
    assert http(daemon, "POST", "/v1/collections", json={"name": "pics"}).json()["dimension"] == 384
    assert http(daemon, "POST", "/v1/collections", json={"name": "pics"}).status_code == 409
    upsert = http(daemon, "POST", "/v1/collections/pics/upsert", json={"items": [
        {"id": "photo", "content": {"image": base64.b64encode(jpeg).decode()}, "metadata": {"kind": "photo"}},
        {"id": "note", "content": {"text": "a shopping list: eggs, milk, bread"}},
        {"id": "broken", "content": {"image": base64.b64encode(b"not an image").decode()}},
    ]}).json()
    assert [r.get("id") for r in upsert["results"]] == ["photo", "note", None]
    assert upsert["results"][2]["error"]["code"] == 3 and "image" in upsert["results"][2]["error"]["message"]
    hits = http(daemon, "POST", "/v1/collections/pics/search", json={"content": {"text": "groceries to buy"}, "k": 2}).json()["hits"]
    assert hits[0]["id"] == "note"
    # gRPC sees what HTTP wrote.
    stub = collections_pb2_grpc.CollectionServiceStub(daemon.channel)
    assert stub.GetCollection(collections_pb2.GetCollectionRequest(name="pics")).count == 2
    page = http(daemon, "GET", "/v1/collections/pics/items", params={"page_size": 1}).json()
    assert len(page["items"]) == 1 and page["nextPageToken"]
    rest = http(daemon, "GET", "/v1/collections/pics/items", params={"page_size": 1, "page_token": page["nextPageToken"]}).json()
    assert rest["items"][0]["id"] != page["items"][0]["id"]
    got = http(daemon, "POST", "/v1/collections/pics/get", json={"ids": ["photo", "gone"], "includeVectors": True}).json()
    assert len(got["items"][0]["vector"]) == 384 and got["notFound"] == ["gone"]
    assert http(daemon, "POST", "/v1/collections/pics/search", json={"likeId": "photo", "k": 1}).json()["hits"][0]["id"] == "photo"
    assert http(daemon, "POST", "/v1/collections/pics/search", json={"kk": 1}).status_code == 400
    assert http(daemon, "POST", "/v1/collections/pics/remove", json={"ids": ["note"]}).json()["removed"] == "1"
    assert http(daemon, "DELETE", "/v1/collections/pics").json()["deletedItems"] == "1"
    assert http(daemon, "GET", "/v1/collections/pics").status_code == 404
    native = http(daemon, "POST", "/v1/embed", json={"inputs": [{"text": "x"}, {}]}).json()
    assert len(native["results"][0]["embedding"]["vector"]) == 384 and native["results"][1]["error"]["code"] == 3
    assert http(daemon, "GET", "/v1/info").json()["spaces"] == ["starter"]
    assert int(http(daemon, "GET", "/v1/cache").json()["misses"]) > 0  # proto3 JSON: 64-bit numbers as strings


def test_curl_over_the_unix_socket(shared):
    curl = ["curl", "-s", "--unix-socket", shared.http_socket]
    answer = subprocess.run(curl + ["http://localhost/v1/embeddings", "-H", "content-type: application/json", "-d", '{"input": "hello from curl"}'],
                            capture_output=True, check=True)
    data = json.loads(answer.stdout)["data"][0]["embedding"]
    assert np.array_equal(np.array(data, dtype=np.float32), grpc_vectors(shared, ["hello from curl"])[0])
    assert json.loads(subprocess.run(curl + ["http://localhost/health"], capture_output=True, check=True).stdout) == {"status": "SERVING"}


def test_tcp_needs_the_api_key_and_non_loopback_needs_a_key_file(tmp_path):
    key = tmp_path / "key"
    key.write_text("k3y-for-the-tests-0123456789\n")
    key.chmod(0o600)
    port = free_port()
    directory = tempfile.mkdtemp(prefix="chorus-http-", dir="/tmp")
    daemon = conftest.Daemon(directory, extra_args=("--http-address", f"127.0.0.1:{port}", "--http-api-key-file", str(key)))
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(base + "/health").status_code == 200
        refused = httpx.post(base + "/v1/embeddings", json={"input": "x"})
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert httpx.post(base + "/v1/embeddings", json={"input": "x"}, headers={"authorization": "Bearer wrong"}).status_code == 401
        metrics = httpx.get(base + "/metrics", headers={"authorization": "Bearer k3y-for-the-tests-0123456789"}).text
        assert 'chorus_rejected_requests_total{reason="unauthenticated"} 2' in metrics
        assert 'chorus_requests_total{api="http",method="refused",code="401"} 2' in metrics
        client = openai.OpenAI(base_url=base + "/v1", api_key="k3y-for-the-tests-0123456789")
        assert len(client.embeddings.create(model="default", input="x").data[0].embedding) == 384
    finally:
        daemon.stop()
    open_key = tmp_path / "open-key"
    open_key.write_text("k3y-for-the-tests-0123456789")
    open_key.chmod(0o644)
    for args, needle in [(("--http-address", "0.0.0.0:1"), "loopback"), (("--http-api-key-file", str(open_key)), "chmod")]:
        directory = tempfile.mkdtemp(prefix="chorus-http-", dir="/tmp")
        result = subprocess.run([str(conftest.BIN_DIR / "chorusd"), "--socket", os.path.join(directory, "c.sock"), "--data-dir", os.path.join(directory, "d"), *args],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode != 0 and needle in result.stderr


def test_no_http_turns_it_off_and_a_second_daemon_leaves_the_socket_alone(daemon):
    directory = tempfile.mkdtemp(prefix="chorus-http-", dir="/tmp")
    quiet = conftest.Daemon(directory, extra_args=("--no-http",))
    try:
        assert not os.path.exists(quiet.http_socket)
    finally:
        quiet.stop()
    assert oct(os.stat(daemon.http_socket).st_mode & 0o777) == oct(os.stat(daemon.socket).st_mode & 0o777)
    second = subprocess.run([str(conftest.BIN_DIR / "chorusd"), "--socket", os.path.join(tempfile.mkdtemp(dir="/tmp"), "c.sock"),
                             "--http-socket", daemon.http_socket, "--data-dir", tempfile.mkdtemp(dir="/tmp")], capture_output=True, text=True, timeout=60)
    assert second.returncode != 0 and daemon.http_socket in second.stderr
    assert http(daemon, "GET", "/health").status_code == 200


def test_tcp_callers_have_no_credentials_so_no_server_side_files(tmp_path):
    root = tmp_path / "files"
    root.mkdir()
    (root / "note.txt").write_text("x")
    port = free_port()
    directory = tempfile.mkdtemp(prefix="chorus-http-", dir="/tmp")
    daemon = conftest.Daemon(directory, extra_args=("--http-address", f"127.0.0.1:{port}", "--file-root", str(tmp_path)))
    try:
        shutil.copy(JPEG, root / "photo.jpg")
        request = {"inputs": [{"file": {"path": str(root / "photo.jpg")}}]}
        over_tcp = httpx.post(f"http://127.0.0.1:{port}/v1/embed", json=request).json()
        assert over_tcp["results"][0]["error"]["code"] == 7 and "credentials" in over_tcp["results"][0]["error"]["message"]
        over_socket = http(daemon, "POST", "/v1/embed", json=request).json()
        assert len(over_socket["results"][0]["embedding"]["vector"]) == 384
        # A file the daemon read for this caller gets no preview: others who may search the collection would see it.
        http(daemon, "POST", "/v1/collections", json={"name": "mixed"})
        upsert = http(daemon, "POST", "/v1/collections/mixed/upsert", json={"items": [
            {"id": "by-path", "content": {"file": {"path": str(root / "photo.jpg")}}},
            {"id": "by-bytes", "content": {"image": base64.b64encode(JPEG.read_bytes()).decode()}}]}).json()
        assert [r.get("id") for r in upsert["results"]] == ["by-path", "by-bytes"], upsert
        assert http(daemon, "GET", "/v1/collections/mixed/items/by-path/thumbnail").status_code == 404
        assert http(daemon, "GET", "/v1/collections/mixed/items/by-bytes/thumbnail").headers["content-type"] == "image/jpeg"
    finally:
        daemon.stop()


def metrics_text(daemon):
    return http(daemon, "GET", "/metrics").text


def test_metrics_pass_promtool_and_count_both_apis(daemon):
    grpc_vectors(daemon, ["counted over grpc"])
    openai_client(daemon).embeddings.create(model="default", input=["counted over http", "counted over grpc"])
    http(daemon, "POST", "/v1/embeddings", json={"input": []})
    text = metrics_text(daemon)
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    for name in ["chorus_requests_total", "chorus_request_duration_seconds_bucket", "chorus_embed_inputs_total", "chorus_batch_size_bucket",
                 "chorus_inference_duration_seconds_bucket", "chorus_queue_depth", "chorus_cache_hits_total", "chorus_cache_misses_total",
                 "chorus_cache_evictions_total", "chorus_cache_bytes", "chorus_build_info", "process_resident_memory_bytes",
                 "process_cpu_seconds_total", "process_open_fds"]:
        assert f"\n{name}" in text, name
    assert 'chorus_requests_total{api="grpc",method="Embed",code="OK"} 1' in text
    assert 'chorus_requests_total{api="http",method="OpenAI.Embeddings",code="200"} 1' in text
    assert 'chorus_requests_total{api="http",method="OpenAI.Embeddings",code="400"} 1' in text
    assert 'chorus_embed_inputs_total{space="starter",modality="text",outcome="cached"} 1' in text
    assert 'chorus_embed_inputs_total{space="starter",modality="text",outcome="computed"} 2' in text


def test_a_real_prometheus_scrapes_chorusd(tmp_path):
    if shutil.which("prometheus") is None:
        pytest.fail("prometheus is not installed (scripts/install-deps installs it)")
    port, prometheus_port = free_port(), free_port()
    directory = tempfile.mkdtemp(prefix="chorus-http-", dir="/tmp")
    daemon = conftest.Daemon(directory, extra_args=("--http-address", f"127.0.0.1:{port}"))
    config = tmp_path / "prometheus.yml"
    config.write_text(f"global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: chorus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
    server = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                               f"--web.listen-address=127.0.0.1:{prometheus_port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        grpc_vectors(daemon, ["scraped"])
        deadline = time.monotonic() + 60
        found = None
        while time.monotonic() < deadline and not (found and "Embed" in {series["metric"]["method"] for series in found}):
            time.sleep(1)
            try:
                query = urllib.request.urlopen(f"http://127.0.0.1:{prometheus_port}/api/v1/query?query=chorus_requests_total%7Bapi%3D%22grpc%22%7D", timeout=5)
                found = json.load(query)["data"]["result"]
            except OSError:
                pass
        assert found and "Embed" in {series["metric"]["method"] for series in found}
        up = json.load(urllib.request.urlopen(f"http://127.0.0.1:{prometheus_port}/api/v1/query?query=up%7Bjob%3D%22chorus%22%7D", timeout=5))
        assert up["data"]["result"][0]["value"][1] == "1"
    finally:
        server.terminate()
        server.wait(timeout=20)
        daemon.stop()


def test_socket_activation_passes_both_sockets_told_apart_by_name():
    """As chorusd.socket + chorusd-http.socket do: two descriptors, named grpc and http (LISTEN_FDNAMES)."""
    if shutil.which("systemd-socket-activate") is None:
        pytest.fail("systemd-socket-activate is missing (Debian package systemd; scripts/install-deps installs it)")
    directory = tempfile.mkdtemp(prefix="chorus-act-", dir="/tmp")
    grpc_path, http_path = os.path.join(directory, "g.sock"), os.path.join(directory, "h.sock")
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")}
    activator = subprocess.Popen(["systemd-socket-activate", "-l", grpc_path, "-l", http_path, "--fdname=grpc:http",
                                  str(conftest.BIN_DIR / "chorusd"), "--data-dir", os.path.join(directory, "data")],
                                 env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and health != 200:
            try:
                with httpx.Client(transport=httpx.HTTPTransport(uds=http_path), base_url="http://localhost", timeout=5) as client:
                    health = client.get("/health").status_code
            except httpx.HTTPError:
                time.sleep(0.2)
        assert health == 200
        with httpx.Client(transport=httpx.HTTPTransport(uds=http_path), base_url="http://localhost", timeout=30) as client:
            info = client.get("/v1/info").json()
        assert "'grpc'" in info["socket"] and "socket activation" in info["socket"]
        assert not os.path.exists(os.path.join(directory, "http.sock")), "no socket of its own beside the activated ones"
        channel = grpc.insecure_channel(f"unix://{grpc_path}")
        stub = embedding_pb2_grpc.EmbeddingServiceStub(channel)
        assert len(stub.Embed(embedding_pb2.EmbedRequest(inputs=[common_pb2.Input(text="x")])).results[0].embedding.vector) == 384
        channel.close()
    finally:
        activator.terminate()
        activator.wait(timeout=30)


def test_garbage_on_the_http_socket_leaves_both_apis_serving(shared):
    """Random and mutated requests straight onto the socket (NIO's parser, Hummingbird's router, our routes and
    SwiftProtobuf's JSON decoder): every connection gets an answer or is closed, and both APIs serve afterwards."""
    import random

    rng = random.Random(20261130)
    seeds = [
        b'POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{"input": ["hello"]}',
        b'POST /v1/embed HTTP/1.1\r\nHost: x\r\nContent-Length: 31\r\n\r\n{"inputs": [{"text": "hello"}]}',
        b'POST /v1/collections/x/search HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"k":\r\n2\r\n1}\r\n0\r\n\r\n',
        b"GET /v1/collections/a/items?page_size=3&page_token=%%% HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /health HTTP/1.0\r\n\r\n",
    ]
    answered = 0
    for round in range(150):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.4:
                data[at] = rng.randrange(256)
            elif choice < 0.7:
                del data[at:at + rng.randint(1, 8)]
            else:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        with socket.socket(socket.AF_UNIX) as raw:
            raw.settimeout(5)
            raw.connect(shared.http_socket)
            raw.settimeout(2)
            try:
                raw.sendall(bytes(data))
                reply = raw.recv(4096)  # an answer, a close, or (a request still waiting for bytes) a timeout
            except (ConnectionResetError, BrokenPipeError, socket.timeout):
                reply = b""
            if reply.startswith(b"HTTP/1."):
                answered += 1
                assert b" 500 " not in reply.split(b"\r\n")[0], reply[:300]
    assert answered > 0
    assert http(shared, "GET", "/health").json() == {"status": "SERVING"}
    assert http(shared, "HEAD", "/health").status_code == 200
    assert grpc_vectors(shared, ["after the garbage"])[0].shape == (384,)
