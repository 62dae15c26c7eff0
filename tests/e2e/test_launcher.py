"""`daprshop run` (what `make run` calls): comes up healthy, restarts a process that dies
(`daprshop status` shows it), and whatever way it ends — Ctrl-C, `daprshop down`, or the
launcher itself killed then `daprshop down` — no process of the stack is left behind."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from daprshop.stack import Stack, is_running
from daprshop.supervision import read_status
from daprshop.topology import Topology
from tests.shop import Shop
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
STACK_PROCESSES = 16  # redis, sentry, placement, scheduler, zipkin, 4 apps + sidecars, issuer,
# the edge's daprd and its nginx


@dataclass
class Launcher:
    proc: subprocess.Popen[str]
    run_dir: Path
    env: dict[str, str]
    output: list[str]
    shop: Shop

    def pids(self) -> dict[str, int]:
        return {n: v[0] for n, v in json.loads((self.run_dir / "pids.json").read_text()).items()}

    def wait_up(self) -> dict[str, int]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            if "stops everything" in line:  # the end of the printout once it is up
                return self.pids()
        pytest.fail("launcher ended before the stack was up:\n" + "".join(self.output))

    def finish(self, timeout: float = 60) -> int:
        out, _ = self.proc.communicate(timeout=timeout)
        self.output.append(out)
        return self.proc.returncode


@pytest.fixture
def launcher(dapr_bin: Path, tmp_path: Path) -> Iterator[Launcher]:
    topo = Topology.free()
    env = {**os.environ, **topo.to_env(), "DAPRSHOP_RUN_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "daprshop.cli", "run"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    launched = Launcher(proc, tmp_path, env, [], Shop.of(Stack(topo, tmp_path, dapr_bin)))
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
    """SIGINT (Ctrl-C) ends the launcher with 0 and all 16 processes with it. (Its printout
    said where the traces are.)"""
    pids = launcher.wait_up()
    assert len(pids) == STACK_PROCESSES
    launcher.proc.send_signal(signal.SIGINT)
    assert launcher.finish() == 0
    zipkin = f"http://127.0.0.1:{launcher.env['DAPRSHOP_ZIPKIN_PORT']}/zipkin/"
    assert f"traces:           {zipkin}" in "".join(launcher.output)
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


def daprshop(launcher: Launcher, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daprshop.cli", *args],
        env=launcher.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_killed_processes_are_restarted_and_the_shop_still_works(launcher: Launcher) -> None:
    """kill -9 of an app, a sidecar and placement: each is restarted (logged with its exit
    and log tail), `daprshop status` counts one restart each, an orchestrated and a
    choreographed order complete afterwards, and `daprshop down` stops every process, old
    and new, even after the launcher itself was killed -9."""
    pids = launcher.wait_up()
    killed = ("orders", "payments-daprd", "placement")
    for name in killed:
        os.kill(pids[name], signal.SIGKILL)

    def restarted() -> dict[str, int] | None:
        status = read_status(launcher.run_dir)
        procs = status["processes"] if status else {}
        back = {n: procs[n]["pid"] for n in killed if procs[n]["state"] == "running"}
        return (
            back if len(back) == len(killed) and all(procs[n]["restarts"] for n in killed) else None
        )

    new = eventually(restarted, timeout=60, what="the killed processes to be back and healthy")
    assert all(new[n] != pids[n] for n in killed)
    status = daprshop(launcher, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    print(status.stdout)
    rows = {line.split()[0]: line.split() for line in status.stdout.splitlines()[2:]}
    for name in killed:
        assert rows[name][1:4] == ["running", str(new[name]), "1"], rows[name]
        assert "killed by SIGKILL" in " ".join(rows[name])
    assert rows["redis"][1:4] == ["running", str(pids["redis"]), "0"]

    for mode in ("orchestration", "choreography"):
        order = launcher.shop.place_ok([("SKU-001", 1)], mode=mode)
        ended = launcher.shop.terminal(order["order_id"], timeout=60)
        assert (ended["status"], ended["reason"]) == ("COMPLETED", None), ended

    # The pid file follows restarts: a hung restarted sidecar outlives a launcher killed
    # -9 (see the next test), and `down` still finds it.
    os.kill(new["payments-daprd"], signal.SIGSTOP)
    launcher.proc.kill()
    assert launcher.finish() == -signal.SIGKILL
    output = "".join(launcher.output)
    for name in killed:
        assert re.search(rf"{name} \(pid {pids[name]}\) exited: killed by SIGKILL", output)
    for took in re.findall(r"(\S+) is back .*healthy ([\d.]+)s after it exited", output):
        print("restarted:", *took)
    down = daprshop(launcher, "down")
    assert "payments-daprd" in down.stdout, down.stdout
    everything = [*pids.values(), *new.values()]
    eventually(
        lambda: True if not any(is_running(p) for p in everything) else None,
        timeout=20,
        what="every process to exit",
    )


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


def test_redis_killed_keeps_acknowledged_writes_in_a_persistent_stack(
    dapr_bin: Path, tmp_path: Path
) -> None:
    """kill -9 of a persistent stack's Redis: the supervisor restarts it and every write it
    acknowledged before the kill is still there (append-only file, `appendfsync everysec`)."""
    stack = Stack(
        Topology.free(), tmp_path, dapr_bin, persistent=True, apps=(), control_plane=False
    )
    stack.start()
    try:
        auth = b"AUTH %s\r\n" % stack.credentials.redis_password.encode()
        with socket.create_connection(("127.0.0.1", stack.topo.redis), timeout=5) as redis:
            redis.sendall(auth + b"".join(b"SET k%d %d\r\n" % (i, i) for i in range(1000)))
            acked = b""
            while acked.count(b"+OK\r\n") < 1001:  # AUTH's, then every SET's
                chunk = redis.recv(65536)
                assert chunk, f"Redis closed the connection: {acked[-200:]!r}"
                acked += chunk
        old = stack.procs["redis"].popen
        stack.kill("redis", hold=False)
        eventually(
            lambda: (
                (stack.procs["redis"].popen is not old and stack.procs["redis"].state == "running")
                or None
            ),
            timeout=30,
            what="Redis to be restarted",
        )
        with socket.create_connection(("127.0.0.1", stack.topo.redis), timeout=5) as redis:
            redis.sendall(auth + b"DBSIZE\r\n")
            reply = b""
            while reply.count(b"\r\n") < 2:
                reply += redis.recv(64)
            assert reply == b"+OK\r\n:1000\r\n"
        assert stack.procs["redis"].restarts.total == 1
    finally:
        stack.stop()
