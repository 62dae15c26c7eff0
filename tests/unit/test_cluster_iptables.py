"""`cluster down` removes the iptables chains the cluster made, and nothing else."""

from daprshop import clusteriptables

BEFORE = """\
*filter
:INPUT ACCEPT [0:0]
:DOCKER - [0:0]
-A INPUT -j DOCKER
COMMIT
"""
AFTER = """\
*filter
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-OLD - [0:0]
-A INPUT -j DOCKER
-A INPUT -j KUBE-FIREWALL
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming" -j DROP
COMMIT
*nat
:POSTROUTING ACCEPT [0:0]
:CNI-0a1b - [0:0]
-A POSTROUTING -s 10.244.0.5/32 -m comment --comment "name: \\"daprshop\\" id: \\"ab\\"" -j CNI-0a1b
COMMIT
"""


def test_only_chains_made_since_up_with_kube_or_cni_prefixes_are_ours() -> None:
    before = clusteriptables.chains(BEFORE) | {("filter", "KUBE-OLD")}  # someone else's
    assert clusteriptables.ours(before, AFTER) == {
        ("filter", "KUBE-FIREWALL"),
        ("nat", "CNI-0a1b"),
    }


def test_the_jumps_go_first_then_each_chain_is_flushed_and_deleted() -> None:
    remove = {("filter", "KUBE-FIREWALL"), ("nat", "CNI-0a1b")}
    cmds = clusteriptables.undo_commands("iptables", AFTER, remove)
    assert cmds == [
        ["iptables", "-w", "-t", "filter", "-D", "INPUT", "-j", "KUBE-FIREWALL"],
        ["iptables", "-w", "-t", "filter", "-D", "OUTPUT", "-j", "KUBE-FIREWALL"],
        ["iptables", "-w", "-t", "nat", "-D", "POSTROUTING", "-s", "10.244.0.5/32", "-m",
         "comment", "--comment", 'name: "daprshop" id: "ab"', "-j", "CNI-0a1b"],
        ["iptables", "-w", "-t", "filter", "-F", "KUBE-FIREWALL"],
        ["iptables", "-w", "-t", "nat", "-F", "CNI-0a1b"],
        ["iptables", "-w", "-t", "filter", "-X", "KUBE-FIREWALL"],
        ["iptables", "-w", "-t", "nat", "-X", "CNI-0a1b"],
    ]  # fmt: skip
