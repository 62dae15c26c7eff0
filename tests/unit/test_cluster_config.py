"""What `cluster up` writes: containerd's and the kubelet's settings for this machine kind
(issue #17's obstacles), kubeconfigs, certificates; and how `down` finds what to undo."""

import ipaddress
import json
import tomllib
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from daprshop import clusterconfig, clusterpki, clusterproc, clusterup

LAYOUT = clusterconfig.Layout(Path("/w"), Path("/run/x"))
REF = "daprshop.local/k8s/pause:3.10.2"


def test_containerd_uses_the_local_pause_image_runc_v2_cgroupfs_and_no_oom_score_raise() -> None:
    doc = tomllib.loads(clusterconfig.containerd_toml(LAYOUT, REF))
    cri = doc["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == REF
    assert cri["restrict_oom_score_adj"] is True  # no CAP_SYS_RESOURCE here
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["SystemdCgroup"] is False  # no systemd here
    assert doc["grpc"]["address"] == "/run/x/containerd.sock"
    assert (doc["root"], doc["state"]) == ("/w/containerd", "/run/x/containerd")


def test_the_kubelet_runs_on_cgroup_v1_with_cgroupfs_against_our_containerd() -> None:
    conf = json.loads(clusterconfig.kubelet_config(LAYOUT, "192.0.2.2"))
    assert conf["failCgroupV1"] is False and conf["cgroupDriver"] == "cgroupfs"
    assert conf["containerRuntimeEndpoint"] == "unix:///run/x/containerd.sock"
    assert conf["authentication"]["anonymous"]["enabled"] is False
    assert conf["authorization"]["mode"] == "Webhook"


def test_a_kubeconfig_names_its_components_certificate() -> None:
    conf = json.loads(clusterconfig.kubeconfig(LAYOUT, "scheduler", "https://127.0.0.1:6443"))
    (user,) = conf["users"]
    assert user["user"] == {"client-certificate": "/w/pki/scheduler.crt",
                            "client-key": "/w/pki/scheduler.key"}  # fmt: skip
    assert conf["clusters"][0]["cluster"]["certificate-authority"] == "/w/pki/ca.crt"


def test_etcd_listens_on_loopback_off_the_usual_port() -> None:
    cmd = clusterconfig.etcd_command(LAYOUT)
    assert "--listen-client-urls=http://127.0.0.1:12379" in cmd
    assert "--data-dir=/w/etcd" in cmd


def test_keys_are_private_and_certificates_carry_users_and_groups(tmp_path: Path) -> None:
    clusterpki.generate(tmp_path / "pki", "vm", "192.0.2.2")
    pki = tmp_path / "pki"
    assert pki.stat().st_mode & 0o777 == 0o700
    for key in pki.glob("*.key"):
        assert key.stat().st_mode & 0o777 == 0o600, key
    kubelet = x509.load_pem_x509_certificate((pki / "kubelet.crt").read_bytes())
    assert kubelet.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "system:node:vm"
    )
    assert kubelet.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "system:nodes"
    )
    server = x509.load_pem_x509_certificate((pki / "apiserver.crt").read_bytes())
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == {
        "127.0.0.1", "10.96.0.1", "192.0.2.2"
    }  # fmt: skip
    ca = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    assert server.issuer == ca.subject


def test_the_node_ip_is_the_routes_source_address() -> None:
    route = "1.1.1.1 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \n    cache \n"
    assert clusterup.node_ip(route) == "192.0.2.2"


def test_mounts_under_the_workdir_come_deepest_first() -> None:
    mountinfo = "\n".join(
        f"{i} 1 0:1 / {point} rw - tmpfs tmpfs rw"
        for i, point in enumerate(
            ["/", "/w/kubelet/pods/a/volumes/x", "/w", "/wx/other", "/run/x/containerd/t/rootfs"]
        )
    )
    assert clusterproc.mounts_under([Path("/w"), Path("/run/x")], mountinfo) == [
        "/w/kubelet/pods/a/volumes/x",
        "/run/x/containerd/t/rootfs",
        "/w",
    ]


def test_a_recorded_process_that_is_gone_or_was_replaced_is_not_alive(tmp_path: Path) -> None:
    pid = clusterproc.spawn(tmp_path, "sleeper", ["sleep", "30"])
    entry = clusterproc.read_pids(tmp_path)["sleeper"]
    assert entry[0] == pid and clusterproc.alive(entry)
    assert not clusterproc.alive([pid, "0"])  # same pid, another start time: someone else's
    assert clusterproc.stop(tmp_path, "sleeper") is not None
    assert clusterproc.stop(tmp_path, "sleeper") is None  # forgotten: not signalled twice
    assert "sleeper" not in clusterproc.read_pids(tmp_path)


def test_pods_get_addresses_from_a_bridge_inside_the_cluster_cidr() -> None:
    conf = json.loads(clusterconfig.cni_conflist(LAYOUT))
    bridge, portmap, firewall = conf["plugins"]
    assert bridge["type"] == "bridge" and bridge["bridge"] == clusterconfig.BRIDGE
    (subnet,) = (r["subnet"] for r in bridge["ipam"]["ranges"][0])
    assert ipaddress.ip_network(subnet).subnet_of(ipaddress.ip_network(clusterconfig.CLUSTER_CIDR))
    assert bridge["ipam"]["dataDir"] == "/run/x/cni-ipam"  # removed with the run directory
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}}
    # pod traffic is accepted in FORWARD even under dockerd's DROP policy
    assert firewall == {"type": "firewall", "backend": "iptables"}


def test_kube_proxy_uses_iptables_and_leaves_the_kernels_conntrack_and_localnet_alone() -> None:
    conf = json.loads(clusterconfig.kube_proxy_config(LAYOUT, "vm"))
    assert conf["mode"] == "iptables"
    assert conf["conntrack"] == {
        "maxPerCore": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"
    }  # fmt: skip
    assert conf["iptables"] == {"localhostNodePorts": False}
    assert conf["clientConnection"]["kubeconfig"] == "/w/kube-proxy.kubeconfig"


def test_the_apiserver_reaches_the_kubelet_by_its_internal_ip() -> None:
    """Here the node's name resolves to 127.0.0.1, where the kubelet does not listen and
    which the apiserver refuses to proxy to: `kubectl logs` failed until this flag."""
    cmd = clusterconfig.apiserver_command(LAYOUT, Path("/bin"), "192.0.2.2")
    assert "--kubelet-preferred-address-types=InternalIP,Hostname" in cmd


def test_down_stops_nothing_where_up_never_ran(tmp_path: Path) -> None:
    """A test whose cluster failed before `up` still tears down: no workdir, nothing to stop."""
    never = tmp_path / "never-up"
    assert clusterproc.stop(never, "kubelet") is None
    assert not never.exists()
