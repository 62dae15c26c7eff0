"""daprshop on a real single-node Kubernetes (`make test-k8s`, root): the cluster built here
from Go modules and Debian packages, CoreDNS, Dapr's control plane from its Helm chart,
`kubectl apply -k deploy/k8s/overlays/local`; then, through port-forwards, the business
scenarios in each mode, mTLS and the access policies, a pod deleted under load, `daprshop
verify`; and a tear-down that leaves no process, mount, cgroup or iptables chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daprshop import clusterproc
from daprshop.clusterstack import KubeStack
from daprshop.k8sdeploy import DAPR_NAMESPACE, NAMESPACE
from daprshop.k8ssecrets import from_secrets
from daprshop.topology import APP_IDS
from daprshop.verify import verify
from tests.e2e import test_saga_outcomes as outcomes
from tests.shop import TERMINAL, Shop

pytestmark = pytest.mark.k8s
MODES = ["choreography", "orchestration", "hybrid"]
SKU = outcomes.SKU
# the `app` label of each control-plane workload's pods (the scheduler runs three)
CONTROL_PLANE = (
    "dapr-operator",
    "dapr-sidecar-injector",
    "dapr-sentry",
    "dapr-placement-server",
    "dapr-scheduler-server",
)


def _sysctls() -> dict[str, str | None]:
    """Every sysctl `cluster up` sets or its parts may change, as it is now."""
    found: dict[str, str | None] = {}
    for key in [*clusterproc.SYSCTLS, *clusterproc.WATCHED]:
        path = Path("/proc/sys") / key.replace(".", "/")
        found[key] = path.read_text().strip() if path.is_file() else None
    return found


def _chains() -> set[str]:
    out = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0][1:] for line in out.splitlines() if line.startswith(":")}


@pytest.fixture(scope="module")
def cluster(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KubeStack]:
    """The whole thing up; afterwards, however the tests ended, `cluster down`, and then no
    process, mount, kubepods cgroup or iptables chain of it may be left, sysctls as before."""
    if os.geteuid() != 0:
        pytest.fail("make test-k8s needs root (containerd, the kubelet, sysctls)")
    chains = _chains()
    sysctls = _sysctls()
    stack = KubeStack(tmp_path_factory.mktemp("k8s"))
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    try:
        with capture.global_and_fixture_disabled():  # builds and waits: show their progress
            stack.up()
            print(f"k8s stack up: {json.dumps({k: round(v) for k, v in stack.timings.items()})}")
        yield stack
    finally:
        with capture.global_and_fixture_disabled():
            rc = stack.down()
        assert rc == 0, "cluster down left something behind (its output names it)"
        assert _chains() - chains == set(), "iptables chains left"
        assert clusterproc.kubepods_cgroups() == [], "kubepods cgroups left"
        assert _sysctls() == sysctls, "sysctls not restored"


@pytest.fixture(scope="module")
def creds(cluster: KubeStack) -> Any:
    return from_secrets(
        json.loads(cluster.kubectl("-n", NAMESPACE, "get", "secrets", "-o", "json"))["items"]
    )


@pytest.fixture(scope="module")
def shop(cluster: KubeStack, creds: Any) -> Shop:
    return Shop(cluster.urls, creds)


@pytest.fixture
def sku(shop: Shop) -> str:
    shop.set_stock({SKU: 100})
    return SKU


def _pods(cluster: KubeStack, namespace: str) -> list[dict[str, Any]]:
    return list(json.loads(cluster.kubectl("-n", namespace, "get", "pods", "-o", "json"))["items"])


def _app_of(pod: dict[str, Any]) -> str:
    return str(pod["metadata"].get("labels", {}).get("app.kubernetes.io/name", ""))


def test_every_app_pod_is_2_of_2_its_app_and_an_injected_daprd(cluster: KubeStack) -> None:
    seen = {}
    for pod in _pods(cluster, NAMESPACE):
        if (app := _app_of(pod)) in APP_IDS:
            statuses = {s["name"]: s["ready"] for s in pod["status"].get("containerStatuses", [])}
            seen[app] = statuses
    assert set(seen) == set(APP_IDS), f"apps without a pod: {set(APP_IDS) - set(seen)}"
    expected = {app: {app: True, "daprd": True} for app in APP_IDS}
    assert seen == expected, "each app's pod must run its app and the injected daprd, both ready"


def test_the_dapr_control_plane_runs_from_the_chart_with_mtls_on(cluster: KubeStack) -> None:
    ready: dict[str, list[bool]] = {}
    for pod in _pods(cluster, DAPR_NAMESPACE):
        statuses = pod["status"].get("containerStatuses", [])
        app = pod["metadata"]["labels"].get("app", pod["metadata"]["name"])
        ready.setdefault(app, []).append(bool(statuses) and all(s["ready"] for s in statuses))
    assert {name: ready.get(name) for name in CONTROL_PLANE} == {
        **{name: [True] for name in CONTROL_PLANE},
        "dapr-scheduler-server": [True, True, True],  # the chart's three, one etcd cluster
    }
    config = json.loads(
        cluster.kubectl(
            "-n", DAPR_NAMESPACE, "get", "configurations.dapr.io", "daprsystem", "-o", "json"
        )
    )
    assert config["spec"]["mtls"]["enabled"] is True


def _exec_python(cluster: KubeStack, app: str, code: str) -> str:
    """Run `code` with the Python of `app`'s container (inside its pod, beside its daprd)."""
    out = subprocess.run(
        [
            str(cluster.kube.bins / "kubectl"),
            "-n",
            NAMESPACE,
            "exec",
            f"deploy/{app}",
            "-c",
            app,
            "--",
            "python",
            "-c",
            code,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=cluster.kube.env(),
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


INVOKE = """
import os, urllib.request, urllib.error
req = urllib.request.Request("http://127.0.0.1:3500/v1.0/invoke/{target}/method/{path}",
    method="{verb}", data={data}, headers={{"dapr-api-token": os.environ["DAPR_API_TOKEN"],
    "Content-Type": "application/json"}})
try:
    print(urllib.request.urlopen(req, timeout=20).status)
except urllib.error.HTTPError as e:
    print(e.code)
"""


def _invoke(cluster: KubeStack, caller: str, target: str, verb: str, path: str) -> int:
    data = 'b"{}"' if verb == "POST" else "None"
    code = INVOKE.format(target=target, path=path, verb=verb, data=data)
    return int(_exec_python(cluster, caller, code))


def test_dns_names_the_services_inside_the_cluster(cluster: KubeStack) -> None:
    code = "import socket; print(socket.gethostbyname('payments.daprshop.svc.cluster.local'))"
    address = _exec_python(cluster, "inventory", code)
    service = json.loads(cluster.kubectl("-n", NAMESPACE, "get", "svc", "payments", "-o", "json"))
    assert address == service["spec"]["clusterIP"]


def test_the_access_policy_admits_orders_and_refuses_another_app_by_its_spiffe_id(
    cluster: KubeStack,
) -> None:
    """payments' Configuration allows only orders (its SPIFFE ID, from Sentry's certificate
    over mTLS) to call ChargePayment; inventory's sidecar gets 403 for the same call."""
    assert _invoke(cluster, "orders", "payments", "GET", "healthz") == 200
    assert _invoke(cluster, "inventory", "payments", "POST", "commands/ChargePayment") == 403
    assert _invoke(cluster, "inventory", "payments", "GET", "healthz") == 403


PLAINTEXT = """
import socket, ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
try:
    with socket.create_connection(("{ip}", 50002), 5) as raw, ctx.wrap_socket(raw) as tls:
        tls.sendall(b"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n")
        print("answered" if tls.recv(64) else "closed")
except (ssl.SSLError, OSError) as err:
    print("refused", type(err).__name__, err)
"""


def test_a_sidecar_refuses_a_caller_without_a_sentry_certificate(cluster: KubeStack) -> None:
    """mTLS: payments' sidecar-to-sidecar port (50002) refuses a TLS client with no
    certificate from Sentry, here inventory's app container, which has none."""
    pod = next(p for p in _pods(cluster, NAMESPACE) if _app_of(p) == "payments")
    said = _exec_python(cluster, "inventory", PLAINTEXT.format(ip=pod["status"]["podIP"]))
    assert said.split()[0] in ("refused", "closed"), said


# The business scenarios of tests/e2e/test_saga_outcomes.py, each mode, on the cluster
# (this module's `shop` and `sku` fixtures): the same assertions, no copy.
test_happy_path_completes = outcomes.test_happy_path_completes_with_reserve_charge_schedule_in_order
test_out_of_stock_cancels = outcomes.test_out_of_stock_cancels_without_charge_or_shipment
test_over_the_credit_limit_declines = (
    outcomes.test_over_the_credit_limit_declines_and_gives_the_stock_back
)
test_unshippable_refunds = (
    outcomes.test_unshippable_destination_refunds_the_charge_and_restores_stock
)


def test_daprshop_verify_passes(cluster: KubeStack, shop: Shop) -> None:
    urls = [f"--{app}-url={url}" for app, url in cluster.urls.items()]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "daprshop.cli",
            "verify",
            "--deadline",
            "120",
            *urls,
            "--kubernetes",
            NAMESPACE,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=cluster.kube.env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all invariants hold" in result.stdout


def _await_replacement(cluster: KubeStack, app: str, old: str, deadline_s: float) -> dict[str, Any]:
    """The pod that replaces `old`, once all its containers are ready."""
    until = time.monotonic() + deadline_s
    while time.monotonic() < until:
        for pod in _pods(cluster, NAMESPACE):
            statuses = pod["status"].get("containerStatuses", [])
            if (
                _app_of(pod) == app
                and pod["metadata"]["name"] != old
                and statuses
                and all(s["ready"] for s in statuses)
            ):
                return pod
        time.sleep(1)  # poll interval of a deadline-bound wait
    raise AssertionError(f"no ready pod replaced {old} in {deadline_s:.0f}s")


def test_a_pod_deleted_mid_load_recovers_and_every_order_ends_consistent(
    cluster: KubeStack, shop: Shop, sku: str, creds: Any
) -> None:
    """Orders in every mode at ~3/s; payments' pod deleted once 10 are placed; its Deployment
    brings a new pod (2/2 again), the load goes on 10 s beside it; no order is refused, every
    one ends, and verify finds stock, money and shipments conserved."""
    placed: list[str] = []
    refused: list[Any] = []
    stop = threading.Event()

    def load() -> None:
        i = 0
        while not stop.is_set():
            status, body, _ = shop.place([(sku, 1)], mode=MODES[i % 3])
            (placed.append(body["order_id"]) if status == 202 else refused.append((status, body)))
            i += 1
            stop.wait(0.3)  # ~3 orders/s

    worker = threading.Thread(target=load)
    worker.start()
    try:
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and len(placed) < 10:
            time.sleep(0.2)  # poll interval of a deadline-bound wait
        old = next(p for p in _pods(cluster, NAMESPACE) if _app_of(p) == "payments")
        cluster.kubectl("-n", NAMESPACE, "delete", "pod", old["metadata"]["name"], "--wait=false")
        new = _await_replacement(cluster, "payments", old["metadata"]["name"], 300)
        cluster.reforward("payments")  # its port-forward held the deleted pod
        stop.wait(10)  # load goes on for 10 s beside the new pod
    finally:
        stop.set()
        worker.join(60)
    assert refused == [], "orders refused an order while payments was replaced"
    assert len(placed) >= 20
    assert {s["name"] for s in new["status"]["containerStatuses"]} == {"payments", "daprd"}
    ended = [shop.terminal(oid, timeout=180) for oid in placed]
    assert {o["status"] for o in ended} <= set(TERMINAL)
    report = verify(cluster.urls, 180, creds.operator_auth())
    assert report.violations == [], report.text()
