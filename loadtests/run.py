"""`make loadtest` and `make capacity`: start a fresh stack on free ports, load it with
locust in one mode, verify the invariants afterwards, write everything to
loadtests/results/<timestamp>-<mode>/, and stop the stack."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from daprshop import runtime
from daprshop.stack import Stack
from daprshop.topology import Topology
from loadtests.harness import HERE, run_locust

MODES = ("choreography", "orchestration", "hybrid")


def fresh_stack(
    workdir: Path, publish_via: str, *, security: bool = True, edge_rate: int | None = None
) -> Stack:
    """A stack on free ports; `edge_rate` raises the edge's limit per client (a load test
    placing orders through the edge is one client)."""
    stack = Stack(
        Topology.free(),
        workdir,
        runtime.ensure_runtime(),
        log_level="warn",
        app_env={"DAPRSHOP_PUBLISH_VIA": publish_via},
        security=security,
        **({"edge_rate": edge_rate} if edge_rate else {}),
    )
    print(f"starting a fresh stack (logs: {stack.logs})", flush=True)
    stack.start()
    return stack


def seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["loadtest", "capacity"])
    parser.add_argument("--mode", choices=MODES, default="choreography")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rate", type=float, default=10.0, help="orders/s offered in total")
    parser.add_argument("--duration", default="60s", help="e.g. 30s, 2m")
    parser.add_argument("--publish-via", choices=["outbox", "direct"], default="direct")
    parser.add_argument("--step", default="30s", help="capacity: time per rate step")
    parser.add_argument("--max-rate", type=float, default=200.0)
    args = parser.parse_args(argv)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = HERE / "results" / f"{stamp}-{args.what}-{args.mode}"
    stack = fresh_stack(out / "stack", args.publish_via)
    try:
        if args.what == "loadtest":
            run = run_locust(
                stack, args.mode, args.rate, seconds(args.duration), out, users=args.users
            )
            summary = run.summary()
        else:
            capacity = {
                "DAPRSHOP_CAPACITY": "1",
                "DAPRSHOP_STEP_S": str(seconds(args.step)),
                "DAPRSHOP_START_RATE": "10",
                "DAPRSHOP_STEP_RATE": "10",
                "DAPRSHOP_MAX_RATE": str(args.max_rate),
                "DAPRSHOP_CAPACITY_OUT": str(out / "capacity.json"),
            }
            run = run_locust(
                stack,
                args.mode,
                args.max_rate,
                args.max_rate / 10 * seconds(args.step),
                out,
                capacity=capacity,
            )
            summary = {**run.summary(), **json.loads((out / "capacity.json").read_text())}
    finally:
        stack.stop()
    print(json.dumps(summary, indent=1))
    failed = run.violations or run.returncode not in (0, 1) or summary.get("saga_failures")
    print(
        f"\nresults: {out}\n"
        + ("FAILED: see verify.txt and report.html" if failed else "verify passed")
    )
    return 1 if run.violations else 0


if __name__ == "__main__":
    sys.exit(main())
