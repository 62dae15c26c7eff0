"""The cluster's processes, mounts, cgroups and sysctls, as `cluster up` leaves them and
`cluster down` takes them away. A process is named by its pid and start time in the
workdir's pids.json, so a pid reused since by something else is never signalled.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

# what the kubelet wants (it would set them itself); restored by `cluster down`
# the processes this one started, until stopped: a Popen dropped while its process runs
# warns, and only its parent can reap it
_STARTED: dict[int, subprocess.Popen[bytes]] = {}
SYSCTLS = {"vm.overcommit_memory": "1", "kernel.panic": "10", "kernel.panic_on_oops": "1"}
# what the kubelet, kube-proxy or the bridge plugin may change on their own: saved too
WATCHED = (
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.route_localnet",
    "net.bridge.bridge-nf-call-iptables",
    "net.netfilter.nf_conntrack_max",
)


def start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, after the (comm)


def alive(entry: list[int | str]) -> bool:
    pid, started = int(entry[0]), str(entry[1])
    return start_time(pid) == started


def read_pids(work: Path) -> dict[str, list[int | str]]:
    path = work / "pids.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def spawn(work: Path, name: str, cmd: list[str]) -> int:
    """Start `cmd` in its own session, logging to logs/<name>.log; record it in pids.json."""
    log = work / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=work,
        )
    _STARTED[proc.pid] = proc
    pids = read_pids(work)
    pids[name] = [proc.pid, start_time(proc.pid) or "?"]
    (work / "pids.json").write_text(json.dumps(pids, indent=1) + "\n")
    return proc.pid


def await_(
    what: str, check: Callable[[], bool], deadline_s: float, fail: Callable[[], str]
) -> float:
    """Poll `check` until true; raise with `fail()` (a log tail) when the deadline passes."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > deadline_s:
            raise RuntimeError(f"{what}: not within {deadline_s:.0f}s\n{fail()}")
        time.sleep(0.5)  # poll interval of a deadline-bound wait
    return time.monotonic() - started


def stop(work: Path, name: str, deadline_s: float = 30.0) -> float | None:
    """SIGTERM the recorded process `name` (SIGKILL after the deadline) and forget it;
    return how long it took to end, None if it was not running."""
    pids = read_pids(work)
    if (entry := pids.pop(name, None)) is None:
        return None  # never started (or `up` never ran here: no workdir to write in)
    (work / "pids.json").write_text(json.dumps(pids, indent=1) + "\n")
    if not alive(entry):
        return None
    pid, started = int(entry[0]), time.monotonic()
    os.kill(pid, signal.SIGTERM)
    until = started + deadline_s
    while alive(entry) and time.monotonic() < until:
        if (child := _STARTED.get(pid)) is not None and child.poll() is not None:
            break  # ours, and reaped: a zombie would look alive
        time.sleep(0.2)  # poll interval of a deadline-bound wait
    if alive(entry) and (pid not in _STARTED or _STARTED[pid].poll() is None):
        os.kill(pid, signal.SIGKILL)
    if (child := _STARTED.pop(pid, None)) is not None:
        child.wait()
    return time.monotonic() - started


def processes_mentioning(needle: str) -> list[tuple[int, str]]:
    """(pid, command line) of every process whose command line contains `needle`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmdline:
            found.append((int(entry.name), cmdline.strip()))
    return found


def mounts_under(roots: list[Path], mountinfo: str) -> list[str]:
    """Mount points at or under any of `roots`, deepest first (the order to unmount)."""
    points = []
    for line in mountinfo.splitlines():
        point = line.split()[4].replace("\\040", " ")
        if any(point == str(r) or point.startswith(f"{r}/") for r in roots):
            points.append(point)
    return sorted(set(points), key=lambda p: (-p.count("/"), p))


def unmount_all(roots: list[Path]) -> list[str]:
    done = []
    for point in mounts_under(roots, Path("/proc/self/mountinfo").read_text()):
        if subprocess.run(["umount", point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True)
        done.append(point)
    return done


NETNS = Path("/run/netns")  # where containerd's CRI pins each pod's network namespace


def record_netns(work: Path) -> None:
    """Remember the network namespaces that exist now (an earlier record is kept)."""
    path = work / "netns-before.json"
    if not path.is_file():
        names = sorted(p.name for p in NETNS.iterdir()) if NETNS.is_dir() else None
        path.write_text(json.dumps(names) + "\n")  # null: containerd makes the directory


def undo_netns(work: Path) -> list[str]:
    """Unpin the pods' network namespaces made since `record_netns` (their veths go too)."""
    path = work / "netns-before.json"
    if not path.is_file():
        return []
    names = json.loads(path.read_text())
    before = set(names or [])
    gone = [p for p in (NETNS.iterdir() if NETNS.is_dir() else []) if p.name not in before]
    for ns in gone:
        subprocess.run(["umount", str(ns)], capture_output=True)
        ns.unlink(missing_ok=True)
    if names is None and NETNS.is_dir() and not any(NETNS.iterdir()):
        NETNS.rmdir()
    path.unlink()
    return [ns.name for ns in gone]


def kubepods_cgroups(root: Path = Path("/sys/fs/cgroup")) -> list[Path]:
    """The kubelet's cgroups (kubepods and below, in every v1 hierarchy), deepest first."""
    found = [d for top in root.glob("*/kubepods") for d in [top, *top.rglob("*")] if d.is_dir()]
    return sorted(found, key=lambda p: -len(p.parts))


def set_sysctls(work: Path) -> dict[str, str]:
    """Set SYSCTLS, keeping the values found first (an earlier `up`'s save wins)."""
    saved_file = work / "sysctls.json"
    saved = json.loads(saved_file.read_text()) if saved_file.is_file() else {}
    for key in [*SYSCTLS, *WATCHED]:
        path = Path("/proc/sys") / key.replace(".", "/")
        if path.is_file():
            saved.setdefault(key, path.read_text().strip())
    for key, value in SYSCTLS.items():
        (Path("/proc/sys") / key.replace(".", "/")).write_text(value)
    saved_file.write_text(json.dumps(saved, indent=1) + "\n")
    return saved


def restore_sysctls(work: Path) -> dict[str, str]:
    saved_file = work / "sysctls.json"
    if not saved_file.is_file():
        return {}
    saved: dict[str, str] = json.loads(saved_file.read_text())
    for key, value in saved.items():
        (Path("/proc/sys") / key.replace(".", "/")).write_text(value)
    saved_file.unlink()
    return saved
