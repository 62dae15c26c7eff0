"""`make compare`: the same offered load against each mode in turn, on one fresh stack,
with stock reset between runs; measures throughput, time-to-terminal, Dapr messages and
invocations per order, CPU per saga split by component and peak memory; runs `verify`
after each mode; writes docs/benchmarks/<date>-<machine>.md with charts and raw results."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from daprshop.runtime import pinned_version
from loadtests.harness import run_locust
from loadtests.run import MODES, fresh_stack, seconds

REPO = Path(__file__).resolve().parents[1]


def machine() -> str:
    return f"{os.cpu_count()}cpu-{platform.machine()}"


def charts(results: list[dict[str, Any]], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = [r["mode"] for r in results]
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.25
    for i, pct in enumerate(("p50", "p95", "p99")):
        ax.bar(
            [m + (i - 1) * width for m in range(len(modes))],
            [r[f"saga_{pct}_ms"] for r in results],
            width,
            label=pct,
        )
    ax.set_xticks(range(len(modes)), modes)
    ax.set_ylabel("time to terminal status (ms)")
    ax.set_title("Saga latency per mode (accepted -> terminal)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)
    fig, ax = plt.subplots(figsize=(7, 4))
    bottom = [0.0] * len(modes)
    for part in ("app", "sidecar", "infrastructure", "locust"):
        values = [r["cpu_ms_per_saga"].get(part, 0.0) for r in results]
        ax.bar(modes, values, bottom=bottom, label=part)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("CPU ms per completed saga")
    ax.set_title("Where the CPU goes, per saga")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "cpu.png", dpi=110)
    plt.close("all")
    return ["latency.png", "cpu.png"]


def markdown(
    results: list[dict[str, Any]], args: argparse.Namespace, rel: str, command: str
) -> str:
    rows = [
        ("completed sagas/s", lambda r: f"{r['sagas_per_s']}"),
        (
            "p50 / p95 / p99 time to terminal (ms)",
            lambda r: f"{r['saga_p50_ms']:.0f} / {r['saga_p95_ms']:.0f} / {r['saga_p99_ms']:.0f}",
        ),
        ("p99 HTTP accept (ms)", lambda r: f"{r['accept_p99_ms']:.0f}"),
        (
            "error rate (all requests) / failed sagas",
            lambda r: f"{r['error_rate']:.2%} / {r['saga_failures']}",
        ),
        ("pub/sub deliveries per order", lambda r: f"{r['deliveries_per_order']}"),
        ("publications per order", lambda r: f"{r['publications_per_order']}"),
        ("service invocations per order", lambda r: f"{r['invocations_per_order']}"),
        ("CPU ms per saga: apps", lambda r: f"{r['cpu_ms_per_saga'].get('app', 0)}"),
        ("CPU ms per saga: sidecars", lambda r: f"{r['cpu_ms_per_saga'].get('sidecar', 0)}"),
        (
            "CPU ms per saga: Redis+placement+scheduler",
            lambda r: f"{r['cpu_ms_per_saga'].get('infrastructure', 0)}",
        ),
        ("CPU ms per saga: locust", lambda r: f"{r['cpu_ms_per_saga'].get('locust', 0)}"),
        (
            "verify",
            lambda r: "passed" if not r["violations"] else f"{len(r['violations'])} violations",
        ),
    ]
    head = "| | " + " | ".join(r["mode"] for r in results) + " |"
    lines = [head, "|---|" + "---|" * len(results)]
    lines += [f"| {name} | " + " | ".join(f(r) for r in results) + " |" for name, f in rows]
    procs = list(results[0]["peak_rss_mb"])
    rss = [
        "| peak RSS (MB) | " + " | ".join(r["mode"] for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    rss += [
        f"| {p} | " + " | ".join(f"{r['peak_rss_mb'].get(p, 0)}" for r in results) + " |"
        for p in procs
    ]
    return "\n".join(
        [
            f"# daprshop benchmark, {datetime.now():%Y-%m-%d}, {machine()}",
            "",
            f"- Machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
            f"{platform.system()} {platform.release()}; locust on the same machine.",
            f"- Versions: Dapr runtime {pinned_version()}, Python SDK {_version('dapr')}, "
            f"Python {platform.python_version()}, locust {_version('locust')}, Redis "
            f"{_redis_version()}.",
            f"- Command: `{command}`",
            f"- Load: {args.rate:g} orders/s offered (open model, {args.users} users), "
            f"{seconds(args.duration):.0f} s per mode, mix 85% complete / 5% out of stock / "
            f"5% declined / 5% unshippable; events published via `{args.publish_via}`.",
            f"- Raw results (CSV, HTML reports, summaries, verify output): [{rel}/]({rel}/)",
            "",
            *lines,
            "",
            "![latency per mode](" + rel + "/latency.png)",
            "![CPU per saga per component](" + rel + "/cpu.png)",
            "",
            *rss,
            "",
        ]
    )


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def _redis_version() -> str:
    out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    return out.split("v=")[1].split()[0] if "v=" in out else "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", default="60s")
    parser.add_argument("--publish-via", choices=["outbox", "direct"], default="direct")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument(
        "--security",
        choices=["on", "off", "both"],
        default="on",
        help="both: a stack with and one without mTLS, access control and tokens, loaded "
        "in turn per mode; writes docs/benchmarks/<date>-<machine>-security.md",
    )
    args = parser.parse_args(argv)
    if args.security == "both":
        return security_cost(args)
    name = f"{datetime.now():%Y-%m-%d}-{machine()}" + (
        "" if args.publish_via == "direct" else f"-{args.publish_via}"
    )
    name += "" if args.security == "on" else "-insecure"
    out = REPO / "docs" / "benchmarks" / name
    shutil.rmtree(out, ignore_errors=True)
    stack = fresh_stack(
        REPO / "loadtests" / "results" / f"{name}-stack",
        args.publish_via,
        security=args.security == "on",
    )
    results = []
    try:
        for mode in args.modes.split(","):
            print(f"== {mode}: {args.rate:g} orders/s for {args.duration}", flush=True)
            run = run_locust(
                stack, mode, args.rate, seconds(args.duration), out / mode, users=args.users
            )
            results.append(run.summary())
    finally:
        stack.stop()
    charts(results, out)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    command = "make compare " + " ".join(
        f"{k.upper()}={v}"
        for k, v in (
            ("rate", f"{args.rate:g}"),
            ("users", args.users),
            ("duration", args.duration),
            ("publish_via", args.publish_via),
            ("security", args.security),
        )
    )
    doc = out.with_suffix(".md")
    doc.write_text(markdown(results, args, name, command))
    print(f"\nwrote {doc}")
    return 1 if any(r["violations"] or r["saga_failures"] for r in results) else 0


def security_cost(args: argparse.Namespace) -> int:
    """What mTLS, access control and API tokens cost: two stacks, one with security and one
    without (DAPRSHOP_SECURITY=off), up at once and loaded in turn, mode by mode, the order
    alternating so that neither always runs on a warmer machine."""
    name = f"{datetime.now():%Y-%m-%d}-{machine()}-security"
    out = REPO / "docs" / "benchmarks" / name
    shutil.rmtree(out, ignore_errors=True)
    results: dict[str, list[dict[str, Any]]] = {"on": [], "off": []}
    stacks = {}
    try:
        for sec in ("on", "off"):
            work = REPO / "loadtests" / "results" / f"{name}-{sec}-stack"
            shutil.rmtree(work, ignore_errors=True)
            stacks[sec] = fresh_stack(work, args.publish_via, security=sec == "on")
        for i, mode in enumerate(args.modes.split(",")):
            for sec in ("on", "off") if i % 2 == 0 else ("off", "on"):
                print(f"== {mode}, security {sec}: {args.rate:g} orders/s", flush=True)
                run = run_locust(
                    stacks[sec],
                    mode,
                    args.rate,
                    seconds(args.duration),
                    out / f"{mode}-{sec}",
                    users=args.users,
                )
                results[sec].append(run.summary())
    finally:
        for stack in stacks.values():
            stack.stop()
    (out / "results.json").write_text(json.dumps(results, indent=1))
    command = (
        f"make compare SECURITY=both RATE={args.rate:g} USERS={args.users} "
        f"DURATION={args.duration} PUBLISH_VIA={args.publish_via}"
    )
    doc = out.with_suffix(".md")
    doc.write_text(security_markdown(results, args, name, command))
    print(f"\nwrote {doc}")
    failed = [r for rs in results.values() for r in rs if r["violations"] or r["saga_failures"]]
    return 1 if failed else 0


def security_markdown(
    results: dict[str, list[dict[str, Any]]], args: argparse.Namespace, rel: str, command: str
) -> str:
    def cpu(r: dict[str, Any], part: str | None = None) -> float:
        parts = r["cpu_ms_per_saga"]
        if part:
            return float(parts.get(part, 0.0))
        return float(sum(v for k, v in parts.items() if k != "locust"))

    rows = [
        ("p50 time to terminal (ms)", lambda r: float(r["saga_p50_ms"])),
        ("p99 time to terminal (ms)", lambda r: float(r["saga_p99_ms"])),
        ("p99 HTTP accept (ms)", lambda r: float(r["accept_p99_ms"])),
        ("completed sagas/s", lambda r: float(r["sagas_per_s"])),
        ("CPU ms per saga, all but locust", cpu),
        ("CPU ms per saga: sidecars", lambda r: cpu(r, "sidecar")),
        ("CPU ms per saga: apps", lambda r: cpu(r, "app")),
        ("CPU ms per saga: Redis+placement+scheduler+sentry", lambda r: cpu(r, "infrastructure")),
    ]
    lines = [
        f"# What security costs, {datetime.now():%Y-%m-%d}, {machine()}",
        "",
        "mTLS between sidecars (Sentry identities), access-control policies, API tokens both",
        "ways and the app's token check, against the same stack with `DAPRSHOP_SECURITY=off`",
        "(no Sentry, no mTLS, no policies, no tokens; topic scopes and the Redis password stay).",
        "Both stacks were up at once and loaded in turn, mode by mode, alternating which went",
        "first; medians and p99 are of one run each, so read ratios near 1 as noise.",
        "",
        f"- Machine: {os.cpu_count()} cores, {platform.system()} {platform.release()}; locust on "
        "the same machine.",
        f"- Versions: Dapr runtime {pinned_version()}, Python SDK {_version('dapr')}.",
        f"- Command: `{command}`",
        f"- Load: {args.rate:g} orders/s offered, {seconds(args.duration):.0f} s per mode and "
        f"setting; events published via `{args.publish_via}`.",
        f"- Raw results: [{rel}/]({rel}/)",
        "",
    ]
    for on, off in zip(results["on"], results["off"], strict=True):
        lines += [
            f"## {on['mode']}",
            "",
            "| | security on | security off | on / off |",
            "|---|---|---|---|",
        ]
        for label, f in rows:
            a, b = f(on), f(off)
            ratio = f"{a / b:.2f}" if b else "-"
            lines.append(f"| {label} | {a:.1f} | {b:.1f} | {ratio} |")
        verdict = [
            f"security {k}: " + ("verify passed" if not r["violations"] else "VIOLATIONS")
            for k, r in (("on", on), ("off", off))
        ]
        lines += ["", "; ".join(verdict) + ".", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
