"""The launcher's restart policy and the status file it keeps, both pure: exponential back-off,
capped, forgiven once a process has stayed healthy a while (like Kubernetes' CrashLoopBackOff,
on a dev-stack time scale); and the table `daprshop status` prints from that file."""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATUS_FILE = "status.json"


@dataclass(frozen=True)
class Backoff:
    first_s: float = 1.0
    cap_s: float = 30.0
    reset_after_s: float = 60.0  # healthy this long: the next crash is a first one again

    def delay(self, failures: int) -> float:
        """Wait before restart number `failures` of a row (1, 2, ...): 1, 2, 4 ... cap."""
        return min(self.cap_s, self.first_s * 2.0 ** max(0, failures - 1))


@dataclass
class Restarts:
    """One process's restart history: `total` for people, `in_a_row` for the back-off."""

    policy: Backoff
    total: int = 0
    in_a_row: int = 0
    healthy_since: float | None = None

    def exited(self, now: float) -> float:
        """It died at `now`: how long to wait before starting it again."""
        if self.healthy_since is not None and now - self.healthy_since >= self.policy.reset_after_s:
            self.in_a_row = 0
        self.in_a_row += 1
        self.healthy_since = None
        return self.policy.delay(self.in_a_row)

    def healthy(self, now: float) -> None:
        self.healthy_since = now


@dataclass(frozen=True)
class Liveness:
    """A running process's health URL is probed every `every_s`; `failures` failed probes in
    a row mean it hangs, or a worker inside it died while the process lives on (orders'
    /healthz fails when its workflow worker is gone): it is killed and then restarted like
    any crash. Kubernetes' liveness probe, on a dev-stack time scale."""

    every_s: float = 5.0
    failures: int = 4


@dataclass
class Probes:
    policy: Liveness
    failed_in_a_row: int = 0

    def result(self, ok: bool) -> bool:
        """Record one probe; True when the process should be killed now."""
        self.failed_in_a_row = 0 if ok else self.failed_in_a_row + 1
        if self.failed_in_a_row >= self.policy.failures:
            self.failed_in_a_row = 0
            return True
        return False


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def write_status(workdir: Path, processes: dict[str, dict[str, Any]]) -> None:
    """Replace the status file atomically, so a reader never sees half of it."""
    tmp = workdir / f".{STATUS_FILE}.tmp"
    tmp.write_text(json.dumps({"launcher": os.getpid(), "processes": processes}, indent=1))
    tmp.replace(workdir / STATUS_FILE)


def read_status(workdir: Path) -> dict[str, Any] | None:
    path = workdir / STATUS_FILE
    return json.loads(path.read_text()) if path.exists() else None


def _ago(t: float | None, now: float) -> str:
    if t is None:
        return ""
    s = max(0, int(now - t))
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def status_table(status: dict[str, Any], now: float | None = None) -> str:
    """What `daprshop status` prints: one line per process (times are wall-clock epochs)."""
    now = time.time() if now is None else now
    rows = [("process", "state", "pid", "restarts", "up", "last exit")]
    for name, p in status["processes"].items():
        state = p["state"]
        if state == "backing off" and p.get("restart_at"):
            state += f" ({max(0.0, p['restart_at'] - now):.1f}s)"
        last = p.get("last_exit")
        rows.append(
            (
                name,
                state,
                str(p.get("pid") or "-"),
                str(p["restarts"]),
                _ago(p.get("since"), now) if p["state"] == "running" else "-",
                f"{last}, {_ago(p.get('exited_at'), now)} ago" if last else "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
