"""The shipped systemd units pass `systemd-analyze verify` (with ExecStart pointed at the built binary)."""
import pathlib
import shutil
import subprocess

import pytest

from conftest import BIN_DIR, ROOT


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing (Debian package systemd)")
def test_units_verify(tmp_path):
    service = (ROOT / "systemd" / "chorusd.service").read_text()
    assert "ExecStart=/usr/local/bin/chorusd " in service
    (tmp_path / "chorusd.service").write_text(service.replace("/usr/local/bin/chorusd", str(BIN_DIR / "chorusd")))
    shutil.copy(ROOT / "systemd" / "chorusd.socket", tmp_path / "chorusd.socket")
    shutil.copy(ROOT / "systemd" / "chorusd-http.socket", tmp_path / "chorusd-http.socket")
    result = subprocess.run(
        ["systemd-analyze", "verify", "./chorusd.service", "./chorusd.socket", "./chorusd-http.socket"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_example_config_is_accepted_by_chorusd(tmp_path):
    """The example chorusd.toml must parse: start chorusd with it and see it serve, then stop it."""
    import conftest

    daemon = conftest.Daemon(str(tmp_path), extra_args=("--config", str(ROOT / "systemd" / "chorusd.toml")))
    daemon.stop()
    assert daemon.process.returncode == 0
