"""Zero-shot classification against the real chorusd: grpcio, the HTTP route (curl over the Unix socket) and
`chorus classify --json`, equal to transformers' probabilities (tiny-clip-classify.expected.json); bad labels are
refused with INVALID_ARGUMENT and the daemon keeps serving."""
import base64
import json
import subprocess
import tempfile

import grpc
import pytest

import conftest
from chorus.v1 import common_pb2, embedding_pb2, embedding_pb2_grpc

TESTS = conftest.ROOT / "Tests"
CLIP = TESTS / "EncodersTests" / "Fixtures" / "tiny-clip"
REFERENCE = json.loads((TESTS / "EncodersTests" / "Fixtures" / "tiny-clip-classify.expected.json").read_text())


@pytest.fixture(scope="module")
def daemon():
    directory = tempfile.mkdtemp(prefix="chorus-cls-", dir="/tmp")
    d = conftest.Daemon(directory, extra_args=("--model", f"clip={CLIP}"))
    yield d
    d.stop()


def classify(daemon, **fields):
    return embedding_pb2_grpc.EmbeddingServiceStub(daemon.channel).Classify(embedding_pb2.ClassifyRequest(**fields))


def test_grpc_probabilities_equal_transformers(daemon):
    for run in REFERENCE["runs"]:
        for file, expected in zip(REFERENCE["files"], run["probabilities"]):
            response = classify(daemon, space="clip", input=common_pb2.Input(image=(TESTS / file).read_bytes()),
                                labels=REFERENCE["labels"], template=run["template"] or "")
            assert [s.label for s in response.scores] == REFERENCE["labels"]
            assert max(abs(s.probability - p) for s, p in zip(response.scores, expected)) < 1e-5
            assert response.rule == "softmax" and response.learned_temperature
            assert response.modality == common_pb2.MODALITY_IMAGE


def test_http_route_and_cli_agree_with_grpc(daemon):
    image = TESTS / REFERENCE["files"][0]
    expected = REFERENCE["runs"][0]["probabilities"][0]
    body = {"space": "clip", "input": {"image": base64.b64encode(image.read_bytes()).decode()}, "labels": REFERENCE["labels"],
            "template": REFERENCE["runs"][0]["template"]}
    answer = subprocess.run(["curl", "-sS", "--unix-socket", daemon.http_socket, "-H", "content-type: application/json",
                             "--data-binary", "@-", "http://localhost/v1/classify"], input=json.dumps(body), capture_output=True, text=True, check=True)
    scores = json.loads(answer.stdout)["scores"]
    assert [s["label"] for s in scores] == REFERENCE["labels"]
    assert max(abs(s["probability"] - p) for s, p in zip(scores, expected)) < 1e-5

    cli = [str(conftest.BIN_DIR / "chorus"), "classify", "--socket", daemon.socket, "--space", "clip", "--image", str(image),
           "--template", REFERENCE["runs"][0]["template"]]
    for label in REFERENCE["labels"]:
        cli += ["--label", label]
    out = subprocess.run(cli + ["--json"], capture_output=True, text=True, check=True).stdout.splitlines()
    rows = [json.loads(line) for line in out]
    assert [set(r) for r in rows] == [{"label", "probability"}] * len(REFERENCE["labels"])
    assert [r["label"] for r in rows] == REFERENCE["labels"]
    assert max(abs(r["probability"] - p) for r, p in zip(rows, expected)) < 1e-5
    human = subprocess.run(cli, capture_output=True, text=True, check=True).stdout
    assert "cat" in human and "0.19" in human


def test_bad_requests_are_refused_and_the_daemon_keeps_serving(daemon):
    image = common_pb2.Input(image=(TESTS / REFERENCE["files"][0]).read_bytes())
    cases = [
        (dict(labels=[]), "at least one label"),
        (dict(labels=["cat", ""]), "label 1 is empty"),
        (dict(labels=["cat", "cat"]), "repeats label 0"),
        (dict(labels=[f"l{i}" for i in range(1001)]), "at most 1000"),
        (dict(labels=["cat"], template="a photo"), "has no '{}'"),
        (dict(labels=["cat"], input=common_pb2.Input(audio=b"RIFF")), "cannot embed audio inputs"),
        (dict(labels=["cat"], input=common_pb2.Input()), "needs an input"),
    ]
    for fields, message in cases:
        fields = {"space": "clip", "input": image, **fields}
        with pytest.raises(grpc.RpcError) as error:
            classify(daemon, **fields)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, fields
        assert message in error.value.details()
    # Over max_request_bytes (64 MiB by default): refused whole, like Embed.
    with pytest.raises(grpc.RpcError) as error:
        classify(daemon, space="clip", input=image, labels=[f"{i} " + "x" * 70_000 for i in range(1000)])
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "max_request_bytes" in error.value.details()
    failed = subprocess.run([str(conftest.BIN_DIR / "chorus"), "classify", "--socket", daemon.socket, "--space", "clip",
                             "--text", "x", "--label", "a", "--label", "a"], capture_output=True, text=True)
    assert failed.returncode == 1 and "INVALID_ARGUMENT" in failed.stderr
    # The starter learned no temperature between its towers: a fixed one, said so.
    starter = classify(daemon, input=common_pb2.Input(text="rain falling on a tin roof"), labels=["rain", "a dog barking"])
    assert not starter.learned_temperature and "fixed temperature" in starter.note
    assert abs(sum(s.probability for s in starter.scores) - 1) < 1e-5


@pytest.fixture(scope="module")
def shared_spaces():
    """CLAP (text + audio) and SigLIP (text + image) at full size on their synthetic weights."""
    directory = tempfile.mkdtemp(prefix="chorus-zs-", dir="/tmp")
    clap, siglip = conftest.synthetic_checkpoint("clap-htsat-unfused"), conftest.synthetic_checkpoint("siglip-base")
    d = conftest.Daemon(directory, extra_args=("--no-starter", "--model", f"clap={clap}", "--model", f"siglip={siglip}",
                                               "--max-request-bytes", "4000000"))
    yield d
    d.stop()


def test_clap_sounds_from_the_cli_and_siglip_images_from_grpc(shared_spaces):
    clap = json.loads((TESTS / "EncodersTests" / "Fixtures" / "clap-htsat-unfused.expected.json").read_text())
    for file, expected in zip(clap["files"], clap["probabilities"]):
        cli = [str(conftest.BIN_DIR / "chorus"), "classify", "--socket", shared_spaces.socket, "--space", "clap", "--json",
               "--audio", str(TESTS / "MediaTests" / "Fixtures" / "audio" / file), "--template", clap["template"]]
        for label in clap["labels"]:
            cli += ["--label", label]
        rows = [json.loads(line) for line in subprocess.run(cli, capture_output=True, text=True, check=True).stdout.splitlines()]
        assert [r["label"] for r in rows] == clap["labels"]
        assert max(abs(r["probability"] - p) for r, p in zip(rows, expected)) < 1e-5, file

    siglip = json.loads((TESTS / "EncodersTests" / "Fixtures" / "siglip-base.expected.json").read_text())
    for file, expected in zip(siglip["files"][:3], siglip["probabilities"]):
        response = classify(shared_spaces, space="siglip", input=common_pb2.Input(image=(TESTS / file).read_bytes()),
                            labels=siglip["labels"], template=siglip["template"])
        assert response.rule == "sigmoid" and response.learned_temperature
        assert max(abs(s.probability - p) for s, p in zip(response.scores, expected)) < 1e-5, file

    # Each space refuses the other's modality; both keep serving.
    with pytest.raises(grpc.RpcError) as error:
        classify(shared_spaces, space="siglip", input=common_pb2.Input(audio=(TESTS / "MediaTests/Fixtures/audio/speech.wav").read_bytes()), labels=["speech"])
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "cannot embed audio" in error.value.details()
    spaces = {s.name: [e.architecture for e in s.encoders]
              for s in embedding_pb2_grpc.EmbeddingServiceStub(shared_spaces.channel).ListSpaces(embedding_pb2.ListSpacesRequest()).spaces}
    assert spaces == {"clap": ["clap_text", "clap_htsat"], "siglip": ["siglip_text", "siglip_vision"]}
