"""The sandbox org's External Client App for the JWT bearer flow: its signing certificate,
and the checks Salesforce makes on an assertion.

Salesforce takes `POST /services/oauth2/token` with
`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and an RS256 assertion signed with
the private key whose X.509 certificate is uploaded to the app; `iss` is the app's consumer
key, `sub` the pre-authorised user's username, `aud` the login URL
(`https://login.salesforce.com`, `https://test.salesforce.com` for a sandbox org, or the
org's My Domain), `exp` in the future (reference crm-api-changes-2026.md section 5.1, S14,
P4). A refusal is 400 with an OAuth error body; the error codes are documented, the
descriptions are Salesforce's usual ones.

The sandbox makes a key pair and a self-signed certificate when it is given none, and writes
the key where a client can read it (`jwt.key`, mode 0600), so the demo and the tests sign
real assertions.
"""

from __future__ import annotations

import datetime
import functools
import os
from collections.abc import Collection
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


class AssertionRefused(Exception):
    """An assertion Salesforce would refuse: `error` and `description` of the 400 body."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error, self.description = error, description


def make_signing_pair(directory: Path, common_name: str) -> tuple[Path, bytes]:
    """An RSA key written to `directory/jwt.key` (0600) and its self-signed certificate.

    Returns the key's path and the certificate as PEM, the one to "upload to the app". One
    key serves every sandbox of the process (making one takes a while; none is a secret).
    """
    key = _process_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    path = directory / "jwt.key"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return path, certificate.public_bytes(serialization.Encoding.PEM)


@functools.cache
def _process_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def check_assertion(
    assertion: str,
    certificate_pem: bytes | None,
    *,
    client_id: str,
    username: str,
    audiences: Collection[str],
) -> None:
    """Raise `AssertionRefused` unless the assertion is one Salesforce would take."""
    if certificate_pem is None:  # no certificate uploaded: the app cannot verify anything
        raise AssertionRefused("invalid_grant", "invalid assertion")
    public_key = x509.load_pem_x509_certificate(certificate_pem).public_key()
    try:
        claims = jwt.decode(
            assertion,
            public_key,  # type: ignore[arg-type]  # an RSA key from our own certificate
            algorithms=["RS256"],
            options={"require": ["iss", "sub", "aud", "exp"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise AssertionRefused("invalid_grant", "expired authorization code") from None
    except jwt.InvalidTokenError:  # bad signature, another algorithm, a missing claim
        raise AssertionRefused("invalid_grant", "invalid assertion") from None
    if claims.get("iss") != client_id:
        raise AssertionRefused("invalid_client_id", "client identifier invalid")
    if claims.get("aud") not in audiences:
        raise AssertionRefused("invalid_grant", "audience is invalid")
    if claims.get("sub") != username:
        raise AssertionRefused("invalid_grant", "user hasn't approved this consumer")
