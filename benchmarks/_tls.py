"""A private CA for the TLS variants: the page server's certificate and the clients' trust.

``trustme`` (in the ``bench`` and ``dev`` extras) makes a CA and a certificate for the loopback
addresses; the files live in a temporary directory for as long as the block runs.
"""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["local_ca", "tls_skip_reason", "trusting"]


def tls_skip_reason() -> str | None:
    """Why the TLS variants cannot run here (None when they can)."""
    try:
        import trustme  # noqa: F401
    except ImportError as error:
        return f"trustme is not installed ({error}); install the 'bench' extra"
    return None


@contextmanager
def local_ca(hosts: list[str]) -> Iterator[tuple[str, list[str]]]:
    """``(ca_pem_path, [cert_chain_pem_path, key_pem_path])`` for a server on ``hosts``."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert(*hosts)
    with tempfile.TemporaryDirectory(prefix="bench-tls-") as folder:
        root = Path(folder)
        ca.cert_pem.write_to_path(str(root / "ca.pem"))
        cert.private_key_and_cert_chain_pem.write_to_path(str(root / "server.pem"))
        yield str(root / "ca.pem"), [str(root / "server.pem"), str(root / "server.pem")]


def trusting(ca_path: str) -> ssl.SSLContext:
    """A client context that trusts the CA at ``ca_path`` (and checks hostnames)."""
    context = ssl.create_default_context(cafile=ca_path)
    context.set_alpn_protocols(["http/1.1"])
    return context


def server_context(cert_path: str, key_path: str) -> ssl.SSLContext:
    """The page server's context for the certificate (chain) and key at those paths."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context
