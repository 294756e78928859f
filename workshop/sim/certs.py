"""Certificates and keys of one sim cluster, generated fresh at every start.

A real control plane authenticates everyone with certificates signed by a cluster CA,
and the API server signs ServiceAccount tokens with a key of its own. We do the same,
with small, fast ECDSA P-256 keys (a start must stay well under 20 seconds):

    ca.crt / ca.key            the cluster CA (also signs CSRs in kube-controller-manager)
    front-proxy-ca.crt         CA of the aggregation layer's front proxy (the API server
    front-proxy-client.crt     itself, when it proxies to an extension API server)
    apiserver.crt / .key       serving certificate for https://127.0.0.1:<port>
    <identity>.crt / .key      client certificates (admin, controller manager, scheduler, kwok)
    sa.key / sa.pub            ServiceAccount token signing key pair

The subject of a client certificate *is* its identity: CN is the user name, O the groups.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The first address of --service-cluster-ip-range: in-cluster clients reach the API server there.
KUBERNETES_SERVICE_IP = "10.96.0.1"
SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16"
VALIDITY = datetime.timedelta(days=30)
FRONT_PROXY_CLIENT = "front-proxy-client"


@dataclass(frozen=True)
class ClientIdentity:
    name: str  # file stem
    user: str  # certificate CN = Kubernetes user name
    groups: tuple[str, ...] = ()  # certificate O = Kubernetes groups


# RBAC binds the built-in roles to these exact user names (system:kube-controller-manager ...).
# kwok writes the status of nodes and pods as a kubelet would; no built-in role fits a
# fake kubelet for every node, so it runs in system:masters (it is a test double, not a workload).
CLIENTS = (
    ClientIdentity("admin", "workshop-sim-admin", ("system:masters",)),
    ClientIdentity("kube-controller-manager", "system:kube-controller-manager"),
    ClientIdentity("kube-scheduler", "system:kube-scheduler"),
    ClientIdentity("kwok", "kwok-controller", ("system:masters",)),
    # The API server's own identity towards the kubelets (logs, exec, port-forward), as kubeadm's.
    # kube-proxy of the real nodes; RBAC's system:node-proxier is bound to this user name.
    ClientIdentity("kube-proxy", "system:kube-proxy"),
    ClientIdentity("apiserver-kubelet-client", "kube-apiserver-kubelet-client", ("system:masters",)),
)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _name(common_name: str, organizations: tuple[str, ...] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    return x509.Name(attributes + [x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: x509.Name, issuer: x509.Name, public_key) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # tolerate small clock skew
        .not_valid_after(now + VALIDITY)
    )


def _new_ca(pki: Path, stem: str, common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Name]:
    key, name = _new_key(), _name(common_name)
    cert = (
        _builder(name, name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write_key(key, pki / f"{stem}.key")
    _write_cert(cert, pki / f"{stem}.crt")
    return key, name


def generate(pki: Path, cluster_name: str, extra_ips: tuple[str, ...] = ()) -> None:
    """Write a fresh CA, serving and client certificates, and the ServiceAccount key pair into ``pki``.

    ``extra_ips``: more addresses of the API server (the forwarder the real nodes reach it through).
    """
    pki.mkdir(parents=True, exist_ok=True)
    ca_key, ca_name = _new_ca(pki, "ca", f"{cluster_name}-ca")

    def issue(stem: str, subject: x509.Name, usage, san: x509.SubjectAlternativeName | None = None,
              issuer: tuple = (ca_key, ca_name)) -> None:
        key = _new_key()
        builder = _builder(subject, issuer[1], key.public_key()).add_extension(
            x509.ExtendedKeyUsage([usage]), critical=False)
        if san is not None:
            builder = builder.add_extension(san, critical=False)
        _write_key(key, pki / f"{stem}.key")
        _write_cert(builder.sign(issuer[0], hashes.SHA256()), pki / f"{stem}.crt")

    # Every name a client may use for the API server: loopback from the host, the
    # `kubernetes` Service names and IP from inside the cluster.
    dns = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
           "kubernetes.default.svc.cluster.local"]
    ips = ["127.0.0.1", KUBERNETES_SERVICE_IP, *extra_ips]
    san = x509.SubjectAlternativeName([x509.DNSName(name) for name in dns]
                                      + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips])
    issue("apiserver", _name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, san)
    for client in CLIENTS:
        issue(client.name, _name(client.user, client.groups), ExtendedKeyUsageOID.CLIENT_AUTH)
    # A CA of its own: a certificate it signs lets its holder claim any user in a header.
    front_proxy = _new_ca(pki, "front-proxy-ca", f"{cluster_name}-front-proxy-ca")
    issue("front-proxy-client", _name(FRONT_PROXY_CLIENT), ExtendedKeyUsageOID.CLIENT_AUTH, issuer=front_proxy)

    sa_key = _new_key()
    _write_key(sa_key, pki / "sa.key")
    (pki / "sa.pub").write_bytes(sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def issue_node(pki: Path, node: str, node_ip: str) -> None:
    """A real node's two certificates, signed by the cluster CA in ``pki``.

    ``<node>-client``: the kubelet's identity for the API (``system:node:<node>`` in ``system:nodes``,
    what the Node authorizer expects); ``<node>-serving``: its HTTPS server on port 10250, naming
    the node and its IP, so the API server verifies it for logs, exec and port-forward.
    """
    ca_key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), password=None)
    ca_name = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes()).subject
    san = x509.SubjectAlternativeName([x509.DNSName(node), x509.IPAddress(ipaddress.ip_address(node_ip))])
    for stem, subject, usage, extension in (
        (f"{node}-client", _name(f"system:node:{node}", ("system:nodes",)), ExtendedKeyUsageOID.CLIENT_AUTH, None),
        (f"{node}-serving", _name(node), ExtendedKeyUsageOID.SERVER_AUTH, san),
    ):
        key = _new_key()
        builder = _builder(subject, ca_name, key.public_key()).add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if extension is not None:
            builder = builder.add_extension(extension, critical=False)
        _write_key(key, pki / f"{stem}.key")
        _write_cert(builder.sign(ca_key, hashes.SHA256()), pki / f"{stem}.crt")
