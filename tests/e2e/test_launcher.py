"""`daprshop run` (what `make run` calls): comes up healthy, and whatever way it ends —
Ctrl-C, a crashed process, or the launcher itself killed then `daprshop down` — no process
of the stack is left behind."""

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from daprshop.stack import is_running
from daprshop.topology import Topology
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
STACK_PROCESSES = 11  # redis, placement, scheduler, 4 apps, 4 sidecars


@dataclass
class Launcher:
    proc: subprocess.Popen[str]
    run_dir: Path
    env: dict[str, str]
    output: list[str]

    def pids(self) -> dict[str, int]:
        return {n: v[0] for n, v in json.loads((self.run_dir / "pids.json").read_text()).items()}

    def wait_up(self) -> dict[str, int]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            if "daprshop is up" in line:
                return self.pids()
        pytest.fail("launcher ended before the stack was up:\n" + "".join(self.output))

    def finish(self, timeout: float = 60) -> int:
        out, _ = self.proc.communicate(timeout=timeout)
        self.output.append(out)
        return self.proc.returncode


@pytest.fixture
def launcher(dapr_bin: Path, tmp_path: Path) -> Iterator[Launcher]:
    env = {**os.environ, **Topology.free().to_env(), "DAPRSHOP_RUN_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "daprshop.cli", "run"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    launched = Launcher(proc, tmp_path, env, [])
    try:
        yield launched
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()  # reaps it and closes the pipe
        subprocess.run(
            [sys.executable, "-m", "daprshop.cli", "down"],
            env=env,
            check=False,
            capture_output=True,
        )


def test_ctrl_c_stops_every_process(launcher: Launcher) -> None:
    """SIGINT (Ctrl-C) ends the launcher with 0 and all 11 processes with it."""
    pids = launcher.wait_up()
    assert len(pids) == STACK_PROCESSES
    launcher.proc.send_signal(signal.SIGINT)
    assert launcher.finish() == 0
    assert [n for n, pid in pids.items() if is_running(pid)] == []


def test_down_stops_a_running_launcher_cleanly(launcher: Launcher) -> None:
    """`make down` from another shell: the launcher stops its stack and exits 0."""
    pids = launcher.wait_up()
    down = subprocess.run(
        [sys.executable, "-m", "daprshop.cli", "down"],
        env=launcher.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "launcher" in down.stdout
    assert launcher.finish() == 0
    assert [n for n, pid in pids.items() if is_running(pid)] == []


def test_a_second_run_refuses_while_one_is_up(launcher: Launcher) -> None:
    """Starting the stack twice in one run dir says so instead of killing the first."""
    launcher.wait_up()
    second = subprocess.run(
        [sys.executable, "-m", "daprshop.cli", "run"],
        env=launcher.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert "already running" in second.stderr
    assert launcher.proc.poll() is None


def test_a_crashed_process_takes_the_stack_down_and_says_which(launcher: Launcher) -> None:
    """kill -9 of one sidecar: the launcher names it, stops the rest, and exits non-zero."""
    pids = launcher.wait_up()
    os.kill(pids["payments-daprd"], signal.SIGKILL)
    assert launcher.finish() == 1
    assert "payments-daprd exited" in "".join(launcher.output)
    assert [n for n, pid in pids.items() if is_running(pid)] == []


def test_down_cleans_up_after_a_killed_launcher(launcher: Launcher) -> None:
    """If the launcher itself is killed -9, `daprshop down` stops what it left running."""
    pids = launcher.wait_up()
    # A hung sidecar outlives its launcher for sure: the SIGTERM it is sent on the
    # launcher's death stays pending (left to run, every process would race `down`).
    os.kill(pids["orders-daprd"], signal.SIGSTOP)
    launcher.proc.kill()
    launcher.proc.wait()
    down = subprocess.run(
        [sys.executable, "-m", "daprshop.cli", "down"],
        env=launcher.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "outlived their launcher" in down.stdout
    eventually(
        lambda: True if not any(is_running(p) for p in pids.values()) else None,
        timeout=20,
        what="every process to exit",
    )


def test_a_port_in_use_is_named_before_anything_starts(dapr_bin: Path, tmp_path: Path) -> None:
    topo = Topology.free()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", topo.scheduler))
        holder.listen()
        env = {**os.environ, **topo.to_env(), "DAPRSHOP_RUN_DIR": str(tmp_path)}
        out = subprocess.run(
            [sys.executable, "-m", "daprshop.cli", "run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 1
    assert f"port {topo.scheduler} is in use (DAPRSHOP_SCHEDULER_PORT)" in out.stderr
    assert f"DAPRSHOP_SCHEDULER_PORT={topo.scheduler + 100} make run" in out.stderr
    assert not (tmp_path / "pids.json").exists()  # nothing was started
