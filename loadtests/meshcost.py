"""`make mesh-cost`: what the sidecars cost, side by side in one run. Two stacks up at once,
one as `make run` has it (mTLS, access policies, tokens) and one without security; then
(1) the same service call directly, through two sidecars and through two sidecars with
mTLS (loadtests.meshcalls), and (2) sagas in each mode on the secure stack, placed on
orders' port and through the edge. Writes docs/benchmarks/<date>-<machine>-mesh-cost.md with a
table, a chart and the raw results."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from daprshop.runtime import pinned_version
from loadtests import meshcalls
from loadtests.compare import machine
from loadtests.harness import run_locust
from loadtests.run import MODES, fresh_stack, seconds

REPO = Path(__file__).resolve().parents[1]
ENTRIES = {False: "orders' app port", True: "the edge (nginx, JWT, daprd)"}


def chart(calls: list[dict[str, Any]], out: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [c["path"] for c in calls]
    fig, (lat, cpu) = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.38
    for i, pct in enumerate(("p50", "p99")):
        lat.bar(
            [x + (i - 0.5) * width for x in range(len(names))],
            [c[f"{pct}_ms"] for c in calls],
            width,
            label=pct,
        )
    lat.set_xticks(range(len(names)), names)
    lat.set_ylabel("latency per call (ms)")
    lat.set_title("GET inventory /healthz, one at a time")
    lat.legend()
    bottom = [0.0] * len(names)
    for part in ("app", "sidecar"):
        values = [c["cpu_us_per_call"].get(part, 0.0) for c in calls]
        cpu.bar(names, values, bottom=bottom, label=part)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    cpu.set_ylabel("CPU µs per call")
    cpu.set_title("CPU per call, processes on the path")
    cpu.legend()
    fig.tight_layout()
    fig.savefig(out / "mesh-cost.png", dpi=110)
    plt.close("all")
    return "mesh-cost.png"


def markdown(
    calls: list[dict[str, Any]], sagas: list[dict[str, Any]], args: argparse.Namespace, rel: str
) -> str:
    base = calls[0]
    lines = [
        f"# What the mesh costs, {datetime.now():%Y-%m-%d}, {machine()}",
        "",
        f"- Command: `make mesh-cost CALLS={args.calls} RATE={args.rate:g} "
        f"DURATION={args.duration}`",
        f"- Machine: {os.cpu_count()} cores, {platform.system()} {platform.release()}; the "
        "client, both stacks and locust on the same machine. Versions: Dapr runtime "
        f"{pinned_version()}.",
        f"- Calls: {args.calls} per path after 200 warm-up calls, in {args.rounds} rounds with "
        "the paths' order rotating, one call at a time on a kept-alive connection. CPU per "
        "call counts only the processes on the path (the callee app; and both sidecars), "
        "idle background included.",
        f"- Raw results: [{rel}/]({rel}/)",
        "",
        "## One call, app to app",
        "",
        "| path | p50 ms | p90 ms | p99 ms | + p50 vs direct | + p99 vs direct "
        "| CPU µs/call: app | sidecars |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in calls:
        lines.append(
            f"| {c['path']} | {c['p50_ms']:.2f} | {c['p90_ms']:.2f} | {c['p99_ms']:.2f} "
            f"| {c['p50_ms'] - base['p50_ms']:+.2f} | {c['p99_ms'] - base['p99_ms']:+.2f} "
            f"| {c['cpu_us_per_call'].get('app', 0):.0f} "
            f"| {c['cpu_us_per_call'].get('sidecar', 0):.0f} |"
        )
    lines += ["", f"![latency and CPU per call]({rel}/mesh-cost.png)", ""]
    lines += [
        "## A saga, per mode (security on)",
        "",
        "| mode | entry | sagas/s | p50 ms | p99 ms | CPU ms/saga: apps | sidecars | infra |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in sagas:
        cpu = s["cpu_ms_per_saga"]
        lines.append(
            f"| {s['mode']} | {s['entry']} | {s['sagas_per_s']} | {s['saga_p50_ms']:.0f} "
            f"| {s['saga_p99_ms']:.0f} | {cpu.get('app', 0)} | {cpu.get('sidecar', 0)} "
            f"| {cpu.get('infrastructure', 0)} |"
        )
    bad = [s["mode"] for s in sagas if s["violations"] or s["saga_failures"]]
    lines += ["", "verify: " + ("passed after every run." if not bad else f"FAILED in {bad}."), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000, help="calls per path")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--rate", type=float, default=10.0, help="orders/s per saga run")
    parser.add_argument("--duration", default="30s", help="per mode")
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args(argv)
    name = f"{datetime.now():%Y-%m-%d}-{machine()}-mesh-cost"
    out = REPO / "docs" / "benchmarks" / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    stacks = {}
    try:
        for sec in ("on", "off"):
            work = REPO / "loadtests" / "results" / f"{name}-{sec}-stack"
            shutil.rmtree(work, ignore_errors=True)
            # the edge's limit raised: locust is one client, placing and polling every order
            stacks[sec] = fresh_stack(work, "direct", security=sec == "on", edge_rate=10_000)
        print(f"== one call, {args.calls} per path", flush=True)
        calls = meshcalls.measure(stacks["on"], stacks["off"], calls=args.calls, rounds=args.rounds)
        sagas = []
        for i, mode in enumerate(args.modes.split(",")):
            # with and without the edge in turn, the order alternating per mode
            for via_edge in (False, True) if i % 2 == 0 else (True, False):
                entry = ENTRIES[via_edge]
                print(f"== sagas, {mode}, {entry}: {args.rate:g} orders/s", flush=True)
                run = run_locust(
                    stacks["on"],
                    mode,
                    args.rate,
                    seconds(args.duration),
                    out / f"saga-{mode}-{'edge' if via_edge else 'direct'}",
                    via_edge=via_edge,
                )
                sagas.append({**run.summary(), "entry": entry})
    finally:
        for stack in stacks.values():
            stack.stop()
    chart(calls, out)
    (out / "results.json").write_text(json.dumps({"calls": calls, "sagas": sagas}, indent=1))
    doc = out.with_suffix(".md")
    doc.write_text(markdown(calls, sagas, args, name))
    print(f"\nwrote {doc}")
    return 1 if any(s["violations"] or s["saga_failures"] for s in sagas) else 0


if __name__ == "__main__":
    sys.exit(main())
