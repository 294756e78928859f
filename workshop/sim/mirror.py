"""A local release mirror: an HTTPS proxy that serves known upstream release files from disk.

Pages say ``kubectl apply -f https://github.com/.../components.yaml`` and ``curl -L https://...``;
this machine reaches no such host. The page runner starts a Mirror and puts its proxy in the
page's environment (``HTTPS_PROXY``/``https_proxy``, and ``SSL_CERT_FILE``/``CURL_CA_BUNDLE`` naming
a bundle of the system's CAs plus the mirror's own CA), so kubectl, curl and Python clients
fetch the URL as written. It is a stand-in for the internet, named so on
docs/contributing/testing.md.

- A client sends ``CONNECT host:443``; the mirror answers 200 and terminates TLS itself, with a
  certificate for that host signed by its CA (made here with ``cryptography``, one per host).
- ``GET https://host/path`` is looked up with a resolver ``url -> Path | None``: by default
  ``workshop.sim.releases.release_file`` (known upstream release URLs, cached locally). A file
  is served with 200; any other URL gets 404 saying the mirror serves only known release URLs.
- **It never opens a connection out** and never resolves a name: there is no upstream code
  path at all. Plain-HTTP proxy requests get 502.

    >>> with Mirror(Path("/tmp/m"), resolver=lambda url: None) as mirror:  # doctest: +SKIP
    ...     subprocess.run(["curl", "-sS", "https://example.org/x"], env={**os.environ, **mirror.env()})
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import shutil
import socketserver
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Resolver = Callable[[str], "Path | None"]
SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
VALIDITY = datetime.timedelta(days=2)
HEADER_LIMIT = 64 * 1024
# Never proxied: the API server, port-forwards and NodePort forwarders all listen on loopback.
NO_PROXY = "127.0.0.1,localhost,::1"


def default_resolver() -> tuple[Resolver, str | None]:
    """(resolver, problem): workshop.sim.releases.release_file, or a resolver of nothing and why."""
    try:
        from workshop.sim.releases import release_file
    except ImportError as error:
        return (lambda url: None), (f"workshop.sim.releases is not available ({error}): the mirror serves nothing")
    return release_file, None


class _CA:
    """The mirror's CA and a certificate per host, made on first use."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "workshop release mirror CA")])
        self.name = name
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.cert_file = folder / "mirror-ca.crt"
        self.cert_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def context_for(self, host: str) -> ssl.SSLContext:
        with self._lock:
            if host not in self._contexts:
                self._contexts[host] = self._issue(host)
            return self._contexts[host]

    def _issue(self, host: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        try:
            alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            alt = x509.DNSName(host)
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host[:64])]))
                .issuer_name(self.name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
                .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(self.key, hashes.SHA256()))
        stem = self.folder / ("host-" + re.sub(r"[^A-Za-z0-9.-]", "_", host))
        stem.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                                             + self.cert.public_bytes(serialization.Encoding.PEM))
        stem.with_suffix(".key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                               serialization.PrivateFormat.PKCS8,
                                                               serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_alpn_protocols(["http/1.1"])  # Go clients offer h2 first: this mirror speaks HTTP/1.1
        context.load_cert_chain(stem.with_suffix(".crt"), stem.with_suffix(".key"))
        return context


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    mirror: "Mirror"


class _ProxyHandler(BaseHTTPRequestHandler):
    """The proxy side: CONNECT opens a TLS tunnel served by _FileHandler; anything else is refused."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        self.server.mirror.log(f"proxy {self.address_string()} {format % args}")

    def do_CONNECT(self):  # noqa: N802 - http.server's naming
        host, _, port = self.path.rpartition(":")
        if not host or not port.isdigit():
            self._refuse(400, f"CONNECT needs host:port, got {self.path!r}")
            return
        host = host.strip("[]")
        self.send_response(200, "Connection established")
        self.end_headers()
        try:
            tls = self.server.mirror.ca.context_for(host).wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError) as error:  # e.g. a client that does not trust the mirror's CA
            self.server.mirror.log(f"TLS with {self.address_string()} for {host} failed: {error}")
            self.close_connection = True
            return
        origin = host if port == "443" else f"{host}:{port}"
        try:
            _FileHandler(tls, self.client_address, self.server, origin)
        except (ssl.SSLError, OSError) as error:  # a client that hangs up mid-request
            self.server.mirror.log(f"https://{origin}: {error}")
        finally:
            tls.close()
        self.close_connection = True

    def _refuse(self, status: int, message: str) -> None:
        body = (json.dumps({"error": message}) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def _plain(self):
        self._refuse(502, f"the release mirror serves https:// URLs through CONNECT only, not {self.path}; "
                          "it never connects anywhere")

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _plain  # noqa: N815


class _FileHandler(BaseHTTPRequestHandler):
    """Inside the tunnel: GET/HEAD of https://origin/path, from the resolver's file or a 404."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def __init__(self, request, client_address, server, origin: str):
        self.origin = origin
        super().__init__(request, client_address, server)

    def log_message(self, format, *args):  # noqa: A002
        self.server.mirror.log(f"https://{self.origin} {format % args}")

    def do_GET(self, body: bool = True):  # noqa: N802
        url = f"https://{self.origin}{self.path}"
        mirror = self.server.mirror
        try:
            path = mirror.resolver(url)
        except Exception as error:  # a resolver's bug must not hang the client
            self._answer(502, f"the release mirror's resolver failed on {url}: {error}")
            return
        if path is None or not Path(path).is_file():
            why = mirror.problem or "it serves only known upstream release files (workshop.sim.releases)"
            self._answer(404 if mirror.problem is None else 502,
                         f"{url} is not in the local release mirror: {why}; it never connects upstream")
            return
        mirror.served.append(url)
        size = Path(path).stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if body:
            with open(path, "rb") as source:
                shutil.copyfileobj(source, self.wfile)

    def do_HEAD(self):  # noqa: N802
        self.do_GET(body=False)

    def _answer(self, status: int, message: str) -> None:
        self.server.mirror.refused.append(message)
        body = (json.dumps({"error": message}) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class Mirror:
    """The proxy on 127.0.0.1 (a free port), its CA in ``folder``; a context manager."""

    def __init__(self, folder: Path, resolver: Resolver | None = None, log: Callable[[str], None] | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        if resolver is None:
            resolver, self.problem = default_resolver()
        else:
            self.problem = None
        self.resolver = resolver
        self.ca = _CA(self.folder)
        self.bundle = self.folder / "ca-bundle.crt"
        system = SYSTEM_CA_BUNDLE.read_bytes() if SYSTEM_CA_BUNDLE.is_file() else b""
        self.bundle.write_bytes(system + b"\n" + self.ca.cert_file.read_bytes())
        self.served: list[str] = []
        self.refused: list[str] = []
        self._log = log
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def log(self, message: str) -> None:
        if self._log:
            self._log(message)

    @property
    def url(self) -> str:
        assert self._server is not None, "start the mirror first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "Mirror":
        server = _Server(("127.0.0.1", 0), _ProxyHandler)
        server.mirror = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="release-mirror", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "Mirror":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        """What a page's shell needs to fetch through the mirror: proxy, trust, and loopback left alone."""
        bundle = str(self.bundle)
        return {"HTTPS_PROXY": self.url, "https_proxy": self.url, "NO_PROXY": NO_PROXY, "no_proxy": NO_PROXY,
                "SSL_CERT_FILE": bundle, "CURL_CA_BUNDLE": bundle, "REQUESTS_CA_BUNDLE": bundle}
