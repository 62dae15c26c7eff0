"""Start and stop a dockerd in the background (no systemd), logging to the daprshop cache;
only a dockerd started here, named by its pid file, is ever stopped."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

from daprshop.runtime import cache_root

START_DEADLINE_S = 60.0
# The dockerd this process started, kept until stopped: a Popen dropped while its process
# runs warns (ResourceWarning, an error under strict pytest), and only its parent reaps it.
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


class EngineError(SystemExit):
    """A step failed or cannot be taken here; the message says what to do."""


def ok(*cmd: str) -> subprocess.CompletedProcess[str] | None:
    """`cmd`'s result if it exited 0 within 30 s, else None."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out if out.returncode == 0 else None


def dockerd_log() -> Path:
    return cache_root() / "dockerd.log"


def pid_file() -> Path:
    return cache_root() / "dockerd.pid"


def start_dockerd(deadline_s: float = START_DEADLINE_S) -> int:
    """Start dockerd in its own session, wait until `docker info` answers; return its pid."""
    log = dockerd_log()
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"==> starting dockerd (log: {log})", flush=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            ["dockerd"], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    pid_file().write_text(str(proc.pid))
    _STARTED[proc.pid] = proc
    while time.monotonic() - started < deadline_s:
        if proc.poll() is not None:
            pid_file().unlink(missing_ok=True)
            _STARTED.pop(proc.pid, None)
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise EngineError(f"dockerd exited with {proc.returncode}; end of {log}:\n{tail}")
        if ok("docker", "info") is not None:
            print(f"  dockerd (pid {proc.pid}) answers after {time.monotonic() - started:.1f}s")
            return proc.pid
        time.sleep(0.5)
    raise EngineError(
        f"dockerd (pid {proc.pid}) did not answer `docker info` within {deadline_s:.0f}s;"
        f" see {log}. `daprshop engine --stop` stops it."
    )


def stop_dockerd(deadline_s: float = 30.0) -> int | None:
    """Stop the dockerd that `start_dockerd` started (its pid file), not any other one."""
    path = pid_file()
    if not path.is_file():
        return None
    pid = int(path.read_text())
    comm = Path(f"/proc/{pid}/comm")
    # A stale pid file may name a pid reused since by something else: leave that alone.
    if not comm.is_file() or comm.read_text().strip() != "dockerd":
        path.unlink()
        return None
    os.kill(pid, 15)
    child = _STARTED.pop(pid, None)
    if child is not None:  # ours: reap it (a zombie keeps /proc/<pid>)
        with contextlib.suppress(subprocess.TimeoutExpired):  # then as for another's, below
            child.wait(deadline_s)
    until = time.monotonic() + deadline_s
    while time.monotonic() < until and Path(f"/proc/{pid}").exists():
        time.sleep(0.2)  # polling interval of a deadline-bound wait for another's dockerd
    path.unlink()
    return pid
