"""`daprshop cluster up` / `down`: etcd, containerd and the CNI plugins from Debian, the
control plane, a kubelet and kube-proxy from the binaries built here, in the background.

`up` returns once /readyz answers ok, the node has registered and kube-proxy is healthy;
`down` stops every process it recorded and the containers' shims, unmounts, unpins the
pods' network namespaces, deletes the bridge, the kubelet's cgroups and the iptables
chains made since `up`, restores the sysctls, and says what (if anything) is left.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from daprshop import clusterbuild, clusterconfig, clusteriptables, clusterpki, clusterproc
from daprshop.clusterconfig import Layout
from daprshop.dockerd import ok as _ok
from daprshop.runtime import REPO

DEFAULT_WORKDIR = REPO / ".run" / "k8s"
DEBIAN = {
    "etcd": "etcd-server",
    "containerd": "containerd",
    "runc": "runc",
    f"{clusterconfig.CNI_BIN}/bridge": "containernetworking-plugins",
}
# the order to start in; `down` stops in reverse
ORDER = (
    "etcd",
    "containerd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",  # once the node exists: it reads the node's addresses
)


def node_ip(route: str) -> str:
    """The source address of `ip -4 route get 1.1.1.1`'s answer: the node's own IP."""
    words = route.split()
    return words[words.index("src") + 1]


def import_image(socket: Path, archive: Path, timeout: float = 30) -> str:
    """`ctr -n k8s.io images import` of an image archive into the cluster's containerd."""
    cmd = ["ctr", f"--address={socket}", "-n", "k8s.io", "images", "import", str(archive)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"`{' '.join(cmd)}` took over {timeout:.0f}s") from None
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _tail(work: Path, name: str, lines: int = 25) -> str:
    log = work / "logs" / f"{name}.log"
    text = log.read_text(errors="replace").splitlines()[-lines:] if log.is_file() else []
    return f"--- end of {log}:\n" + "\n".join(text)


def _https_ok(url: str) -> bool:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # a component's self-signed cert
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=5) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _prepare(layout: Layout, pause_ref: str, node: str, ip: str) -> None:
    work = layout.work
    work.mkdir(parents=True, exist_ok=True)
    layout.run.mkdir(parents=True, exist_ok=True)
    if not (layout.pki / "ca.crt").is_file():
        clusterpki.generate(layout.pki, node, ip)
    server = f"https://127.0.0.1:{clusterconfig.APISERVER}"
    for c in clusterpki.clients(node):
        layout.kubeconfig(c.stem).write_text(clusterconfig.kubeconfig(layout, c.stem, server))
        layout.kubeconfig(c.stem).chmod(0o600)
    (work / "containerd.toml").write_text(clusterconfig.containerd_toml(layout, pause_ref))
    (work / "kubelet.json").write_text(clusterconfig.kubelet_config(layout, ip))
    (work / "kube-proxy.json").write_text(clusterconfig.kube_proxy_config(layout, node))
    (work / "cni" / "net.d").mkdir(parents=True, exist_ok=True)
    (work / "cni" / "net.d" / "10-daprshop.conflist").write_text(clusterconfig.cni_conflist(layout))


def up(workdir: str | None) -> int:
    if os.geteuid() != 0:
        print("daprshop cluster up needs root (containerd, the kubelet, sysctls)", file=sys.stderr)
        return 2
    if missing := [pkg for cmd, pkg in DEBIAN.items() if shutil.which(cmd) is None]:  # or a path
        print(f"missing: apt-get install {' '.join(missing)}", file=sys.stderr)
        return 2
    layout = Layout(Path(workdir) if workdir else DEFAULT_WORKDIR)
    work = layout.work
    if running := [n for n, e in clusterproc.read_pids(work).items() if clusterproc.alive(e)]:
        print(f"already running: {', '.join(running)}; `daprshop cluster down` first")
        return 1
    bins = clusterbuild.ensure_binaries()
    archive, pause_ref = clusterbuild.ensure_pause()
    node = socket.gethostname()
    ip = node_ip(
        subprocess.run(
            ["ip", "-4", "route", "get", "1.1.1.1"], check=True, capture_output=True, text=True
        ).stdout
    )
    _prepare(layout, pause_ref, node, ip)
    print(f"==> sysctls for the kubelet: {clusterproc.SYSCTLS} (saved in {work}/sysctls.json)")
    clusterproc.set_sysctls(work)
    clusteriptables.record(work)
    clusterproc.record_netns(work)
    kubectl = [str(bins / "kubectl"), f"--kubeconfig={layout.kubeconfig('admin')}"]
    started = time.monotonic()
    try:
        _start_all(layout, bins, archive, node, ip, kubectl)
    except RuntimeError as err:
        print(f"daprshop cluster up: {err}", file=sys.stderr)
        down(str(work))
        return 1
    print(f"\ncluster up in {time.monotonic() - started:.1f}s: node {node} ({ip})")
    print(f"  kubectl --kubeconfig {layout.kubeconfig('admin')} get nodes  (binary: {bins})")
    print(f"  logs: {layout.logs}; `daprshop cluster down` stops it all")
    return 0


def _start(
    layout: Layout, name: str, cmd: list[str], ready: Callable[[], bool], deadline: float
) -> None:
    pid = clusterproc.spawn(layout.work, name, cmd)
    took = clusterproc.await_(name, ready, deadline, lambda: _tail(layout.work, name))
    print(f"  {name} (pid {pid}) ready in {took:.1f}s", flush=True)


def _start_all(
    layout: Layout, bins: Path, archive: Path, node: str, ip: str, kubectl: list[str]
) -> None:
    cfg, sock = clusterconfig, str(layout.socket)
    etcd_health = f"http://127.0.0.1:{cfg.ETCD_CLIENT}/health"
    _start(
        layout,
        "etcd",
        cfg.etcd_command(layout),
        lambda: _ok("curl", "-fsS", etcd_health) is not None,
        60,
    )
    _start(
        layout,
        "containerd",
        ["containerd", f"--config={layout.work}/containerd.toml"],
        lambda: _ok("ctr", f"--address={sock}", "version") is not None,
        60,
    )
    print(f"  imported {archive.name}: {import_image(layout.socket, archive)}", flush=True)

    def readyz() -> bool:
        out = _ok(*kubectl, "get", "--raw", "/readyz")
        return out is not None and out.stdout.strip() == "ok"

    _start(layout, "kube-apiserver", cfg.apiserver_command(layout, bins, ip), readyz, 180)
    _start(
        layout,
        "kube-controller-manager",
        cfg.controller_manager_command(layout, bins),
        lambda: _https_ok("https://127.0.0.1:10257/healthz"),
        120,
    )
    _start(
        layout,
        "kube-scheduler",
        cfg.scheduler_command(layout, bins),
        lambda: _https_ok("https://127.0.0.1:10259/healthz"),
        120,
    )
    _start(
        layout,
        "kubelet",
        cfg.kubelet_command(layout, bins, node, ip),
        lambda: _ok(*kubectl, "get", "node", node) is not None,
        180,
    )
    _start(
        layout,
        "kube-proxy",
        cfg.kube_proxy_command(layout, bins),
        lambda: _ok("curl", "-fsS", "http://127.0.0.1:10256/healthz") is not None,
        60,
    )


def _containers_gone(sock: str) -> list[str]:
    """Kill and delete every task and container of containerd's k8s.io namespace."""
    ctr = ["ctr", f"--address={sock}", "-n", "k8s.io"]
    tasks = _ok(*ctr, "tasks", "ls", "-q")
    ids = tasks.stdout.split() if tasks else []
    for task in ids:
        _ok(*ctr, "tasks", "kill", "-s", "SIGKILL", task)
    # containerd's CRI deletes a task that exited by itself: done when `tasks ls` lacks it
    remaining, until = set(ids), time.monotonic() + 15
    while remaining and time.monotonic() < until:
        for task in remaining:
            _ok(*ctr, "tasks", "delete", task)
        listed = _ok(*ctr, "tasks", "ls", "-q")
        remaining &= set(listed.stdout.split()) if listed else set()
        if remaining:
            time.sleep(0.5)  # poll interval of a deadline-bound wait
    listed = _ok(*ctr, "containers", "ls", "-q")
    for container in listed.stdout.split() if listed else []:
        _ok(*ctr, "containers", "rm", container)
    return ids


def down(workdir: str | None) -> int:
    layout = Layout(Path(workdir) if workdir else DEFAULT_WORKDIR)
    work, sock = layout.work, str(layout.socket)
    stopped = []
    if (took := clusterproc.stop(work, "kubelet")) is not None:
        stopped.append(f"kubelet {took:.1f}s")
    if clusterproc.alive(clusterproc.read_pids(work).get("containerd", [0, ""])):
        t0 = time.monotonic()
        tasks = _containers_gone(sock)
        print(f"  containers killed and removed: {len(tasks)} in {time.monotonic() - t0:.1f}s")
    for name in [n for n in reversed(ORDER) if n != "kubelet"]:
        if (took := clusterproc.stop(work, name)) is not None:
            stopped.append(f"{name} {took:.1f}s")
    # the shims outlive containerd; each names our socket on its command line
    for pid, _cmd in clusterproc.processes_mentioning(f"-address {sock}"):
        os.kill(pid, signal.SIGKILL)
        stopped.append(f"shim {pid}")
    unmounted = clusterproc.unmount_all([work, layout.run])
    netns = clusterproc.undo_netns(work)
    if Path(f"/sys/class/net/{clusterconfig.BRIDGE}").exists():
        subprocess.run(["ip", "link", "delete", clusterconfig.BRIDGE], check=False)
    cgroups = 0
    for cg in clusterproc.kubepods_cgroups():
        try:
            cg.rmdir()
            cgroups += 1
        except OSError as err:
            print(f"  cgroup {cg} left: {err}", file=sys.stderr)
    restored = clusterproc.restore_sysctls(work)
    chains = clusteriptables.undo(work)
    print(
        f"stopped: {', '.join(stopped) or 'nothing'}; "
        f"unmounted {len(unmounted)}, {len(netns)} netns; "
        f"removed {cgroups} cgroups, {len(chains)} iptables chains; "
        f"sysctls restored: {restored or 'none saved'}"
    )
    left = clusterproc.processes_mentioning(str(work)) + clusterproc.processes_mentioning(sock)
    left_mounts = clusterproc.mounts_under(
        [work, layout.run], Path("/proc/self/mountinfo").read_text()
    )
    for pid, cmd in left:
        print(f"  left running: {pid} {cmd[:120]}", file=sys.stderr)
    for point in left_mounts:
        print(f"  left mounted: {point}", file=sys.stderr)
    if not left and not left_mounts:
        shutil.rmtree(layout.run, ignore_errors=True)  # sockets and task state only
    return 1 if left or left_mounts else 0
