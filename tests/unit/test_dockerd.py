"""The dockerd a test starts is stopped and reaped by it, with nothing left to warn about."""

import gc
import os
import stat
from pathlib import Path

import pytest

from daprshop import dockerd


def _script(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_a_started_dockerd_is_stopped_reaped_and_leaves_no_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its Popen used to be dropped while dockerd ran: a ResourceWarning once collected,
    which failed the compose e2e's setup under strict pytest; and, never reaped, dockerd
    stayed a zombie that `stop_dockerd` waited 30 s for."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir / "dockerd", "while :; do sleep 0.1; done\n")  # comm: dockerd
    _script(bin_dir / "docker", "exit 0\n")  # `docker info` answers at once
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DAPRSHOP_CACHE", str(tmp_path / "cache"))
    pid = dockerd.start_dockerd(deadline_s=10)
    gc.collect()  # a dropped, running Popen warns here
    assert Path(f"/proc/{pid}").exists()
    assert dockerd.stop_dockerd(deadline_s=10) == pid
    assert not Path(f"/proc/{pid}").exists(), "dockerd still there (a zombie: not reaped)"
    assert not dockerd.pid_file().exists()
