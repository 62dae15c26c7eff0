"""`daprshop cluster pin | build | up | down`: the single-node Kubernetes of issue #17."""

from __future__ import annotations

import argparse
import sys
import time


def cmd_pin(args: argparse.Namespace) -> int:
    from daprshop import clusterpin

    drift = clusterpin.pin(args.version)
    print(f"tools/k8s pinned to {clusterpin.MODULE} {args.version}")
    for line in drift:
        print(f"  differs from the release's go.mod: {line}", file=sys.stderr)
    return 1 if drift else 0


def cmd_build(_args: argparse.Namespace) -> int:
    from daprshop import clusterbuild, clusterparts

    started = time.monotonic()
    clusterbuild.ensure_binaries()
    clusterbuild.ensure_pause()
    clusterparts.ensure_helm()
    clusterparts.ensure_coredns()
    clusterparts.ensure_dapr_images()
    print(f"cluster build: everything ready in {time.monotonic() - started:.0f}s", flush=True)
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from daprshop import clusterup

    return clusterup.up(args.workdir)


def cmd_down(args: argparse.Namespace) -> int:
    from daprshop import clusterup

    return clusterup.down(args.workdir)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cluster = sub.add_parser(
        "cluster",
        help="a single-node Kubernetes built from Go modules and Debian packages (needs root)",
    )
    csub = cluster.add_subparsers(dest="cluster_command", required=True)
    pin = csub.add_parser("pin", help="rewrite tools/k8s/go.mod for a k8s.io/kubernetes release")
    pin.add_argument("version", help="e.g. v1.36.3")
    pin.set_defaults(func=cmd_pin)
    csub.add_parser(
        "build",
        help="build the Kubernetes binaries, the pause image, helm, CoreDNS and the Dapr "
        "control plane's image (each cached)",
    ).set_defaults(func=cmd_build)
    for name, func, what in (
        ("up", cmd_up, "start etcd, containerd, the control plane and a kubelet"),
        ("down", cmd_down, "stop what `cluster up` started; leave no process or mount"),
    ):
        p = csub.add_parser(name, help=what)
        p.add_argument("--workdir", default=None, help="state directory (default .run/k8s)")
        p.set_defaults(func=func)
