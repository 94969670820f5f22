"""Collections through the real daemon from Python: durability under kill -9, concurrency, the CLI's add/search.
Every test runs on both store backends (the `store` fixture): the data dir, and PostgreSQL with pgvector."""
import pathlib
import signal
import subprocess
import tempfile
import threading
import json
import shutil

import grpc
import pytest

import conftest
from chorus.v1 import collections_pb2, collections_pb2_grpc

DIMENSION = 384


def vector(seed):
    import random

    rng = random.Random(seed)
    return [rng.uniform(-1, 1) for _ in range(DIMENSION)]


def test_acknowledged_upserts_survive_kill_9(store):
    """A stream of upserts, SIGKILL at an arbitrary moment, restart: every acknowledged item is there."""
    for round_number in range(3):
        directory = tempfile.mkdtemp(prefix="chorus-k9-", dir="/tmp")
        # The collection's space: the tiny fixture model (32-d), so the daemon starts fast.
        fixture = pathlib.Path(__file__).parents[1] / "EncodersTests/Fixtures/tiny-bert-st"
        d = conftest.Daemon(directory, extra_args=("--no-starter", "--model", f"tiny={fixture}"), store=store)
        stub = collections_pb2_grpc.CollectionServiceStub(d.channel)
        stub.CreateCollection(collections_pb2.CreateCollectionRequest(name=f"c{round_number}", space="tiny"))
        acknowledged = []
        stop = threading.Event()

        def writer():
            i = 0
            while not stop.is_set():
                ids = [f"r{round_number}-{i}-{j}" for j in range(5)]
                try:
                    stub.Upsert(collections_pb2.UpsertRequest(collection=f"c{round_number}", items=[
                        {"id": item_id, "vector": {"values": vector(hash(item_id) % 1000)[:32]}} for item_id in ids]), timeout=5)
                except grpc.RpcError:
                    return
                acknowledged.extend(ids)
                i += 1

        thread = threading.Thread(target=writer)
        thread.start()
        threading.Event().wait(0.3 + 0.2 * round_number)
        d.process.send_signal(signal.SIGKILL)
        d.process.wait()
        stop.set()
        thread.join()
        assert acknowledged, "the writer got no acknowledgement before the kill"
        d2 = conftest.Daemon(directory, extra_args=("--no-starter", "--model", f"tiny={fixture}"), store=store)
        try:
            stub2 = collections_pb2_grpc.CollectionServiceStub(d2.channel)
            got = stub2.GetItems(collections_pb2.GetItemsRequest(collection=f"c{round_number}", ids=acknowledged))
            assert list(got.not_found) == []
            info = stub2.GetCollection(collections_pb2.GetCollectionRequest(name=f"c{round_number}"))
            assert info.count >= len(acknowledged)
        finally:
            d2.stop()


def test_bad_collection_requests_get_clear_statuses(store_daemon):
    daemon = store_daemon
    stub = collections_pb2_grpc.CollectionServiceStub(daemon.channel)
    stub.CreateCollection(collections_pb2.CreateCollectionRequest(name="photos"))
    cases = [
        (lambda: stub.CreateCollection(collections_pb2.CreateCollectionRequest(name="photos")), grpc.StatusCode.ALREADY_EXISTS, "already exists"),
        (lambda: stub.CreateCollection(collections_pb2.CreateCollectionRequest(name="bad name!")), grpc.StatusCode.INVALID_ARGUMENT, "must be 1 to 64"),
        (lambda: stub.CreateCollection(collections_pb2.CreateCollectionRequest(name="x", space="nope")), grpc.StatusCode.NOT_FOUND, "no space named 'nope'"),
        (lambda: stub.Search(collections_pb2.SearchRequest(collection="nope", like_id="a")), grpc.StatusCode.NOT_FOUND, "no collection named 'nope'"),
        (lambda: stub.Search(collections_pb2.SearchRequest(collection="photos", vector={"values": [1.0, 2.0]})), grpc.StatusCode.INVALID_ARGUMENT, "dimension 2"),
        (lambda: stub.Search(collections_pb2.SearchRequest(collection="photos", like_id="ghost")), grpc.StatusCode.NOT_FOUND, "no item 'ghost'"),
    ]
    for call, code, text in cases:
        with pytest.raises(grpc.RpcError) as error:
            call()
        assert error.value.code() == code and text in error.value.details(), error.value.details()
    response = stub.Upsert(collections_pb2.UpsertRequest(collection="photos", items=[
        {"id": "ok", "content": {"text": "a red bicycle"}},
        {"id": "x" * 300, "content": {"text": "long id"}},
        {"id": "dims", "vector": {"values": [0.5] * 3}},
        {"id": "meta", "content": {"text": "big metadata"}, "metadata": {"k": "v" * 2000}},
    ]))
    assert [r.WhichOneof("outcome") for r in response.results] == ["id", "error", "error", "error"]
    assert "over the limit of 256" in response.results[1].error.message
    assert "dimension 3" in response.results[2].error.message
    assert "over the limit of 1024" in response.results[3].error.message


def test_concurrent_upserts_and_searches(store_daemon):
    daemon = store_daemon
    stub = collections_pb2_grpc.CollectionServiceStub(daemon.channel)
    stub.CreateCollection(collections_pb2.CreateCollectionRequest(name="busy"))
    errors = []

    def worker(n):
        try:
            for i in range(20):
                stub.Upsert(collections_pb2.UpsertRequest(collection="busy", items=[{"id": f"w{n}-{i}", "vector": {"values": vector(n * 100 + i)}}]))
                hits = stub.Search(collections_pb2.SearchRequest(collection="busy", vector={"values": vector(n * 100 + i)}, k=1)).hits
                assert hits[0].id == f"w{n}-{i}" and hits[0].score > 0.999
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert stub.GetCollection(collections_pb2.GetCollectionRequest(name="busy")).count == 80


def test_cli_add_folder_then_search_by_text(tmp_path, store):
    # Default request limit: the folder holds a real photo of 466 kB.
    daemon = conftest.Daemon(tempfile.mkdtemp(prefix="chorus-py-", dir="/tmp"), store=store)
    try:
        _add_folder_then_search(daemon, tmp_path)
    finally:
        daemon.stop()


def _add_folder_then_search(daemon, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "dog.txt").write_text("My dog loves to chase the ball in the park")
    (notes / "budget.txt").write_text("Minutes of the meeting about the quarterly budget")
    (notes / "pie.txt").write_text("A recipe for apple pie with cinnamon")
    (notes / "blob.bin").write_bytes(b"\x00\x01\x02")
    # A real photo beside the notes: the starter space embeds it into the same space as the text.
    shutil.copy(conftest.ROOT / "Tests" / "Data" / "skimage" / "coffee.png", notes / "coffee.png")
    cli = [str(conftest.BIN_DIR / "chorus")]
    sock = ["--socket", daemon.socket]
    run = lambda *args: subprocess.run(cli + [args[0]] + sock + list(args[1:]), capture_output=True, text=True)
    created = subprocess.run(cli + ["collection", "create"] + sock + ["notes"], capture_output=True, text=True)
    assert created.returncode == 0, created.stderr
    added = run("add", "notes", str(notes))
    assert added.returncode == 1 and "added 4, skipped 0 already there, failed 1" in added.stdout and "blob.bin" in added.stdout
    again = run("add", "notes", str(notes / "dog.txt"))
    assert again.returncode == 0 and "skipped 1 already there" in again.stdout
    found = run("search", "notes", "--text", "a puppy playing fetch", "--k", "2", "--json")
    assert found.returncode == 0, found.stderr
    hits = [json.loads(line) for line in found.stdout.splitlines()]
    assert len(hits) == 2 and hits[0]["id"].endswith("dog.txt") and hits[0]["modality"] == "text"
    assert set(hits[0]) == {"id", "score", "modality", "metadata", "source"}
    photo = run("search", "notes", "--text", "a cup of espresso", "--k", "1", "--json")
    assert photo.returncode == 0, photo.stderr
    (hit,) = [json.loads(line) for line in photo.stdout.splitlines()]
    assert hit["id"].endswith("coffee.png") and hit["modality"] == "image", hit
    bad = run("search", "notes", "--text", "x", "--where", "novalue")
    assert bad.returncode == 2


def test_filtered_search_is_exact_for_rare_filters_on_both_backends(store):
    """Above the HNSW threshold: a metadata or modality filter narrows the hits before the k are chosen, the top
    hits equal an exact ranking computed here, and a filter only 5 items pass still returns all 5."""
    import math

    fixture = pathlib.Path(__file__).parents[1] / "EncodersTests/Fixtures/tiny-bert-st"
    d = conftest.Daemon(tempfile.mkdtemp(prefix="chorus-f-", dir="/tmp"), extra_args=("--no-starter", "--model", f"tiny={fixture}", "--hnsw-threshold", "50"), store=store)
    try:
        stub = collections_pb2_grpc.CollectionServiceStub(d.channel)
        stub.CreateCollection(collections_pb2.CreateCollectionRequest(name="f", space="tiny"))
        items = []
        for i in range(400):
            modality = "MODALITY_IMAGE" if i % 4 == 0 else "MODALITY_TEXT"
            metadata = {"group": str(i % 3)}
            if i % 80 == 7:
                metadata["rare"] = "yes"
            items.append({"id": f"i{i}", "vector": {"values": vector(i)[:32], "modality": modality}, "metadata": metadata})
        for first in range(0, 400, 100):
            stub.Upsert(collections_pb2.UpsertRequest(collection="f", items=items[first:first + 100]))
        query = vector(10_001)[:32]

        def cosine(a, b):
            return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

        def exact(accept, k):
            ranked = sorted((item for item in items if accept(item)), key=lambda item: -cosine(query, item["vector"]["values"]))
            return [item["id"] for item in ranked[:k]]

        group = stub.Search(collections_pb2.SearchRequest(collection="f", vector={"values": query}, k=10, filter={"metadata_equals": {"group": "1"}})).hits
        assert all(hit.metadata["group"] == "1" for hit in group) and len(group) == 10
        expected = exact(lambda item: item["metadata"]["group"] == "1", 10)
        assert group[0].id == expected[0] and len({hit.id for hit in group} & set(expected)) >= 9
        assert [hit.score for hit in group] == sorted((hit.score for hit in group), reverse=True)
        rare = stub.Search(collections_pb2.SearchRequest(collection="f", vector={"values": query}, k=10, filter={"metadata_equals": {"rare": "yes"}})).hits
        assert [hit.id for hit in rare] == exact(lambda item: "rare" in item["metadata"], 10) and len(rare) == 5
        images = stub.Search(collections_pb2.SearchRequest(collection="f", vector={"values": query}, k=5, filter={"modalities": ["MODALITY_IMAGE"]})).hits
        assert all(hit.modality == 2 for hit in images) and len(images) == 5, images
        both = stub.Search(collections_pb2.SearchRequest(collection="f", vector={"values": query}, k=400, filter={"modalities": ["MODALITY_IMAGE"], "metadata_equals": {"group": "2"}})).hits
        assert [hit.id for hit in both] == exact(lambda item: item["vector"]["modality"] == "MODALITY_IMAGE" and item["metadata"]["group"] == "2", 400)
        everything = stub.Search(collections_pb2.SearchRequest(collection="f", vector={"values": query}, k=1000)).hits
        assert len(everything) == 400
    finally:
        d.stop()
