"""A local CA and server certificate for https listeners without user certificates.

:func:`ensure_local_tls` keeps four PEM files in one directory:

==================  =====  ==================================================================
``ca.pem``          0644   local CA: EC P-256, 10 years, CA:TRUE pathlen 0, keyCertSign/cRLSign
``ca-key.pem``      0600   its private key (PKCS#8, unencrypted: the directory is the boundary)
``server.pem``      0644   server certificate signed by the CA: EC P-256, 825 days, serverAuth,
                           SANs localhost, 127.0.0.1, ::1 and every requested host
``server-key.pem``  0600   its private key
==================  =====  ==================================================================

Clients trust ``ca.pem`` (``AWS_CA_BUNDLE``, ``--ca-bundle``, ``verify=``). On later starts
the files are reused. The server certificate alone is replaced when it does not cover a
requested name, expires within 30 days, or does not match its key or the CA; the CA is
replaced (with a new server certificate) only when it is missing, unreadable, mismatched,
or would expire before a new server certificate. 825 days is the longest server validity
Apple platforms accept for locally trusted certificates.

A private-key file that group or other users can access is refused, as with the keyring.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import secrets
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cipherpost.crypto.errors import InvalidTlsHost, TlsFilesError
from cipherpost.files import read_limited, too_open, write_atomic

__all__ = ["TlsFiles", "ensure_local_tls"]

CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY = "ca.pem", "ca-key.pem", "server.pem", "server-key.pem"
CA_VALIDITY = dt.timedelta(days=3650)
SERVER_VALIDITY = dt.timedelta(days=825)
RENEW_BEFORE = dt.timedelta(days=30)
_BACKDATE = dt.timedelta(hours=1)  # tolerate clients whose clocks run a little slow
DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")

_IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_DNS_NAME = re.compile(r"(\*\.)?[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*")


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Paths of the files an https listener and its clients need."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


@dataclass(frozen=True, slots=True)
class _Pair:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def ensure_local_tls(directory: Path, hosts: Sequence[str], *, now: dt.datetime | None = None) -> TlsFiles:
    """Create, or reuse, a local CA and a server certificate covering ``hosts``.

    :param directory: where the files live; created (mode 0700) if missing.
    :param hosts: extra DNS names or IP addresses (``[::1]`` brackets allowed) beyond
        localhost, 127.0.0.1 and ::1.
    :param now: the current time (UTC), for tests; defaults to the clock.
    :returns: the paths of the CA certificate, server certificate and server key.
    :raises InvalidTlsHost: a host is neither an IP address nor a valid DNS name (it is
        both a :class:`TlsFilesError` and a ``ValueError``).
    :raises TlsFilesError: an existing private-key file is group/other-accessible.
    """
    now = now or dt.datetime.now(dt.UTC)
    dns_names, ips = _parse_hosts([*DEFAULT_HOSTS, *hosts])
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    files = TlsFiles(directory / CA_CERT, directory / SERVER_CERT, directory / SERVER_KEY)

    ca = _load_pair(files.ca_cert, directory / CA_KEY)
    ca_fresh = ca is not None and _is_ca(ca.cert) and _valid_until(ca.cert, now, now + SERVER_VALIDITY)
    if ca is None or not ca_fresh:
        ca = _make_ca(now)
        _write_pair(ca, files.ca_cert, directory / CA_KEY)
        server = None
    else:
        server = _load_pair(files.server_cert, files.server_key)

    if server is None or not _server_ok(server.cert, ca.cert, dns_names, ips, now):
        _write_pair(_make_server(ca, dns_names, ips, now), files.server_cert, files.server_key)
    return files


def _parse_hosts(hosts: Sequence[str]) -> tuple[list[str], list[_IpAddress]]:
    """Split into DNS names (lowercase, no trailing dot) and IP addresses, deduplicated."""
    dns_names: dict[str, None] = {}
    ips: dict[_IpAddress, None] = {}
    for host in hosts:
        text = host.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        try:
            ips[ipaddress.ip_address(text)] = None
            continue
        except ValueError:
            pass
        name = text.rstrip(".").lower()
        if len(name) > 253 or not _DNS_NAME.fullmatch(name):
            raise InvalidTlsHost(f"not an IP address or DNS name: {host!r}")
        dns_names[name] = None
    return list(dns_names), list(ips)


def _load_pair(cert_path: Path, key_path: Path) -> _Pair | None:
    """A certificate and its matching EC key, or ``None`` if missing, unreadable or mismatched."""
    try:
        key_bytes = _read_private(key_path)
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_bytes, password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or _spki(key.public_key()) != _spki(cert.public_key()):
        return None
    return _Pair(cert, key)


def _read_private(path: Path) -> bytes:
    data, mode = read_limited(path, 64 * 1024)
    if too_open(mode):
        raise TlsFilesError(
            f"private key {path} has mode {stat.S_IMODE(mode):04o}: group/other users may read "
            f"it; run `chmod 600 {path}`, or delete it to have a new one generated"
        )
    return data


def _spki(public_key: object) -> bytes:
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return b""
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _valid_until(cert: x509.Certificate, now: dt.datetime, until: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= now and until < cert.not_valid_after_utc


def _server_ok(
    cert: x509.Certificate,
    ca: x509.Certificate,
    dns_names: list[str],
    ips: list[_IpAddress],
    now: dt.datetime,
) -> bool:
    """Signed by ``ca``, not near expiry, and covering every requested name."""
    try:
        cert.verify_directly_issued_by(ca)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (InvalidSignature, ValueError, TypeError, x509.ExtensionNotFound):
        return False
    have_dns = {name.lower() for name in san.get_values_for_type(x509.DNSName)}
    have_ips = set(san.get_values_for_type(x509.IPAddress))
    covers = set(dns_names) <= have_dns and set(ips) <= have_ips
    return covers and _valid_until(cert, now, now + RENEW_BEFORE)


def _make_ca(now: dt.datetime) -> _Pair:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Cipherpost"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Cipherpost local CA {secrets.token_hex(4)}"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        _builder(name, name, key.public_key(), now, CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _Pair(cert, key)


def _make_server(ca: _Pair, dns_names: list[str], ips: list[_IpAddress], now: dt.datetime) -> _Pair:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])])
    san: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    san += [x509.IPAddress(ip) for ip in ips]
    ca_ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        _builder(ca.cert.subject, subject, key.public_key(), now, SERVER_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return _Pair(cert, key)


def _builder(
    issuer: x509.Name,
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    now: dt.datetime,
    life: dt.timedelta,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .issuer_name(issuer)
        .subject_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + life)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write_pair(pair: _Pair, cert_path: Path, key_path: Path) -> None:
    """Key first, then certificate; a crash between them leaves a mismatch that the next
    start detects (:func:`_load_pair`) and repairs by regenerating."""
    key_pem = pair.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_atomic(key_path, key_pem, 0o600)
    write_atomic(cert_path, pair.cert.public_bytes(serialization.Encoding.PEM), 0o644)
