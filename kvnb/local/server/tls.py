"""TLS material for the local vault: a private CA and a loopback server certificate.

Generated on first start and kept in the state directory, so clients can trust the CA once
(``REQUESTS_CA_BUNDLE`` for requests, ``SSL_CERT_FILE`` for aiohttp) and keep trusting it across
restarts. EC P-256 keys: generation is fast, which keeps a cold start well under two seconds.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..state.paths import StatePaths, write_private

_LIFETIME = dt.timedelta(days=825)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _new_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kvnb local vault CA")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _new_server_cert(ca: x509.Certificate, ca_key) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _LIFETIME)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _public_roots() -> bytes:
    try:
        import certifi

        return open(certifi.where(), "rb").read()
    except (ImportError, OSError):
        return b""


def ensure_tls(paths: StatePaths) -> None:
    """Create the CA, the server certificate and the CA bundle unless they already exist."""
    if not (paths.ca_cert.exists() and paths.ca_key.exists()):
        ca, ca_key = _new_ca()
        write_private(paths.ca_key, _pem_key(ca_key))
        paths.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        paths.server_cert.unlink(missing_ok=True)
    if not (paths.server_cert.exists() and paths.server_key.exists()):
        ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
        ca_key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), None)
        cert, key = _new_server_cert(ca, ca_key)
        write_private(paths.server_key, _pem_key(key))
        paths.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + paths.ca_cert.read_bytes())
    if not paths.ca_bundle.exists():
        paths.ca_bundle.write_bytes(paths.ca_cert.read_bytes() + b"\n" + _public_roots())


def server_ssl_context(paths: StatePaths) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(paths.server_cert), str(paths.server_key))
    return ctx


def client_ssl_context(paths: StatePaths) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(paths.ca_cert))
