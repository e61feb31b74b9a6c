"""A throwaway certificate authority so the Salesforce sandbox can speak https.

simple-salesforce builds every URL as `https://{instance}/...` whatever scheme it was
given, so the sandbox must serve TLS (reference/salesforce-api.md, section 6.1). We make
a fresh CA with trustme at start-up, issue a certificate for `localhost` and `127.0.0.1`,
and write three files, each readable by the owner only, into a private temporary folder:

* `ca.pem`: the CA bundle clients must trust (`requests.Session.verify = path`),
* `server.pem` and `server.key`: the server's chain and key.

Pitfall: when `REQUESTS_CA_BUNDLE` (or `CURL_CA_BUNDLE`) is set, requests ignores
`session.verify`; clients then need `session.trust_env = False` or that variable pointed
at `ca.pem` (psf/requests #3829, reference section 6.1).
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustme

HOSTNAMES = ("localhost", "127.0.0.1")


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the CA bundle and the server's certificate chain and key."""

    directory: Path
    ca_bundle: Path
    cert_chain: Path
    private_key: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side context presenting the sandbox certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.cert_chain), str(self.private_key))
        return context

    def remove(self) -> None:
        """Delete the folder holding the files (the CA key never touched disk)."""
        shutil.rmtree(self.directory, ignore_errors=True)


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def create_tls_files(directory: Path | None = None) -> TlsFiles:
    """Issue a new CA and server certificate and write them as 0600 files.

    With no `directory`, a new private temporary folder (mode 0700) is made; the caller
    owns it and may `remove()` it when the server stops.
    """
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="milestones-sandbox-tls-"))
    directory.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA(organization_name="crm-milestones sandbox")
    issued = authority.issue_cert(*HOSTNAMES)
    files = TlsFiles(
        directory=directory,
        ca_bundle=directory / "ca.pem",
        cert_chain=directory / "server.pem",
        private_key=directory / "server.key",
    )
    _write_private(files.ca_bundle, authority.cert_pem.bytes())
    _write_private(files.cert_chain, b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    _write_private(files.private_key, issued.private_key_pem.bytes())
    return files
