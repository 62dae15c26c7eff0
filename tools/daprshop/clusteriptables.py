"""iptables chains the cluster makes (the kubelet's KUBE-FIREWALL, KUBE-KUBELET-CANARY,
KUBE-IPTABLES-HINT; later kube-proxy's KUBE-* and the CNI plugins' CNI-*), undone by
`cluster down`: `up` records which chains existed before it, `down` removes the ones with
those prefixes that did not, and every rule that jumps to them, in both families.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

FAMILIES = ("iptables", "ip6tables")
PREFIXES = ("KUBE-", "CNI-")


def chains(save: str) -> set[tuple[str, str]]:
    """(table, chain) of every chain in an iptables-save output."""
    found, table = set(), ""
    for line in save.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith(":"):
            found.add((table, line[1:].split()[0]))
    return found


def ours(before: set[tuple[str, str]], save: str) -> set[tuple[str, str]]:
    return {(t, c) for t, c in chains(save) - before if c.startswith(PREFIXES)}


def undo_commands(family: str, save: str, remove: set[tuple[str, str]]) -> list[list[str]]:
    """The commands that delete every rule jumping to `remove`'s chains (in chains that
    stay), then flush and delete those chains."""
    cmds, table = [], ""
    for line in save.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith("-A "):
            words = shlex.split(line)
            target = words[words.index("-j") + 1] if "-j" in words else None
            if (table, words[1]) not in remove and (table, target) in remove:
                cmds.append([family, "-w", "-t", table, "-D", *words[1:]])
    for t, c in sorted(remove):
        cmds.append([family, "-w", "-t", t, "-F", c])
    for t, c in sorted(remove):
        cmds.append([family, "-w", "-t", t, "-X", c])
    return cmds


def _save(family: str) -> str:
    out = subprocess.run([f"{family}-save"], capture_output=True, text=True)
    return out.stdout if out.returncode == 0 else ""


def record(work: Path) -> None:
    """Remember the chains that exist now (kept from an earlier `up` not yet undone)."""
    path = work / "iptables-before.json"
    if not path.is_file():
        snapshot = {f: sorted(map(list, chains(_save(f)))) for f in FAMILIES}
        path.write_text(json.dumps(snapshot) + "\n")


def undo(work: Path) -> list[str]:
    """Remove the chains made since `record`; return them as `family table chain`."""
    path = work / "iptables-before.json"
    if not path.is_file():
        return []
    before = json.loads(path.read_text())
    removed = []
    for family in FAMILIES:
        save = _save(family)
        remove = ours({(t, c) for t, c in before.get(family, [])}, save)
        for cmd in undo_commands(family, save, remove):
            subprocess.run(cmd, capture_output=True)
        removed += [f"{family} {t} {c}" for t, c in sorted(remove)]
    path.unlink()
    return removed
