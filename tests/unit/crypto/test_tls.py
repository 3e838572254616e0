from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from cipherpost.crypto.errors import InvalidTlsHost, TlsFilesError
from cipherpost.crypto.tls import TlsFiles, ensure_local_tls

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "tls"


@pytest.fixture
def files(directory: Path) -> TlsFiles:
    return ensure_local_tls(directory, ["cipherpost.internal"])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def handshake(files: TlsFiles, address: str, server_hostname: str) -> bytes:
    """One TLS connection over loopback; the client trusts only the generated CA."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(files.server_cert, files.server_key)
    client_context = ssl.create_default_context(cafile=str(files.ca_cert))
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as listener:
        listener.bind((address, 0))
        listener.listen(1)
        listener.settimeout(10)
        port = listener.getsockname()[1]

        def serve() -> None:
            try:
                conn, _ = listener.accept()
                with server_context.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"ok")
            except OSError:  # includes ssl.SSLError: the client refused us
                pass

        thread = threading.Thread(target=serve)
        thread.start()
        try:
            with (
                socket.create_connection((address, port), timeout=10) as raw,
                client_context.wrap_socket(raw, server_hostname=server_hostname) as tls,
            ):
                return tls.recv(2)
        finally:
            thread.join(10)


@pytest.mark.parametrize(
    ("address", "name"),
    [("127.0.0.1", "127.0.0.1"), ("127.0.0.1", "localhost"), ("127.0.0.1", "cipherpost.internal")],
)
def test_handshake_verifies(files: TlsFiles, address: str, name: str) -> None:
    assert handshake(files, address, name) == b"ok"


def test_handshake_verifies_ipv6(files: TlsFiles) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    assert handshake(files, "::1", "::1") == b"ok"


def test_handshake_refuses_other_names(files: TlsFiles) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(files, "127.0.0.1", "example.com")


def test_file_modes(files: TlsFiles, directory: Path) -> None:
    assert mode(files.server_key) == 0o600
    assert mode(directory / "ca-key.pem") == 0o600
    assert mode(files.server_cert) == 0o644
    assert mode(files.ca_cert) == 0o644
    assert mode(directory) == 0o700
    assert sorted(p.name for p in directory.iterdir()) == ["ca-key.pem", "ca.pem", "server-key.pem", "server.pem"]


def test_file_modes_are_exact_under_a_strict_umask(directory: Path) -> None:
    old = os.umask(0o077)
    try:
        files = ensure_local_tls(directory, [])
    finally:
        os.umask(old)
    assert mode(files.server_cert) == 0o644
    assert mode(files.server_key) == 0o600


def test_certificate_profile(files: TlsFiles) -> None:
    ca, server = cert(files.ca_cert), cert(files.server_cert)
    ca_constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert ca_constraints.critical and ca_constraints.value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert ca.not_valid_after_utc - ca.not_valid_before_utc >= dt.timedelta(days=3650)
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    lifetime = server.not_valid_after_utc - server.not_valid_before_utc
    assert dt.timedelta(days=825) <= lifetime <= dt.timedelta(days=826)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "cipherpost.internal"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    server.verify_directly_issued_by(ca)


def test_reused_on_later_start(files: TlsFiles, directory: Path) -> None:
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    again = ensure_local_tls(directory, ["cipherpost.internal"])
    assert again == files
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before


def test_subset_of_names_reuses(files: TlsFiles, directory: Path) -> None:
    before = files.server_cert.read_bytes()
    ensure_local_tls(directory, [])
    assert files.server_cert.read_bytes() == before


def test_new_names_regenerate_server_cert_not_ca(files: TlsFiles, directory: Path) -> None:
    ca_before, key_before = files.ca_cert.read_bytes(), files.server_key.read_bytes()
    ensure_local_tls(directory, ["cipherpost.internal", "10.0.0.7", "[fd00::7]", "Queue.Example.COM."])
    assert files.ca_cert.read_bytes() == ca_before
    assert files.server_key.read_bytes() != key_before
    san = cert(files.server_cert).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "queue.example.com" in san.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("10.0.0.7") in san.get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("fd00::7") in san.get_values_for_type(x509.IPAddress)
    assert handshake(files, "127.0.0.1", "queue.example.com") == b"ok"


def test_server_cert_near_expiry_is_renewed_not_ca(directory: Path) -> None:
    files = ensure_local_tls(directory, [], now=NOW)
    ca_before, server_before = files.ca_cert.read_bytes(), files.server_cert.read_bytes()
    ensure_local_tls(directory, [], now=NOW + dt.timedelta(days=790))  # 35 days left: kept
    assert files.server_cert.read_bytes() == server_before
    ensure_local_tls(directory, [], now=NOW + dt.timedelta(days=800))  # 25 days left: renewed
    assert files.server_cert.read_bytes() != server_before
    assert files.ca_cert.read_bytes() == ca_before
    assert cert(files.server_cert).not_valid_after_utc > NOW + dt.timedelta(days=1600)


def test_ca_near_expiry_regenerates_both(directory: Path) -> None:
    files = ensure_local_tls(directory, [], now=NOW)
    ca_before = files.ca_cert.read_bytes()
    ensure_local_tls(directory, [], now=NOW + dt.timedelta(days=3650 - 800))
    assert files.ca_cert.read_bytes() != ca_before
    cert(files.server_cert).verify_directly_issued_by(cert(files.ca_cert))


def test_server_cert_from_another_ca_is_replaced(files: TlsFiles, directory: Path, tmp_path: Path) -> None:
    other = ensure_local_tls(tmp_path / "other", ["cipherpost.internal"])
    files.server_cert.write_bytes(other.server_cert.read_bytes())
    files.server_key.write_bytes(other.server_key.read_bytes())
    ensure_local_tls(directory, ["cipherpost.internal"])
    assert handshake(files, "127.0.0.1", "localhost") == b"ok"


@pytest.mark.parametrize("damage", ["garbage", "missing"])
def test_damaged_server_key_is_regenerated(files: TlsFiles, directory: Path, damage: str) -> None:
    if damage == "missing":
        files.server_key.unlink()
    else:
        files.server_key.write_bytes(b"not a key")
    ensure_local_tls(directory, [])
    assert handshake(files, "127.0.0.1", "localhost") == b"ok"


def test_mismatched_key_and_cert_is_regenerated(files: TlsFiles, directory: Path) -> None:
    """A crash between writing the new key and the new cert leaves a mismatch."""
    files.server_key.write_bytes((directory / "ca-key.pem").read_bytes())
    ensure_local_tls(directory, [])
    assert handshake(files, "127.0.0.1", "localhost") == b"ok"


@pytest.mark.parametrize("name", ["server-key.pem", "ca-key.pem"])
def test_bad_key_mode(files: TlsFiles, directory: Path, name: str) -> None:
    (directory / name).chmod(0o644)
    with pytest.raises(TlsFilesError, match="chmod 600"):
        ensure_local_tls(directory, [])


@pytest.mark.parametrize("host", ["", "bad host", "http://x", "a..b", "-leading.example", "x" * 64 + ".com"])
def test_invalid_host(directory: Path, host: str) -> None:
    with pytest.raises(InvalidTlsHost, match="not an IP address or DNS name"):
        ensure_local_tls(directory, [host])
