"""`daprshop` command line: runtime | build-apps | engine | standins | compose-secrets | run |
status | down | token | verify | audit | breaker | balance | deploycheck | cluster."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from daprshop import clustercli, front, runtime
from daprshop.security import Credentials
from daprshop.stack import REPO, Stack, StackError, down, running_launcher
from daprshop.supervision import read_status, status_table
from daprshop.topology import APP_IDS, REPLICABLE, Topology, parse_replicas
from daprshop.verify import urls_for, verify

RUN_DIR = Path(os.environ.get("DAPRSHOP_RUN_DIR", REPO / ".run"))


def cmd_runtime(_args: argparse.Namespace) -> int:
    runtime.ensure_runtime()
    return 0


def cmd_build_apps(args: argparse.Namespace) -> int:
    """Build the apps written in Go (daprshop.launch) into a directory, for dapr.yaml."""
    from daprshop import launch

    return launch.main([args.dir] if args.dir else [])


def cmd_engine(args: argparse.Namespace) -> int:
    """Make a Docker engine and Compose v2 available, or (--stop) stop the dockerd it started."""
    from daprshop import dockerd, engine

    if args.stop:
        pid = dockerd.stop_dockerd()
        print(f"stopped dockerd (pid {pid})" if pid else "no dockerd started by daprshop runs")
        return 0
    engine.ensure_engine()
    return 0


def cmd_standins(_args: argparse.Namespace) -> int:
    """Build the local stand-ins for third-party images (no registry here); skip those present."""
    from daprshop import standins

    for var, s in standins.ensure_standins().items():
        print(f"  {var}={s.image}  (for {s.upstream})")
    return 0


def cmd_compose_secrets(args: argparse.Namespace) -> int:
    """Write a fresh set of the secrets docker compose reads into <dir>/.run/compose/."""
    from daprshop import composesecrets

    for path in composesecrets.write(Path(args.dir)):
        print(f"  wrote {path} ({path.stat().st_mode & 0o777:o})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Start the whole stack in the foreground, restarting any process that dies; Ctrl-C
    (or `daprshop down`) stops it."""
    try:
        replicas = parse_replicas(args.replicas)
    except ValueError as err:
        print(f"daprshop: {err} (REPLICAS, DAPRSHOP_REPLICAS)", file=sys.stderr)
        return 2
    if (pid := running_launcher(RUN_DIR)) is not None:
        print(f"daprshop is already running (pid {pid}); `make down` stops it", file=sys.stderr)
        return 1
    if down(RUN_DIR):
        print("stopped processes left over from an earlier run")
    bin_dir = runtime.ensure_runtime()
    topo = Topology.defaults()
    if taken := topo.busy():
        for name, port in taken:
            print(f"daprshop: port {port} is in use ({name})", file=sys.stderr)
        name, port = taken[0]
        print(
            f"Stop what holds it (`ss -ltnp 'sport = :{port}'` shows it) or move daprshop off it,"
            f" e.g. `{name}={port + 100} make run`.",
            file=sys.stderr,
        )
        return 1
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s daprshop: %(message)s", datefmt="%H:%M:%S"
    )
    stack = Stack(
        topo,
        RUN_DIR,
        bin_dir,
        persistent=True,
        log_level=args.log_level,
        zipkin=args.zipkin,
        replicas=replicas,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Ctrl-C stops the stack even when this process was started with SIGINT ignored (a
    # parent that ignores it passes that on, and Python then installs no handler): seen
    # when the test suite's process had SIGINT ignored by an earlier test's library.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    launcher_file = RUN_DIR / "launcher.json"
    launcher_file.write_text(json.dumps([os.getpid(), sys.executable]))
    started = time.monotonic()
    print(
        f"starting Redis, placement, scheduler, Sentry, {'Zipkin, ' if args.zipkin else ''}"
        f"{len(APP_IDS)} apps with sidecars{' and the edge' if stack.edge else ''}"
        f" (logs: {stack.logs})"
    )
    try:
        stack.start()
        _print_urls(stack, topo, time.monotonic() - started)
        while True:
            signal.pause()  # the supervisor thread restarts what dies; a signal ends this
    except StackError as err:
        print(f"daprshop: {err}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, SystemExit):
        print("\nstopping...")
        return 0
    finally:
        stack.stop()
        launcher_file.unlink(missing_ok=True)
        print("stopped; no process of the stack is left", flush=True)


def _print_urls(stack: Stack, topo: Topology, took: float) -> None:
    urls = stack.urls()
    print(f"\ndaprshop is up in {took:.1f}s\n")
    w = max(10, *map(len, urls))  # replicas' names are longer: inventory-2
    print(f"  {'app':<{w}} {'app url':<24} {'sidecar (dapr) url':<24} log")
    for app_id, u in urls.items():
        print(f"  {app_id:<{w}} {u['app']:<24} {u['dapr']:<24} {u['log']}")
    print(f"\n  sagas, per mode:  {urls['orders']['app']}/")
    print(f"  orders API docs:  {urls['orders']['app']}/docs")
    print(
        f"  wiring check:     curl -K {RUN_DIR}/secrets/curl/orders "
        f"{urls['orders']['app']}/diagnostics/dependencies"
    )
    for app_id in sorted({a for n, (a, _p) in stack.instances.items() if n != a}):
        print(f"  load balancing:   make balance APP={app_id}  (calls counted per instance)")
    print(
        "  security:         mTLS (Sentry), deny-by-default access policies, topic scopes,"
        " tokens; `make audit` shows every probe refused"
    )
    if stack.edge:
        print(
            f'  the edge (JWT):   curl -H "Authorization: Bearer $(.venv/bin/daprshop token)" '
            f"http://127.0.0.1:{topo.edge_http}/v1.0/invoke/orders/method/orders"
        )
        print(f"  the edge's log:   {stack.logs / front.ACCESS_LOG} (a line per request)")
    if stack.zipkin:
        print(
            f"  traces:           {stack.traces_url()}/zipkin/ (Zipkin; each order's trace is"
            " linked from the sagas page)"
        )
    print(f"  Redis:            127.0.0.1:{topo.redis} (append-only file in {RUN_DIR}/redis)")
    print("\nA process that dies is restarted (`make status` shows restarts).")
    print("Ctrl-C or `make down` stops everything.", flush=True)


def cmd_status(_args: argparse.Namespace) -> int:
    """Each process's state, pid, restarts and last exit, as the running launcher sees it."""
    pid = running_launcher(RUN_DIR)
    status = read_status(RUN_DIR)
    if pid is None or status is None:
        print("daprshop is not running" + (" (stale status file)" if status else ""))
        return 3
    print(f"daprshop launcher pid {pid} ({RUN_DIR})")
    print(status_table(status))
    return 0


def cmd_down(_args: argparse.Namespace) -> int:
    stopped = down(RUN_DIR)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing of daprshop was running")
    left = [n for n in stopped if n != "launcher"]
    if left:
        print(f"({len(left)} process(es) had outlived their launcher and were stopped)")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """Print a bearer token for a client of make run's edge (signed by its local issuer)."""
    from daprshop import edge

    if not (RUN_DIR / "secrets" / edge.ISSUER_KEY).exists():
        print(
            f"daprshop: no token issuer in {RUN_DIR}: start the stack with `make run` first",
            file=sys.stderr,
        )
        return 3
    if args.ttl <= 0:
        print(
            f"daprshop: --ttl must be a positive number of seconds, not {args.ttl}", file=sys.stderr
        )
        return 2
    print(edge.mint(RUN_DIR, Topology.defaults(), args.client, args.ttl))
    return 0


def run_credentials() -> Credentials:
    """make run's secrets (made at its first start), or a clear exit."""
    creds = Credentials.load(RUN_DIR)
    if creds is None:
        raise SystemExit(
            f"daprshop: no secrets in {RUN_DIR}/secrets: start the stack with `make run` first"
        )
    return creds


def compose_credentials(secrets_dir: Path) -> Credentials:
    """A compose stack's secrets (written by `daprshop compose-secrets`), or a clear exit."""
    from daprshop import composesecrets

    creds = composesecrets.load(secrets_dir)
    if creds is None:
        raise SystemExit(
            f"daprshop: no compose secrets in {secrets_dir}: write them with "
            f"{composesecrets.write_command(secrets_dir)} and start the stack with docker compose"
        )
    return creds


def cmd_verify(args: argparse.Namespace) -> int:
    urls = urls_for(Topology.defaults(), {app: vars(args)[f"{app}_url"] for app in APP_IDS})
    secrets_dir = args.compose_secrets
    if args.kubernetes is not None:
        from daprshop import k8ssecrets

        creds = k8ssecrets.load(args.kubernetes)
    elif secrets_dir is not None:
        creds = compose_credentials(secrets_dir)
    else:
        creds = run_credentials()
    report = verify(urls, args.deadline, creds.operator_auth())
    print(
        json.dumps(
            {
                "orders": len(report.orders),
                "violations": report.violations,
                "counts": {f"{m} {s}": n for (m, s), n in report.counts().items()},
            },
            indent=1,
        )
        if args.json
        else report.text()
    )
    return 1 if report.violations else 0


def cmd_audit(_args: argparse.Namespace) -> int:
    """Replay the security probes against make run's stack; exit 1 if any is not refused."""
    from daprshop import audit

    if running_launcher(RUN_DIR) is None:
        print("daprshop is not running: start it with `make run`, then `make audit`")
        return 3
    results = audit.run(audit.Target(Topology.defaults(), run_credentials(), workdir=RUN_DIR))
    print(audit.table(results))
    pids = json.loads((RUN_DIR / "pids.json").read_text())
    found = audit.listeners({name: pid for name, (pid, _exe) in pids.items()})
    open_ = audit.exposed(found)
    print(f"\nlisteners: {len(found)}, on loopback: {sum(x.loopback for x in found)}")
    for x in found:
        if not x.loopback:
            known = x.process in audit.UPSTREAM_WILDCARD
            why = (
                "known: Dapr 1.18.2 health server, ignores its listen address" if known else "OPEN"
            )
            print(f"  {x.process:<16} {x.address:<22} {why}")
    refused = sum(a.refused for _p, a in results)
    print(
        f"\n{refused}/{len(results)} probes refused; {len(open_)} unexpected non-loopback listeners"
    )
    return 0 if refused == len(results) and not open_ else 1


def cmd_breaker(args: argparse.Namespace) -> int:
    """A circuit breaker opening and closing, live, on make run's stack, or on a stack of
    its own when none is up."""
    from daprshop import breakerdemo
    from daprshop.daprmetrics import metrics_url
    from daprshop.shopclient import ShopClient, ShopError

    def show(client: ShopClient, topo: Topology) -> int:
        metrics = metrics_url(topo.apps["orders"].metrics)
        print(breakerdemo.policy(REPO / "components" / "resiliency.yaml"))
        print(f"orders' sidecar metrics: {metrics}\n", flush=True)
        try:
            return breakerdemo.run(client, metrics, args.mode, args.hold, print)
        except ShopError as err:
            print(f"daprshop breaker: {err}", file=sys.stderr)
            return 1
        except OSError as err:  # a URLError too: the stack stopped, or is on other ports
            print(f"daprshop breaker: {err}; is the stack still up?", file=sys.stderr)
            return 1

    if running_launcher(RUN_DIR) is not None:
        topo = Topology.defaults()
        print(f"on make run's stack ({RUN_DIR})")
        return show(ShopClient.at(topo, run_credentials(), RUN_DIR), topo)
    workdir = RUN_DIR / "breaker"  # this run's stack: its logs stay until the next run
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"no `make run` stack is up: starting one of its own on free ports ({workdir})")
    stack = Stack(Topology.free(), workdir, runtime.ensure_runtime())
    try:
        stack.start()
        return show(ShopClient.of(stack), stack.topo)
    except StackError as err:
        print(f"daprshop breaker: {err} (logs: {stack.logs})", file=sys.stderr)
        return 1
    finally:
        stack.stop()


def cmd_balance(args: argparse.Namespace) -> int:
    """Call an app-id's /healthz through orders' sidecar, as orders, and count the answers
    per instance: the caller's sidecar balances between the app-id's instances."""
    from daprshop import balance
    from daprshop.shopclient import http

    topo = Topology.defaults()
    sidecar = f"http://127.0.0.1:{topo.apps['orders'].http}"
    url = f"{sidecar}/v1.0/invoke/{args.app}/method/healthz"
    headers = {"dapr-api-token": run_credentials().api_tokens["orders"]}

    def call() -> tuple[int, object]:
        status, body, _ = http("GET", url, headers=headers)
        return status, body

    try:
        result = balance.spread(call, args.calls)
        regs = balance.registrations(RUN_DIR / "nr.db", args.app)
    except OSError as err:  # a URLError too: no stack there, or on other ports
        print(
            f"daprshop balance: {sidecar}: {err}; is make run's stack up "
            f"(`make run REPLICAS={args.app}=2`)?",
            file=sys.stderr,
        )
        return 1
    print(balance.report(args.app, regs, result, f"orders' sidecar ({sidecar})"))
    return 1 if result.failed else 0


def cmd_deploycheck(args: argparse.Namespace) -> int:
    from daprshop import deploycheck

    return deploycheck.main(["--prepare"] if args.prepare else [])


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="daprshop", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("runtime", help="find or build daprd, placement and scheduler").set_defaults(
        func=cmd_runtime
    )
    eng = sub.add_parser("engine", help="start a Docker engine, build Compose v2 if missing")
    eng.add_argument("--stop", action="store_true", help="stop the dockerd daprshop started")
    eng.set_defaults(func=cmd_engine)
    sub.add_parser(
        "standins", help="build local stand-ins for third-party images (daprshop-standin/...)"
    ).set_defaults(func=cmd_standins)
    build = sub.add_parser("build-apps", help="build the Go apps (make setup; for dapr.yaml)")
    build.add_argument("dir", nargs="?", help="where the binaries go (default .run/bin)")
    build.set_defaults(func=cmd_build_apps)
    sec = sub.add_parser(
        "compose-secrets", help="write new random tokens and passwords for docker compose"
    )
    sec.add_argument("dir", help="the compose project's directory (gets .run/compose/)")
    sec.set_defaults(func=cmd_compose_secrets)
    run = sub.add_parser("run", help="start the whole stack in the foreground")
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warn", "error"])
    run.add_argument(
        "--no-zipkin",
        dest="zipkin",
        action="store_false",
        help="run without the trace backend (no Java needed; trace context still flows)",
    )
    run.add_argument(
        "--replicas",
        default=os.environ.get("DAPRSHOP_REPLICAS", ""),
        metavar="APP=N,...",
        help="run N instances of a participant, e.g. inventory=2 (default: $DAPRSHOP_REPLICAS)",
    )
    run.set_defaults(func=cmd_run)
    sub.add_parser("status", help="each process of `daprshop run`: state, restarts").set_defaults(
        func=cmd_status
    )
    sub.add_parser("down", help="stop a stack started by `daprshop run`").set_defaults(
        func=cmd_down
    )
    tok = sub.add_parser("token", help="print a JWT for a client of make run's edge")
    tok.add_argument("--client", default="demo", help="the client's name (the token's sub)")
    tok.add_argument(
        "--ttl", type=int, default=3600, help="seconds until the token expires (default 3600)"
    )
    tok.set_defaults(func=cmd_token)
    ver = sub.add_parser(
        "verify", help="check invariants 1-4 and 6 (no orphans) against a running daprshop"
    )
    for app in APP_IDS:
        ver.add_argument(
            f"--{app}-url", dest=f"{app}_url", help=f"{app} app URL (default: make run's)"
        )
    ver.add_argument(
        "--deadline",
        type=float,
        default=60.0,
        help="seconds to wait for every order to end (default 60)",
    )
    ver.add_argument(
        "--compose-secrets",
        type=Path,
        metavar="DIR",
        help="verify a docker compose stack: its secrets directory, e.g. .run/compose "
        "(default: make run's secrets)",
    )
    ver.add_argument(
        "--kubernetes",
        metavar="NAMESPACE",
        nargs="?",
        const="daprshop",
        help="verify daprshop on Kubernetes: read its Secrets with kubectl from NAMESPACE "
        '(default daprshop); the URLs are port-forwards (README "Kubernetes")',
    )
    ver.add_argument("--json", action="store_true", help="machine-readable output")
    ver.set_defaults(func=cmd_verify)
    sub.add_parser(
        "audit", help="replay the security probes against make run's stack; all must be refused"
    ).set_defaults(func=cmd_audit)
    brk = sub.add_parser(
        "breaker",
        help="fail payments, watch orders' circuit breaker open and close in Dapr's metrics",
    )
    brk.add_argument("--mode", default="orchestration", choices=["orchestration", "hybrid"])
    brk.add_argument(
        "--hold",
        type=float,
        default=7.0,
        help="seconds payments stays down after the breaker opened (default 7: longer than"
        " the breaker's 5 s open, so a call let through half-open fails and reopens it)",
    )
    brk.set_defaults(func=cmd_breaker)
    bal = sub.add_parser(
        "balance",
        help="call an app's /healthz through orders' sidecar, count the answers per instance",
    )
    bal.add_argument("--app", default="inventory", choices=REPLICABLE, help="default inventory")
    bal.add_argument("--calls", type=int, default=40, help="how many calls (default 40)")
    bal.set_defaults(func=cmd_balance)
    check = sub.add_parser(
        "deploycheck", help="validate Dockerfiles, compose and Kubernetes without an engine"
    )
    check.add_argument("--prepare", action="store_true", help="only build tools and schemas")
    check.set_defaults(func=cmd_deploycheck)
    clustercli.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
