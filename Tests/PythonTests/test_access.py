"""Who may make the daemon do what: callers told apart by the kernel's credentials (SO_PEERCRED), allowed uids,
and server-side files read only under file roots and only when the caller itself could read them.

The daemon runs as the test's user (root in CI). Other callers are this same Python client run under another uid
by `setpriv`, so the daemon sees a real process of that uid on its socket."""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import grpc
import pytest

import conftest
from chorus.v1 import embedding_pb2, embedding_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

NOBODY = 65534
CLIENT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import grpc
from chorus.v1 import embedding_pb2, embedding_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
channel = grpc.insecure_channel("unix://" + sys.argv[2])
request = json.loads(sys.argv[3])
out = {"health": health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest()).status}
metadata = [(k, v) for k, v in request.get("metadata", {}).items()]
try:
    response = embedding_pb2_grpc.EmbeddingServiceStub(channel).Embed(
        embedding_pb2.EmbedRequest(inputs=request["inputs"]), metadata=metadata, timeout=30)
    out["results"] = [{"code": r.error.code, "message": r.error.message, "dimension": len(r.embedding.vector)} for r in response.results]
except grpc.RpcError as error:
    out["status"] = error.code().name
    out["message"] = error.details()
print(json.dumps(out))
"""

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client under another uid (CI runs as root)")


def as_uid(uid, daemon, request):
    """Runs one Embed as a process of `uid` (and its group), returning what it saw."""
    result = subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", sys.executable, "-c", CLIENT,
         str(conftest.STUBS), daemon.socket, json.dumps(request)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def open_daemon(*args):
    directory = tempfile.mkdtemp(prefix="chorus-acl-", dir="/tmp")
    os.chmod(directory, 0o755)  # other uids must reach the socket (its own mode is set below)
    return conftest.Daemon(directory, extra_args=("--socket-mode", "0666", *args))


@needs_root
def test_a_caller_of_another_uid_is_refused_and_cannot_claim_to_be_root():
    daemon = open_daemon("--allowed-uids", "0")
    try:
        seen = as_uid(NOBODY, daemon, {"inputs": [{"text": "hello"}]})
        assert seen["health"] == health_pb2.HealthCheckResponse.SERVING, "health checks stay open"
        assert seen["status"] == "PERMISSION_DENIED", seen
        assert f"uid {NOBODY} is not admitted" in seen["message"] and "allowed_uids" in seen["message"]
        # Headers under the daemon's own names are replaced by what the kernel says.
        forged = as_uid(NOBODY, daemon, {"inputs": [{"text": "hello"}], "metadata": {"chorus-peer-uid": "0", "chorus-peer-gid": "0", "chorus-peer-pid": "1"}})
        assert forged["status"] == "PERMISSION_DENIED", forged
        # Root, the allowed uid, is served.
        stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
        assert len(stub.Embed(embedding_pb2.EmbedRequest(inputs=[{"text": "hello"}])).results[0].embedding.vector) == 384
    finally:
        daemon.stop()


@needs_root
def test_allowed_gids_admit_members_of_the_group():
    daemon = open_daemon("--allowed-uids", "0", "--allowed-gids", str(NOBODY))
    try:
        seen = as_uid(NOBODY, daemon, {"inputs": [{"text": "hello"}]})
        assert seen["results"][0]["dimension"] == 384, seen
    finally:
        daemon.stop()


def test_server_side_files_are_off_by_default_even_for_root():
    daemon = conftest.Daemon(tempfile.mkdtemp(prefix="chorus-acl-", dir="/tmp"))
    try:
        stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
        result = stub.Embed(embedding_pb2.EmbedRequest(inputs=[{"file": {"path": "/etc/shadow"}}])).results[0]
        assert result.error.code == grpc.StatusCode.PERMISSION_DENIED.value[0]
        assert "file_roots" in result.error.message
    finally:
        daemon.stop()


@needs_root
def test_files_are_read_only_under_roots_and_only_when_the_caller_could_read_them():
    shared = pathlib.Path(tempfile.mkdtemp(prefix="chorus-photos-", dir="/tmp"))
    outside = pathlib.Path(tempfile.mkdtemp(prefix="chorus-private-", dir="/tmp"))
    os.chmod(shared, 0o755)
    os.chmod(outside, 0o755)
    (shared / "note.txt").write_text("a note anyone may read")
    (shared / "note.txt").chmod(0o644)
    (shared / "private.txt").write_text("root's own note")
    (shared / "private.txt").chmod(0o600)
    (outside / "secret.txt").write_text("outside every root")
    (outside / "secret.txt").chmod(0o644)
    (shared / "escape.txt").symlink_to(outside / "secret.txt")
    os.mkfifo(shared / "pipe")
    daemon = open_daemon("--file-root", str(shared), "--file-root", "/etc")
    try:
        paths = ["/etc/shadow", str(shared / "note.txt"), str(shared / "private.txt"), str(shared / "escape.txt"),
                 f"{shared}/../{outside.name}/secret.txt", str(shared / "pipe"), "/proc/self/environ", "/etc/hostname"]
        seen = as_uid(NOBODY, daemon, {"inputs": [{"file": {"path": p}} for p in paths]})
        results = dict(zip(paths, seen["results"]))
        denied = grpc.StatusCode.PERMISSION_DENIED.value[0]
        assert results["/etc/shadow"]["code"] == denied and "may not read it" in results["/etc/shadow"]["message"], results
        assert results[str(shared / "note.txt")]["dimension"] == 384, results
        assert results[str(shared / "private.txt")]["code"] == denied
        assert results[str(shared / "escape.txt")]["code"] == denied and "outside" in results[str(shared / "escape.txt")]["message"]
        assert results[f"{shared}/../{outside.name}/secret.txt"]["code"] == denied
        assert results[str(shared / "pipe")]["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        assert "not a regular file" in results[str(shared / "pipe")]["message"]
        assert results["/proc/self/environ"]["code"] == denied
        assert results["/etc/hostname"]["dimension"] == 384 or not os.path.exists("/etc/hostname")
        # Root may read what root can read, under the roots only.
        stub = embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel)
        mine = stub.Embed(embedding_pb2.EmbedRequest(inputs=[{"file": {"path": str(shared / "private.txt")}}, {"file": {"path": str(outside / "secret.txt")}}]))
        assert len(mine.results[0].embedding.vector) == 384
        assert mine.results[1].error.code == denied
    finally:
        daemon.stop()
