"""daprshop onto the single-node cluster, the way README "Kubernetes" tells a user: images
into containerd, Dapr's Helm chart (image overrides only), the Secrets (make-secrets.sh),
`kubectl apply -k` of the local overlay, then every Deployment Available, every pod 2/2.

No registry is reachable here, so each image is built on this machine and imported into
the cluster's containerd; a third-party one (Redis) is a local stand-in, swapped in by a
kustomization that adds only an `images:` override to deploy/k8s/overlays/local.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from daprshop.runtime import REPO

OVERLAY = REPO / "deploy" / "k8s" / "overlays" / "local"
MAKE_SECRETS = REPO / "deploy" / "k8s" / "make-secrets.sh"
NAMESPACE = "daprshop"
DAPR_NAMESPACE = "dapr-system"


class DeployError(RuntimeError):
    """A step failed; the message says which and what the cluster showed."""


@dataclass(frozen=True)
class Kube:
    """kubectl (and helm) against one cluster: its binary directory and admin kubeconfig."""

    bins: Path
    kubeconfig: Path

    def env(self, extra: Path | None = None) -> dict[str, str]:
        path = os.pathsep.join(str(p) for p in (self.bins, extra) if p is not None)
        return {
            **os.environ,
            "PATH": f"{path}{os.pathsep}{os.environ['PATH']}",
            "KUBECONFIG": str(self.kubeconfig),
        }

    def run(
        self, *args: str, stdin: str | None = None, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bins / "kubectl"), *args]
        done = subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, timeout=timeout, env=self.env()
        )
        if check and done.returncode != 0:
            raise DeployError(f"`kubectl {' '.join(args)}` failed: {done.stderr.strip()}")
        return done

    def json(self, *args: str) -> dict[str, object]:
        return dict(json.loads(self.run(*args, "-o", "json").stdout))


def local_kustomization(images: Mapping[str, str], at: Path) -> str:
    """The local overlay as it is, plus `images:` naming the local stand-ins (JSON is YAML);
    written in directory `at` (kustomize takes a base only by a relative path)."""
    doc = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(OVERLAY, at)],
        "images": [
            {"name": name, "newName": new.rsplit(":", 1)[0], "newTag": new.rsplit(":", 1)[1]}
            for name, new in sorted(images.items())
        ],
    }
    return json.dumps(doc, indent=1) + "\n"


def write_kustomization(workdir: Path, images: Mapping[str, str]) -> Path:
    out = workdir / "overlay"
    out.mkdir(parents=True, exist_ok=True)
    (out / "kustomization.yaml").write_text(local_kustomization(images, out))
    return out


def rendered_images(manifest: str) -> set[str]:
    """Every container image of the rendered overlay's workloads (`kubectl kustomize`)."""
    found = set()
    for doc in json.loads(manifest)["items"]:
        spec = doc.get("spec", {}).get("template", {}).get("spec", {})
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            found.add(c["image"])
    return found


def pod_readiness(pods: dict[str, object]) -> dict[str, str]:
    """`ready/total` containers of each pod, and the containers' names: `2/2 orders,daprd`."""
    out = {}
    for pod in pods["items"]:  # type: ignore[attr-defined]
        statuses = pod.get("status", {}).get("containerStatuses", [])
        ready = sum(1 for s in statuses if s.get("ready"))
        names = ",".join(c["name"] for c in pod["spec"]["containers"])
        out[pod["metadata"]["name"]] = f"{ready}/{len(pod['spec']['containers'])} {names}"
    return out


def await_pods(kube: Kube, namespace: str, deadline_s: float) -> float:
    """Until every Deployment in `namespace` is Available and every container of its pods is
    ready: the seconds taken. (Whether each app's pod has its daprd is the caller's check.)"""
    started = time.monotonic()
    last: dict[str, str] = {}
    while time.monotonic() - started < deadline_s:
        deployments = kube.json("-n", namespace, "get", "deployments")
        last = pod_readiness(kube.json("-n", namespace, "get", "pods"))
        available = bool(deployments["items"]) and all(
            any(
                c["type"] == "Available" and c["status"] == "True"
                for c in d.get("status", {}).get("conditions", [])
            )
            for d in deployments["items"]  # type: ignore[attr-defined]
        )
        if available and last and all(_all_ready(v) for v in last.values()):
            return time.monotonic() - started
        time.sleep(2)  # poll interval of a deadline-bound wait
    raise DeployError(f"pods in {namespace} not all ready in {deadline_s:.0f}s: {last}")


def _all_ready(readiness: str) -> bool:
    ready, total = readiness.split()[0].split("/")
    return ready == total
