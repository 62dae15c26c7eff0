"""What `daprshop cluster up` writes and runs, as data: the workdir's layout, containerd's
and the kubelet's configuration, kubeconfigs, and each process's command line.

Machine-specific settings found on the 2026-11-24 trial (issue #17): cgroup v1 without
systemd (failCgroupV1: false, cgroupDriver: cgroupfs), no CAP_SYS_RESOURCE (containerd's
restrict_oom_score_adj), runc through io.containerd.runc.v2, images only from local
archives (sandbox_image is the pause image built here).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

SERVICE_CIDR = "10.96.0.0/12"
CLUSTER_CIDR = "10.244.0.0/16"
POD_SUBNET = "10.244.0.0/24"  # the one node's share of CLUSTER_CIDR (the first /24)
BRIDGE = "daprshop0"  # not the plugin's default cni0: `down` deletes it by this name
CNI_BIN = "/usr/lib/cni"  # Debian's containernetworking-plugins
CLUSTER_DNS = "10.96.0.10"
# etcd off its usual 2379: Dapr's scheduler embeds an etcd that may listen there
ETCD_CLIENT, ETCD_PEER = 12379, 12380
APISERVER = 6443


@dataclass(frozen=True)
class Layout:
    """Paths under the workdir; sockets and runtime state under /run (mounts live there)."""

    work: Path
    run: Path = Path("/run/daprshop-k8s")

    @property
    def pki(self) -> Path:
        return self.work / "pki"

    @property
    def logs(self) -> Path:
        return self.work / "logs"

    @property
    def socket(self) -> Path:
        return self.run / "containerd.sock"

    def kubeconfig(self, stem: str) -> Path:
        return self.work / f"{stem}.kubeconfig"


def kubeconfig(layout: Layout, stem: str, server: str) -> str:
    """A kubeconfig authenticating with pki/<stem>.crt (JSON is YAML)."""
    pki = layout.pki
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "daprshop",
                "cluster": {"server": server, "certificate-authority": f"{pki}/ca.crt"},
            }
        ],
        "users": [
            {
                "name": stem,
                "user": {
                    "client-certificate": f"{pki}/{stem}.crt",
                    "client-key": f"{pki}/{stem}.key",
                },
            }
        ],
        "contexts": [{"name": "daprshop", "context": {"cluster": "daprshop", "user": stem}}],
        "current-context": "daprshop",
    }
    return json.dumps(doc, indent=1) + "\n"


def containerd_toml(layout: Layout, pause_ref: str, cni_bin: str = CNI_BIN) -> str:
    r = layout.run
    cri = '[plugins."io.containerd.grpc.v1.cri"]'
    return f"""\
version = 2
root = "{layout.work}/containerd"
state = "{r}/containerd"
oom_score = 0

[grpc]
  address = "{layout.socket}"

[ttrpc]
  address = "{layout.socket}.ttrpc"

[debug]
  address = "{r}/containerd-debug.sock"

{cri}
  sandbox_image = "{pause_ref}"
  restrict_oom_score_adj = true
  enable_selinux = false

{cri[:-1]}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

{cri[:-1]}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

{cri[:-1]}.containerd.runtimes.runc.options]
  SystemdCgroup = false

{cri[:-1]}.cni]
  bin_dir = "{cni_bin}"
  conf_dir = "{layout.work}/cni/net.d"
"""


def cni_conflist(layout: Layout) -> str:
    """A bridge with host-local addresses, masquerading out, host ports (portmap), and the
    firewall plugin's FORWARD accept for pod addresses: bridged pod-to-pod traffic goes
    through iptables (br_netfilter) and a FORWARD policy of DROP, which dockerd sets and
    leaves after it stops, otherwise drops it (seen: every Service call from a pod hung)."""
    doc = {
        "cniVersion": "0.4.0",
        "name": "daprshop",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_SUBNET}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": f"{layout.run}/cni-ipam",
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
            {"type": "firewall", "backend": "iptables"},
        ],
    }
    return json.dumps(doc, indent=1) + "\n"


def kubelet_config(layout: Layout, node_ip: str) -> str:
    pki = layout.pki
    doc = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": f"{pki}/ca.crt"},
        },
        "authorization": {"mode": "Webhook"},
        "address": node_ip,
        "tlsCertFile": f"{pki}/kubelet-serving.crt",
        "tlsPrivateKeyFile": f"{pki}/kubelet-serving.key",
        "cgroupDriver": "cgroupfs",  # no systemd here
        "failCgroupV1": False,  # this machine runs cgroup v1
        "containerRuntimeEndpoint": f"unix://{layout.socket}",
        "clusterDNS": [CLUSTER_DNS],
        "clusterDomain": "cluster.local",
        "failSwapOn": False,
        "resolvConf": "/etc/resolv.conf",
        "healthzBindAddress": "127.0.0.1",
        # CI disks run full: evict only when nearly nothing is left, never collect images
        # (they come from local archives, nothing could pull them back)
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "2%",
            "imagefs.available": "2%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
    }
    return json.dumps(doc, indent=1) + "\n"


def etcd_command(layout: Layout) -> list[str]:
    client, peer = f"http://127.0.0.1:{ETCD_CLIENT}", f"http://127.0.0.1:{ETCD_PEER}"
    return [
        "etcd",
        "--name=daprshop",
        f"--data-dir={layout.work}/etcd",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=daprshop={peer}",
    ]


def apiserver_command(layout: Layout, bin_dir: Path, node_ip: str) -> list[str]:
    p = layout.pki
    return [
        str(bin_dir / "kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{ETCD_CLIENT}",
        f"--secure-port={APISERVER}",
        f"--advertise-address={node_ip}",
        f"--client-ca-file={p}/ca.crt",
        f"--tls-cert-file={p}/apiserver.crt",
        f"--tls-private-key-file={p}/apiserver.key",
        f"--kubelet-client-certificate={p}/apiserver-kubelet-client.crt",
        f"--kubelet-client-key={p}/apiserver-kubelet-client.key",
        # the node's name may resolve to 127.0.0.1 (/etc/hosts), where the kubelet does not
        # listen and which the apiserver refuses to proxy to: reach it by its InternalIP
        "--kubelet-preferred-address-types=InternalIP,Hostname",
        f"--service-account-key-file={p}/sa.pub",
        f"--service-account-signing-key-file={p}/sa.key",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        "--allow-privileged=true",
        "--profiling=false",
    ]


def controller_manager_command(layout: Layout, bin_dir: Path) -> list[str]:
    p, kc = layout.pki, layout.kubeconfig("controller-manager")
    return [
        str(bin_dir / "kube-controller-manager"),
        f"--kubeconfig={kc}",
        f"--authentication-kubeconfig={kc}",
        f"--authorization-kubeconfig={kc}",
        "--bind-address=127.0.0.1",
        f"--cluster-signing-cert-file={p}/ca.crt",
        f"--cluster-signing-key-file={p}/ca.key",
        f"--root-ca-file={p}/ca.crt",
        f"--service-account-private-key-file={p}/sa.key",
        "--use-service-account-credentials=true",
        "--allocate-node-cidrs=true",
        f"--cluster-cidr={CLUSTER_CIDR}",
        "--node-cidr-mask-size=24",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--leader-elect=false",
        "--profiling=false",
    ]


def scheduler_command(layout: Layout, bin_dir: Path) -> list[str]:
    kc = layout.kubeconfig("scheduler")
    return [
        str(bin_dir / "kube-scheduler"),
        f"--kubeconfig={kc}",
        f"--authentication-kubeconfig={kc}",
        f"--authorization-kubeconfig={kc}",
        "--bind-address=127.0.0.1",
        "--leader-elect=false",
        "--profiling=false",
    ]


def kubelet_command(layout: Layout, bin_dir: Path, node: str, node_ip: str) -> list[str]:
    return [
        str(bin_dir / "kubelet"),
        f"--config={layout.work}/kubelet.json",
        f"--kubeconfig={layout.kubeconfig('kubelet')}",
        f"--root-dir={layout.work}/kubelet",
        f"--hostname-override={node}",
        f"--node-ip={node_ip}",
    ]


def kube_proxy_config(layout: Layout, node: str) -> str:
    """iptables mode; it leaves the kernel's conntrack sizes and route_localnet alone."""
    doc = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(layout.kubeconfig("kube-proxy"))},
        "hostnameOverride": node,
        "clusterCIDR": CLUSTER_CIDR,
        "conntrack": {"maxPerCore": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        # NodePorts on 127.0.0.1 would need net.ipv4.conf.all.route_localnet=1
        "iptables": {"localhostNodePorts": False},
        "metricsBindAddress": "127.0.0.1:10249",
        "healthzBindAddress": "127.0.0.1:10256",
    }
    return json.dumps(doc, indent=1) + "\n"


def kube_proxy_command(layout: Layout, bin_dir: Path) -> list[str]:
    return [str(bin_dir / "kube-proxy"), f"--config={layout.work}/kube-proxy.json"]
