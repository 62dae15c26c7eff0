"""daprshop on the single-node cluster, end to end: `cluster up`, the images, CoreDNS, the
Dapr control plane from its Helm chart, the Secrets, the local overlay, port-forwards to
the four apps; and everything stopped again. The k8s e2e tests (make test-k8s) use it;
each step prints what it does and how long it took."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daprshop import clusterbuild, clusterparts, clusterpin, clusterup, k8sdeploy, runtime
from daprshop.clusterconfig import Layout
from daprshop.k8sdeploy import DAPR_NAMESPACE, NAMESPACE, DeployError, Kube
from daprshop.topology import APP_IDS, Topology, free_ports

COREDNS = runtime.REPO / "tools" / "k8s" / "addons" / "coredns.yaml"
# Dapr's scheduler is a StatefulSet of 3, each claiming 16Gi ReadWriteOnce (its chart's
# defaults); this cluster has no provisioner, so it gets hostPath volumes, as kind's
# local-path provisioner would give it.
SCHEDULER_VOLUMES, VOLUME_SIZE = 3, "16Gi"
APPS_DEADLINE_S = 420.0  # cold: every image's first start, on 2 cores beside the control plane


def step(what: str) -> float:
    print(f"==> {what}", flush=True)
    return time.monotonic()


def done(what: str, started: float) -> None:
    print(f"  {what} in {time.monotonic() - started:.1f}s", flush=True)


def helm_command(helm: Path, chart: Path, overrides: list[str]) -> list[str]:
    """README's `helm upgrade --install` with the chart from the module instead of the
    repository, plus only the image overrides (`--set=...` arguments)."""
    cmd = [str(helm), "upgrade", "--install", "dapr", str(chart), "--namespace", DAPR_NAMESPACE]
    return [*cmd, "--create-namespace", "--wait", "--timeout", "10m", *overrides]


@dataclass
class KubeStack:
    workdir: Path
    layout: Layout = field(init=False)
    kube: Kube = field(init=False)
    forwards: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.layout = Layout(self.workdir / "cluster")
        bins = clusterbuild.bin_dir(clusterpin.pinned_version())
        self.kube = Kube(bins, self.layout.kubeconfig("admin"))

    def kubectl(self, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
        return self.kube.run(*args, stdin=stdin, timeout=timeout).stdout

    def up(self) -> None:
        t = step("the cluster's parts: Kubernetes, helm, CoreDNS, the Dapr control plane")
        clusterbuild.ensure_binaries()
        helm = clusterparts.ensure_helm()
        coredns_archive, coredns_ref = clusterparts.ensure_coredns()
        dapr = clusterparts.ensure_dapr_images()
        self.timings["parts"] = time.monotonic() - t
        t = step("the project's images (docker compose build; Redis' stand-in)")
        project = self._project_images()
        self.timings["images"] = time.monotonic() - t
        t = step(f"daprshop cluster up --workdir {self.layout.work}")
        if clusterup.up(str(self.layout.work)) != 0:
            raise DeployError(f"cluster up failed: see {self.layout.logs}")
        self.timings["cluster"] = time.monotonic() - t
        t = step("images into the cluster's containerd (ctr -n k8s.io images import)")
        for archive in [coredns_archive, *dapr.archives, project]:
            print(f"  {clusterup.import_image(self.layout.socket, archive, 600)}", flush=True)
        done("imported", t)
        t = step("CoreDNS (kube-system/coredns, Service kube-dns)")
        self.kubectl("apply", "-f", "-", stdin=COREDNS.read_text().replace("IMAGE", coredns_ref))
        self.kubectl("-n", "kube-system", "rollout", "status", "deploy/coredns", timeout=300)
        done("CoreDNS ready", t)
        self.kubectl("apply", "-f", "-", stdin=json.dumps(self._volumes()))
        t = step("the Dapr control plane: helm upgrade --install dapr (chart of the dapr module)")
        cmd = helm_command(helm, dapr.chart, dapr.helm_overrides)
        print("  " + " ".join(cmd[1:]), flush=True)
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=self.kube.env())
        if run.returncode != 0:
            pods = self.kubectl("-n", DAPR_NAMESPACE, "get", "pods", "-o", "wide")
            raise DeployError(f"helm install failed: {run.stderr.strip()}\n{pods}")
        self.timings["dapr"] = time.monotonic() - t
        done("Dapr control plane ready", t)
        step("the Secrets: sh deploy/k8s/make-secrets.sh")
        subprocess.run(
            ["sh", str(k8sdeploy.MAKE_SECRETS)],
            check=True,
            env=self.kube.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        t = step("kubectl apply -k deploy/k8s/overlays/local (+ images: the local stand-ins)")
        overlay = k8sdeploy.write_kustomization(self.workdir, self.stand_ins)
        self.kubectl("apply", "-k", str(overlay), timeout=180)
        took = k8sdeploy.await_pods(self.kube, NAMESPACE, APPS_DEADLINE_S)
        self.timings["apps"] = time.monotonic() - t
        done(f"every Deployment Available, every container ready ({took:.0f}s waiting)", t)
        self.forward_all()

    def _volumes(self) -> dict[str, object]:
        """hostPath PersistentVolumes (no class: they bind claims that name none), their
        directories under the workdir, writable by the non-root control plane."""
        items = []
        for i in range(SCHEDULER_VOLUMES):
            path = self.layout.work / "volumes" / f"pv{i}"
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o777)
            spec = {
                "capacity": {"storage": VOLUME_SIZE},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": "",
                "hostPath": {"path": str(path), "type": "Directory"},
            }
            items.append(
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolume",
                    "metadata": {"name": f"daprshop-pv{i}"},
                    "spec": spec,
                }
            )
        return {"apiVersion": "v1", "kind": "List", "items": items}

    @property
    def stand_ins(self) -> dict[str, str]:
        from daprshop import standins

        return {"redis": standins.REDIS}

    def _project_images(self) -> Path:
        """Build the overlay's images with compose (the compose issue's Dockerfiles and
        stand-in bases), save them with Redis' stand-in into one archive for containerd."""
        from daprshop import engine, standins
        from daprshop.dockerd import stop_dockerd

        started = engine.ensure_engine()
        try:
            return self._build_and_save(standins.ensure_standins())
        finally:
            if started.started_pid is not None:  # started for this: stop it again
                stop_dockerd()

    def _build_and_save(self, built: dict[str, Any]) -> Path:
        from daprshop.composestack import ComposeStack

        images = {var: s.image for var, s in built.items()}
        stack = ComposeStack.create(self.workdir / "compose", images)
        stack.compose("build", *APP_IDS, timeout=1800)
        rendered = self.kubectl("kustomize", str(k8sdeploy.OVERLAY))
        wanted = sorted(self._substituted(k8sdeploy.rendered_images(_as_list(rendered))))
        archive = self.workdir / "images.tar"
        subprocess.run(["docker", "save", "-o", str(archive), *wanted], check=True, timeout=900)
        print(f"  saved {', '.join(wanted)}", flush=True)
        return archive

    def _substituted(self, images: set[str]) -> set[str]:
        return {self.stand_ins.get(i.split(":")[0], i) for i in images}

    def forward_all(self) -> None:
        """One `kubectl port-forward svc/<app>` per app, on free loopback ports."""
        topo = Topology.defaults()
        for app, port in zip(APP_IDS, free_ports(len(APP_IDS)), strict=True):
            self.forward(app, port, topo.apps[app].app)

    def forward(self, app: str, local: int, remote: int) -> None:
        old = self.forwards.pop(app, None)
        if old is not None:
            _stop(old)
        cmd = [
            str(self.kube.bins / "kubectl"),
            "-n",
            NAMESPACE,
            "port-forward",
            "--address",
            "127.0.0.1",
            f"svc/{app}",
            f"{local}:{remote}",
        ]
        with (self.workdir / f"port-forward-{app}.log").open("ab") as log:
            proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.kube.env(),
                start_new_session=True,
            )
        self.forwards[app] = proc
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", local), 1):
                self.urls[app] = f"http://127.0.0.1:{local}"
                return
            if proc.poll() is not None:
                break
            time.sleep(0.2)  # poll interval of a deadline-bound wait
        raise DeployError(f"port-forward to svc/{app} did not open 127.0.0.1:{local}")

    def reforward(self, app: str) -> None:
        """A new port-forward on the same local port: `port-forward svc/x` holds one pod and
        ends when that pod goes."""
        local = int(self.urls[app].rsplit(":", 1)[1])
        self.forward(app, local, Topology.defaults().apps[app].app)

    def down(self) -> int:
        for proc in self.forwards.values():
            _stop(proc)
        self.forwards.clear()
        return clusterup.down(str(self.layout.work))


def _as_list(rendered: str) -> str:
    """`kubectl kustomize`'s YAML documents as a JSON list, as rendered_images reads them."""
    import yaml

    docs = [d for d in yaml.safe_load_all(rendered) if d]
    return json.dumps({"items": docs})


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
