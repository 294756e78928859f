#!/usr/bin/env python3
"""The workshop's own identity provider, in one file: prints a signed JWT for a user.

    python3 labs/05-istio/end-users/issue-token.py alice           # valid for an hour
    python3 labs/05-istio/end-users/issue-token.py alice --expired # expired an hour ago

A JWT is three base64url parts joined by dots: a header, the claims, and an RS256 signature
of the first two made with the issuer's private key. The ingress gateway checks the signature
with the public half of that key (request-authentication-ingress.yaml), so it needs no call to
anyone. Only the Python standard library is used: RSA signing is one modular power.

The private key sits in issuer-key.json, next to this file, so that every learner's cluster
trusts the same tokens. That is for a workshop only: a real issuer's key never leaves it.
"""

import base64
import hashlib
import json
import sys
import time
from pathlib import Path

ISSUER = "workshop.local"
KEY_FILE = Path(__file__).with_name("issuer-key.json")
LIFETIME_SECONDS = 3600
# ASN.1 prefix of a SHA-256 digest in an RSA PKCS#1 v1.5 signature (RFC 8017, section 9.2).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_int(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def rs256(message: bytes, key: dict) -> bytes:
    """RSASSA-PKCS1-v1_5 with SHA-256: pad the digest to the key's length, raise it to d mod n."""
    n, d = b64url_int(key["n"]), b64url_int(key["d"])
    size = (n.bit_length() + 7) // 8
    digest = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    padded = b"\x00\x01" + b"\xff" * (size - len(digest) - 3) + b"\x00" + digest
    return pow(int.from_bytes(padded, "big"), d, n).to_bytes(size, "big")


def issue(user: str, now: float | None = None, lifetime: int = LIFETIME_SECONDS, key: dict | None = None) -> str:
    key = key or json.loads(KEY_FILE.read_text())
    now = int(time.time() if now is None else now)
    header = {"alg": "RS256", "typ": "JWT", "kid": key["kid"]}
    claims = {"iss": ISSUER, "sub": user, "iat": now, "exp": now + lifetime}
    signing_input = ".".join(b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
    return signing_input + "." + b64url(rs256(signing_input.encode(), key))


def main(argv: list[str]) -> int:
    names = [arg for arg in argv if not arg.startswith("-")]
    flags = [arg for arg in argv if arg.startswith("-")]
    if len(names) != 1 or set(flags) - {"--expired"} or not names[0].replace("-", "").isalnum():
        print("usage: issue-token.py USER [--expired]   (USER: letters, digits and dashes, e.g. alice)",
              file=sys.stderr)
        return 2
    if "--expired" in flags:
        print(issue(names[0], now=time.time() - 2 * LIFETIME_SECONDS))
    else:
        print(issue(names[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
