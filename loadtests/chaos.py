"""`make chaos`: the chaos matrix. For each fault (one at a time) and each mode, a fresh
stack under locust load, the fault injected mid-load and stopped again; then every accepted
order must be terminal within 30 s and `daprshop verify` must pass. Prints progress and
writes the verdict table to docs/reliability/<date>-<machine>.md."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from loadtests.chaos_cell import DEADLINE_S, CellResult, run_cell
from loadtests.chaos_faults import DELIVERY, FAULTS, LATENCY
from loadtests.compare import REPO, _redis_version, _version, machine
from loadtests.run import MODES, seconds


def verdict(r: CellResult) -> str:
    if r.error:
        return f"⚠️ harness error: {r.error}"
    took = f"{r.recovery_s} s" if r.recovery_s is not None else f"> {DEADLINE_S:.0f} s"
    bad = len(r.violations) + len(r.wrong_outcomes)
    return (
        f"{'✅' if r.passed else '❌'} {took} · {r.orders} orders ({r.placed_after} after) · "
        f"{bad} violations"
    )


def evidence(r: CellResult) -> list[str]:
    lines = [f"### {r.fault} in {r.mode} mode", ""]
    if r.error:
        lines.append(f"- harness error: `{r.error}` (traceback: `{r.out}/error.txt`)")
    if r.recovery_s is None and not r.error:
        lines.append(
            f"- {r.late_count or 'some'} orders placed before the fault stopped not terminal "
            f"{DEADLINE_S:.0f} s after it stopped"
            + ("; as they were then:" if r.late else " (which ones was not recorded)")
        )
        lines += _orders(r.late)
    if not r.all_terminal and not r.error:
        lines.append(f"- not every accepted order terminal {DEADLINE_S:.0f} s after the load ended")
    lines += [f"- verify: {v}" for v in r.violations[:8]]
    if len(r.violations) > 8:
        lines.append(f"- … and {len(r.violations) - 8} more violations (`{r.out}/verify.txt`)")
    lines += [f"- wrong outcome: {w}" for w in r.wrong_outcomes[:5]]
    if r.dead_letters:
        lines.append(f"- orders lists {r.dead_letters} dead-lettered messages (`/dead-letters`)")
    if r.stuck:
        lines.append("- orders never terminal, as they were at the end:")
        lines += _orders(r.stuck[:3])
    lines += [f"- logs: `{r.out}/stack/logs/`", ""]
    return lines


def _orders(orders: list[dict[str, Any]]) -> list[str]:
    lines = []
    for order in orders:
        lines.append(
            f"  - `{order['order_id']}` ({order.get('mode')}) {order.get('status')}, "
            f"placed {order.get('created_at')}, timeline:"
        )
        for e in order.get("timeline", []):
            lines.append(f"    - {e['recorded_at']} {e['participant']} {e['event']} ({e['kind']})")
        if order.get("workflow"):
            lines.append(f"    - workflow: `{order['workflow']}`")
    return lines


def markdown(results: list[CellResult], args: argparse.Namespace, took_s: float) -> str:
    modes = list(dict.fromkeys(r.mode for r in results))
    faults = list(dict.fromkeys(r.fault for r in results))
    cell = {(r.fault, r.mode): r for r in results}
    table = ["| fault | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]
    for f in faults:
        row = [verdict(cell[f, m]) if (f, m) in cell else "not run" for m in modes]
        table.append(f"| {f} | " + " | ".join(row) + " |")
    failed = [r for r in results if not r.passed]
    return "\n".join(
        [
            f"# daprshop chaos matrix, {datetime.now():%Y-%m-%d}, {machine()}",
            "",
            f"- Command: `make chaos CHAOS_RATE={args.rate:g} CHAOS_DURATION={args.duration}"
            f" CHAOS_DOWN={args.down:g}`; {len(results)} cells in {took_s / 60:.1f} min.",
            f"- Versions: Dapr runtime {_pinned()}, Python SDK {_version('dapr')}, locust "
            f"{_version('locust')}, Redis {_redis_version()} (append-only file on).",
            f"- Each cell: a fresh stack; locust offers {args.rate:g} orders/s for {args.duration} "
            "(mix 85 % complete / 5 % out of stock / 5 % declined / 5 % unshippable); a quarter "
            "into the load the fault starts; a killed process is "
            "restarted by the launcher's supervisor (back-off from 1 s), a "
            f"fault plan stays {args.plan_hold:g} s on every command of every participant "
            f"(duplicate+reorder `{DELIVERY}`, latency `{LATENCY}`); the load goes on to its end.",
            f"- A cell passes when every order placed before the fault stopped is terminal within "
            f"{DEADLINE_S:.0f} s of it stopping, every accepted order is terminal within "
            f"{DEADLINE_S:.0f} s of the load's end, `daprshop verify` finds no violation and no "
            "saga ends with another outcome than without the fault.",
            "- Cell: time from the fault stopping to every order it touched being terminal · "
            "orders accepted (of them, after the fault stopped) · violations (verify + wrong "
            "outcomes).",
            "",
            *table,
            "",
            f"## Failed cells ({len(failed)})" if failed else "All cells passed.",
            "",
            *[line for r in failed for line in evidence(r)],
        ]
    )


def _pinned() -> str:
    from daprshop.runtime import pinned_version

    return pinned_version()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=4.0, help="orders/s offered")
    parser.add_argument("--duration", default="24s", help="load per cell, e.g. 24s")
    parser.add_argument(
        "--down", type=float, default=0.0, help="s to wait after a kill before awaiting the restart"
    )
    parser.add_argument("--plan-hold", type=float, default=8.0, help="s a fault plan lasts")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--faults", default="", help="names to run (substrings), default all")
    parser.add_argument("--log-level", default="warn", help="daprd's, e.g. info or debug")
    parser.add_argument("--doc", type=Path, default=None, help="where to write the table")
    parser.add_argument(
        "--rebuild", type=Path, default=None, help="only rewrite the table from a results dir"
    )
    args = parser.parse_args(argv)
    if args.rebuild:
        order = [f.name for f in FAULTS]
        cells = sorted(
            (_cell(p) for p in args.rebuild.glob("*/cell.json")),
            key=lambda r: (order.index(r.fault), MODES.index(r.mode)),
        )
        return write(args, cells, sum(r.seconds for r in cells))
    os.environ.setdefault("DAPRSHOP_SAGA_TIMEOUT_S", "40")  # locust's pollers give up then
    wanted = [w for w in args.faults.split(",") if w]
    faults = [f for f in FAULTS if not wanted or any(w in f.name for w in wanted)]
    cells = [(f, m) for f in faults for m in args.modes.split(",")]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    results_dir = REPO / "loadtests" / "results" / f"{stamp}-chaos"
    started, results = time.monotonic(), []
    for i, (fault, mode) in enumerate(cells, 1):
        print(f"== cell {i}/{len(cells)}: {fault.name} in {mode}", flush=True)
        results.append(
            run_cell(
                fault,
                mode,
                results_dir / f"{fault.name.replace(' ', '_')}-{mode}",
                rate=args.rate,
                duration_s=seconds(args.duration),
                hold_s=args.down if fault.kills else args.plan_hold,
                log_level=args.log_level,
            )
        )
    print(f"raw results: {results_dir}")
    return write(args, results, time.monotonic() - started)


def write(args: argparse.Namespace, results: list[CellResult], took: float) -> int:
    doc = args.doc or REPO / "docs" / "reliability" / f"{datetime.now():%Y-%m-%d}-{machine()}.md"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(markdown(results, args, took) + "\n")
    passed = sum(r.passed for r in results)
    print(f"\n{passed}/{len(results)} cells passed in {took / 60:.1f} min; wrote {doc}")
    return 0 if passed == len(results) else 1


def _cell(path: Path) -> CellResult:
    data = json.loads(path.read_text())
    data.pop("passed")
    return CellResult(**{**data, "out": Path(data["out"])})


if __name__ == "__main__":
    sys.exit(main())
