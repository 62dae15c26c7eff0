"""The single-node cluster's certificates and keys: one CA, the apiserver's serving
certificate, a client certificate per component, the service-account signing key.

Keys are ECDSA P-256, written 0600 in a 0700 directory of the workdir; certificates are
valid for a year, and `cluster up` makes new ones when the workdir has none.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID = dt.timedelta(days=365)
SERVICE_IP = "10.96.0.1"  # the first address of the service range: the `kubernetes` Service


@dataclass(frozen=True)
class Client:
    """A client certificate: its file stem, user (CN) and groups (O)."""

    stem: str
    user: str
    groups: tuple[str, ...] = ()


def clients(node: str) -> tuple[Client, ...]:
    return (
        Client("admin", "kubernetes-admin", ("system:masters",)),
        Client("controller-manager", "system:kube-controller-manager"),
        Client("scheduler", "system:kube-scheduler"),
        Client("kubelet", f"system:node:{node}", ("system:nodes",)),
        Client("kube-proxy", "system:kube-proxy"),
        # the apiserver's identity towards kubelets (logs, exec, port-forward)
        Client("apiserver-kubelet-client", "kube-apiserver-kubelet-client", ("system:masters",)),
    )


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def _name(cn: str, groups: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    usage: list[x509.ObjectIdentifier],
    sans: list[x509.GeneralName],
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALID)
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is None:
        b = b.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        b = b.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return b.sign(issuer[1] if issuer else key, hashes.SHA256())


def _write(pki: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    (pki / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(pki / f"{stem}.key", key)


def apiserver_sans(node: str, node_ip: str) -> list[x509.GeneralName]:
    names = [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "localhost",
        node,
    ]
    ips = ["127.0.0.1", SERVICE_IP, node_ip]
    return [
        *(x509.DNSName(n) for n in names),
        *(x509.IPAddress(ipaddress.ip_address(i)) for i in ips),
    ]


def generate(pki: Path, node: str, node_ip: str) -> None:
    """Write every certificate and key into `pki` (0700), replacing what was there."""
    pki.mkdir(parents=True, exist_ok=True)
    pki.chmod(0o700)
    ca_key = _key()
    ca = _cert(_name("daprshop-k8s-ca"), ca_key, None, [], [])
    _write(pki, "ca", ca, ca_key)
    server = [ExtendedKeyUsageOID.SERVER_AUTH]
    key = _key()
    _write(
        pki,
        "apiserver",
        _cert(_name("kube-apiserver"), key, (ca, ca_key), server, apiserver_sans(node, node_ip)),
        key,
    )
    key = _key()
    kubelet_sans = [x509.DNSName(node), x509.IPAddress(ipaddress.ip_address(node_ip))]
    _write(
        pki,
        "kubelet-serving",
        _cert(
            _name(f"system:node:{node}", ("system:nodes",)), key, (ca, ca_key), server, kubelet_sans
        ),
        key,
    )
    for c in clients(node):
        key = _key()
        cert = _cert(
            _name(c.user, c.groups), key, (ca, ca_key), [ExtendedKeyUsageOID.CLIENT_AUTH], []
        )
        _write(pki, c.stem, cert, key)
    sa = _key()
    _write_key(pki / "sa.key", sa)
    pub = sa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (pki / "sa.pub").write_bytes(pub)
