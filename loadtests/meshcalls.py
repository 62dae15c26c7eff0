"""What one service call costs through the mesh: the same call (GET inventory's /healthz, as
orders would make it) directly to the app, through orders' and inventory's sidecars, and
through both sidecars with mTLS, one call at a time on kept-alive connections, in
interleaved rounds so that every path sees the same machine. Latency per call from the
client's clock; CPU per call from /proc, for the processes on each path only."""

from __future__ import annotations

import http.client
import statistics
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from daprshop.stack import Stack
from daprshop.topology import health_path
from loadtests.harness import category, cpu_seconds, stack_pids

CALLER, CALLEE = "orders", "inventory"


@dataclass
class CallPath:
    """One way of making the call: a URL, the headers a caller sends, and the processes
    that work on it (the callee app, and the sidecars when there are any)."""

    name: str
    stack: Stack
    url: str
    headers: dict[str, str]
    procs: tuple[str, ...]
    samples_ms: list[float] = field(default_factory=list)
    cpu_s: dict[str, float] = field(default_factory=dict)
    _conn: http.client.HTTPConnection | None = None

    def call(self) -> float:
        """One call; its latency in milliseconds. Any status but 200 is a failed benchmark."""
        parts = urlsplit(self.url)
        if self._conn is None:
            self._conn = http.client.HTTPConnection(parts.netloc, timeout=10)
        started = time.perf_counter_ns()
        self._conn.request("GET", parts.path, headers=self.headers)
        resp = self._conn.getresponse()
        resp.read()
        took = (time.perf_counter_ns() - started) / 1e6
        if resp.status != 200:
            raise RuntimeError(f"{self.name}: GET {self.url} answered {resp.status}")
        return took

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def reconnect(self) -> None:
        """A fresh kept-alive connection, opened by one call that is not counted: servers
        close idle ones (uvicorn after 5 s) while the other paths take their turn."""
        self.close()
        self.call()

    def summary(self) -> dict[str, Any]:
        q = statistics.quantiles(self.samples_ms, n=100)
        calls = len(self.samples_ms)
        by_cat: dict[str, float] = {}
        for name, sec in self.cpu_s.items():
            by_cat[category(name)] = by_cat.get(category(name), 0.0) + sec
        return {
            "path": self.name,
            "calls": calls,
            "p50_ms": round(statistics.median(self.samples_ms), 3),
            "p90_ms": round(q[89], 3),
            "p99_ms": round(q[98], 3),
            "mean_ms": round(statistics.fmean(self.samples_ms), 3),
            "cpu_us_per_call": {k: round(v * 1e6 / calls, 1) for k, v in sorted(by_cat.items())},
        }


def paths(secure: Stack, plain: Stack) -> list[CallPath]:
    """direct (the app, no sidecar), two sidecars, two sidecars with mTLS. The secure
    stack's sidecars also check API tokens and access policies: what make run has."""
    health = health_path(CALLEE)
    through = f"/v1.0/invoke/{CALLEE}/method{health}"
    side = (f"{CALLER}-daprd", f"{CALLEE}-daprd", CALLEE)

    def url(stack: Stack, kind: str, path: str) -> str:
        return stack.urls()[CALLER if kind == "dapr" else CALLEE][kind] + path

    def token(stack: Stack) -> dict[str, str]:  # what orders sends its sidecar
        return {"dapr-api-token": stack.credentials.api_tokens[CALLER]} if stack.security else {}

    return [
        CallPath("direct", plain, url(plain, "app", health), {}, (CALLEE,)),
        CallPath("two sidecars", plain, url(plain, "dapr", through), token(plain), side),
        CallPath("two sidecars, mTLS", secure, url(secure, "dapr", through), token(secure), side),
    ]


def measure(
    secure: Stack, plain: Stack, *, calls: int, rounds: int, warmup: int = 200
) -> list[dict[str, Any]]:
    """`calls` per path in all, in `rounds` rounds, the paths' order rotating each round;
    the CPU of each path's processes is read around its own blocks only."""
    every = paths(secure, plain)
    per_round = max(1, calls // rounds)
    try:
        for p in every:
            for _ in range(warmup):
                p.call()
        for r in range(rounds):
            order = every[r % len(every) :] + every[: r % len(every)]
            for p in order:
                pids = {n: pid for n, pid in stack_pids(p.stack).items() if n in p.procs}
                p.reconnect()
                cpu0 = {n: cpu_seconds(pid) for n, pid in pids.items()}
                p.samples_ms += [p.call() for _ in range(per_round)]
                for n, pid in pids.items():
                    p.cpu_s[n] = p.cpu_s.get(n, 0.0) + cpu_seconds(pid) - cpu0[n]
            print(f"  calls: round {r + 1}/{rounds} done", flush=True)
    finally:
        for p in every:
            p.close()
    return [p.summary() for p in every]
