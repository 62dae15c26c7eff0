"""Runs locust against a daprshop stack and measures what the stack spent doing it: CPU
seconds and peak RSS of every process, and Dapr's own counters of pub/sub deliveries,
publications and service invocations (from each sidecar's metrics endpoint)."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daprshop import edge
from daprshop.stack import Stack
from daprshop.verify import verify

HERE = Path(__file__).resolve().parent
TICK = os.sysconf("SC_CLK_TCK")
CATEGORY = {
    "redis": "infrastructure",
    "placement": "infrastructure",
    "scheduler": "infrastructure",
    "sentry": "infrastructure",
}


def category(name: str) -> str:
    return CATEGORY.get(name, "sidecar" if name.endswith("-daprd") else "app")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def peak_rss_mb(pid: int) -> float:
    match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else 0.0


def reset_peak_rss(pid: int) -> None:
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM (Linux >= 4.0)


def dapr_counters(stack: Stack) -> dict[str, float]:
    """Sums over all sidecars: deliveries to apps, publications, service invocations."""
    totals = {"deliveries": 0.0, "publications": 0.0, "invocations": 0.0}
    for app_id in stack.apps:
        port = stack.topo.apps[app_id].metrics
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
        for line in text.decode().splitlines():
            value = line.rsplit(" ", 1)[-1]
            if line.startswith("dapr_component_pubsub_ingress_count{"):
                totals["deliveries"] += float(value)
            elif line.startswith("dapr_grpc_io_server_completed_rpcs{") and (
                "/PublishEvent" in line or "/ExecuteStateTransaction" in line
            ):
                totals["publications"] += float(value)
            elif (
                line.startswith("dapr_http_server_request_count{") and 'path="/v1.0/invoke/' in line
            ):
                totals["invocations"] += float(value)
    return totals


@dataclass
class Run:
    mode: str
    rate: float
    duration_s: float
    out: Path
    rows: dict[str, dict[str, str]] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)
    counters: dict[str, float] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    returncode: int = 0

    @property
    def sagas(self) -> int:
        row = self.rows.get(f"saga:{self.mode}", {})
        return int(row.get("Request Count", 0)) - int(row.get("Failure Count", 0))

    def summary(self) -> dict[str, Any]:
        saga = self.rows.get(f"saga:{self.mode}", {})
        accept = self.rows.get(f"accept:{self.mode}", {})
        requests = sum(int(self.rows[n]["Request Count"]) for n in self.rows if n != "Aggregated")
        failures = sum(int(self.rows[n]["Failure Count"]) for n in self.rows if n != "Aggregated")
        per = max(self.sagas, 1)
        by_cat: dict[str, float] = {}
        for name, sec in self.cpu_s.items():
            by_cat[category(name) if name != "locust" else "locust"] = (
                by_cat.get(category(name) if name != "locust" else "locust", 0) + sec
            )
        return {
            "mode": self.mode,
            "offered_rate": self.rate,
            "duration_s": self.duration_s,
            "sagas_completed": self.sagas,
            "sagas_per_s": round(self.sagas / self.duration_s, 1),
            "saga_p50_ms": float(saga.get("50%", 0)),
            "saga_p95_ms": float(saga.get("95%", 0)),
            "saga_p99_ms": float(saga.get("99%", 0)),
            "saga_failures": int(saga.get("Failure Count", 0)),
            "accept_p99_ms": float(accept.get("99%", 0)),
            "error_rate": round(failures / max(requests, 1), 4),
            "deliveries_per_order": round(self.counters.get("deliveries", 0) / per, 2),
            "publications_per_order": round(self.counters.get("publications", 0) / per, 2),
            "invocations_per_order": round(self.counters.get("invocations", 0) / per, 2),
            "cpu_ms_per_saga": {k: round(v * 1000 / per, 2) for k, v in sorted(by_cat.items())},
            "cpu_s": {k: round(v, 2) for k, v in self.cpu_s.items()},
            "peak_rss_mb": {k: round(v, 1) for k, v in self.rss_mb.items()},
            "violations": self.violations,
        }


def stack_pids(stack: Stack) -> dict[str, int]:
    return {n: p.popen.pid for n, p in stack.procs.items() if p.popen is not None}


def run_locust(
    stack: Stack,
    mode: str,
    rate: float,
    duration_s: float,
    out: Path,
    *,
    users: int | None = None,
    capacity: dict[str, str] | None = None,
    verify_after: bool = True,
    via_edge: bool = False,
) -> Run:
    """One headless locust run with CPU, memory and Dapr counters measured around it;
    `via_edge`: orders placed and polled through the edge, with a token, as a client would."""
    out.mkdir(parents=True, exist_ok=True)
    urls = stack.urls()
    users = users or max(10, int(rate))
    env = {
        **os.environ,
        "DAPRSHOP_MODE": mode,
        "DAPRSHOP_RATE": str(rate),
        "DAPRSHOP_INVENTORY_URL": urls["inventory"]["app"],
        # locust sets the stock levels through inventory's admin API, as an operator would
        "DAPRSHOP_INVENTORY_TOKEN": stack.credentials.app_tokens["inventory"],
        "DAPRSHOP_ADMIN_TOKEN": stack.credentials.admin_token,
        **(capacity or {}),
    }
    host = urls["orders"]["app"]
    if via_edge:
        host = f"http://127.0.0.1:{stack.topo.edge_http}"
        env["DAPRSHOP_EDGE_TOKEN"] = edge.mint(stack.workdir, stack.topo, "locust", 3600)
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(HERE / "locustfile.py"),
        "--headless",
        "--host",
        host,
        "--csv",
        str(out / "locust"),
        "--html",
        str(out / "report.html"),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    if not capacity:
        cmd += ["-u", str(users), "-r", str(users), "--run-time", f"{int(duration_s)}s"]
    pids = stack_pids(stack)
    for pid in pids.values():
        reset_peak_rss(pid)
    cpu0 = {n: cpu_seconds(p) for n, p in pids.items()}
    counters0 = dapr_counters(stack)
    run = Run(mode, rate, duration_s, out)
    started = time.monotonic()
    next_line = started + 5
    with open(out / "locust.log", "w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        while True:  # reaped with wait4, not Popen, to get locust's own CPU and memory use
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(1)  # reaping tick: a run ends within a second of locust exiting
            if time.monotonic() < next_line:
                continue
            next_line += 5  # a progress line every 5 s
            done = _read_rows(out).get(f"saga:{mode}", {}).get("Request Count", "0")
            print(
                f"  [{mode}] {time.monotonic() - started:5.0f}s / {duration_s:.0f}s, "
                f"{done} sagas measured",
                flush=True,
            )
        proc.returncode = run.returncode = os.waitstatus_to_exitcode(status)
    pids = {n: p for n, p in pids.items() if Path(f"/proc/{p}").exists()}  # chaos kills some
    run.cpu_s = {n: cpu_seconds(p) - cpu0[n] for n, p in pids.items()}
    run.rss_mb = {n: peak_rss_mb(p) for n, p in pids.items()}
    locust_usage = _locust_usage(usage)
    run.cpu_s["locust"], run.rss_mb["locust"] = locust_usage
    counters1 = dapr_counters(stack)
    run.counters = {k: counters1[k] - counters0[k] for k in counters0}
    run.rows = _read_rows(out)
    if verify_after:
        report = verify(
            {app: u["app"] for app, u in urls.items()},
            deadline_s=120,
            auth=stack.credentials.operator_auth(),
        )
        run.violations = report.violations
        (out / "verify.txt").write_text(report.text() + "\n")
    (out / "summary.json").write_text(json.dumps(run.summary(), indent=1))
    return run


def _locust_usage(usage: Any) -> tuple[float, float]:
    if usage is None:
        return 0.0, 0.0
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _read_rows(out: Path) -> dict[str, dict[str, str]]:
    path = out / "locust_stats.csv"
    if not path.exists():
        return {}
    with path.open() as f:
        return {row["Name"]: row for row in csv.DictReader(f)}
