"""Settings: one validated object, from defaults < TOML file < environment < command-line flags.

Every setting has an environment variable ``CIPHERPOST_<NAME>`` (upper case) and a key of the
same name in the TOML file (``--config`` / ``CIPHERPOST_CONFIG``). Lists in the environment are
comma-separated.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_LISTEN = "http://127.0.0.1:4566"
DEFAULT_ACCOUNT_ID = "000000000000"
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_ENDPOINT_ID = re.compile(r"^vpce-[0-9a-f]{8,17}$")


class ConfigError(Exception):
    """The configuration is invalid; the message says which setting and why."""


@dataclass(frozen=True, slots=True)
class Listener:
    """One address the server listens on."""

    scheme: str
    """``http``, ``https`` or ``unix``."""
    host: str
    """Interface address (or the socket path for ``unix``)."""
    port: int
    """TCP port (0 for ``unix``)."""
    endpoint_id: str | None = None
    """Private-listener endpoint id (``vpce-…``); None for a public listener."""

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def url(self) -> str:
        if self.scheme == "unix":
            return f"unix:{self.host}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def parse_listener(text: str) -> Listener:
    """Parse ``http://host:port``, ``https://host:port`` or ``unix:/path``.

    A private listener appends ``#vpce-<hex>``, e.g. ``unix:/run/cp.sock#vpce-0a1b2c3d``.

    Raises:
        ConfigError: for any other form.
    """
    text, _, endpoint = text.strip().partition("#")
    endpoint_id = endpoint or None
    if endpoint_id is not None and not _ENDPOINT_ID.match(endpoint_id):
        raise ConfigError(f"listener {text!r}: endpoint id {endpoint_id!r} must look like vpce-0123abcd")
    if text.startswith("unix:"):
        path = text.removeprefix("unix:").removeprefix("//")
        if not path:
            raise ConfigError(f"listener {text!r}: a unix listener needs a socket path")
        return Listener("unix", path, 0, endpoint_id)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"listener {text!r}: expected http://HOST:PORT, https://HOST:PORT or unix:PATH")
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"listener {text!r}: invalid port") from exc
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    return Listener(parts.scheme, parts.hostname, port, endpoint_id)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything `cipherpost serve` needs to know."""

    listen: tuple[str, ...] = (DEFAULT_LISTEN,)
    """Listener URLs (see :func:`parse_listener`)."""
    data_dir: Path = Path("cipherpost-data")
    """Where the store, keyring, credentials, certificates and audit files live."""
    database_url: str | None = None
    """``postgresql://...`` to share one PostgreSQL database between nodes; default SQLite in data_dir."""
    region: str = "us-east-1"
    """The region this installation answers as."""
    account_id: str = DEFAULT_ACCOUNT_ID
    """The default account's 12-digit id, used when the data directory is first initialized."""
    public_url: str | None = None
    """Base URL clients reach the service at (queue URLs, SigningCertURL); default: first TCP listener."""
    http: bool = True
    """Allow plain-HTTP listeners; False refuses to start with one."""
    tls_cert: Path | None = None
    """PEM certificate (chain) for https listeners; default: a local CA-issued cert in the data dir."""
    tls_key: Path | None = None
    """PEM private key for ``tls_cert``."""
    tls_hosts: tuple[str, ...] = ()
    """Extra host names / IPs for the generated server certificate."""
    dev: bool = False
    """Permissive development mode: any access key Cipherpost did not issue is accepted without
    checking its secret (as an account root); keys it issued (IAM users', STS sessions') still
    authenticate as their principals."""
    max_body_bytes: int = 4 * 1024 * 1024
    """Largest request body accepted."""
    max_clock_skew: int = 900
    """Seconds a SigV4 request time may differ from the server's clock."""
    log_level: str = "info"
    """Python logging level name."""
    endpoint_policies: Mapping[str, str] = field(default_factory=dict)
    """VPC-endpoint policy per private listener: endpoint id -> policy JSON, or a path to a JSON file."""
    trusted_proxies: tuple[str, ...] = ()
    """Peers (IPs or CIDRs) whose X-Forwarded-For is believed for aws:SourceIp."""

    @property
    def listeners(self) -> tuple[Listener, ...]:
        return tuple(parse_listener(text) for text in self.listen)

    @property
    def base_url(self) -> str:
        """Public base URL without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        for listener in self.listeners:
            if listener.scheme != "unix":
                wildcard_or_loopback = ("127.0.0.1", "0.0.0.0", "::", "::1")  # noqa: S104 - a comparison, not a bind
                host = "localhost" if listener.host in wildcard_or_loopback else listener.host
                return f"{listener.scheme}://{host}:{listener.port}"
        return "http://localhost"

    def validated(self) -> Settings:
        """Return self after checking every setting; raises ConfigError naming the first bad one."""
        if not self.listen:
            raise ConfigError("listen: at least one listener is required")
        listeners = self.listeners
        if not self.http and any(item.scheme == "http" for item in listeners):
            raise ConfigError("listen: plain HTTP is turned off (http = false) but an http:// listener is set")
        if not _ACCOUNT_ID.match(self.account_id):
            raise ConfigError(f"account_id: {self.account_id!r} is not a 12-digit account id")
        if not _REGION.match(self.region):
            raise ConfigError(f"region: {self.region!r} is not a region name like us-east-1")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("tls_cert and tls_key must be given together")
        if self.max_body_bytes < 1024:
            raise ConfigError("max_body_bytes: must be at least 1024")
        if self.database_url and urlsplit(self.database_url).scheme not in ("postgresql", "postgres"):
            raise ConfigError("database_url: only postgresql:// URLs are supported")
        private = {item.endpoint_id for item in listeners if item.endpoint_id}
        for endpoint_id in self.endpoint_policies:
            if endpoint_id not in private:
                raise ConfigError(f"endpoint_policies: {endpoint_id} is not the endpoint id of any private listener")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as exc:
                raise ConfigError(f"trusted_proxies: {proxy!r} is not an IP address or CIDR") from exc
        if self.public_url and urlsplit(self.public_url).scheme not in ("http", "https"):
            raise ConfigError(f"public_url: {self.public_url!r} must be an http(s) URL")
        return self


_FIELD_NAMES = {f.name for f in fields(Settings)}
_BOOL_TRUE = {"1", "true", "yes", "on"}
_BOOL_FALSE = {"0", "false", "no", "off"}


def _coerce(name: str, value: Any) -> Any:
    """Convert a raw value from TOML or the environment to the field's type."""
    if name == "endpoint_policies":
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise ConfigError("endpoint_policies: expected a JSON object of endpoint id -> policy") from exc
        if not isinstance(value, Mapping):
            raise ConfigError("endpoint_policies: expected a table of endpoint id -> policy")
        return {str(key): item if isinstance(item, str) else json.dumps(item) for key, item in value.items()}
    if name in ("listen", "tls_hosts", "trusted_proxies"):
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
            return tuple(value)
        raise ConfigError(f"{name}: expected a list of strings")
    if name in ("data_dir", "tls_cert", "tls_key"):
        return Path(str(value)).expanduser()
    if name in ("http", "dev"):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _BOOL_TRUE | _BOOL_FALSE:
            return text in _BOOL_TRUE
        raise ConfigError(f"{name}: expected true or false, got {value!r}")
    if name in ("max_body_bytes", "max_clock_skew"):
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name}: expected an integer, got {value!r}") from exc
    return str(value)


def _apply(settings: Settings, values: Mapping[str, Any], source: str) -> Settings:
    unknown = set(values) - _FIELD_NAMES
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(sorted(unknown))}")
    return replace(settings, **{name: _coerce(name, value) for name, value in values.items()})


def load_settings(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Build the settings: defaults, then the TOML file, then ``CIPHERPOST_*`` variables, then flags.

    Flags whose value is None are treated as not given.
    """
    env = os.environ if environ is None else environ
    settings = Settings()
    path = config_file or (Path(env["CIPHERPOST_CONFIG"]) if env.get("CIPHERPOST_CONFIG") else None)
    if path is not None:
        try:
            with path.open("rb") as handle:
                document = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {path}: {exc}") from exc
        settings = _apply(settings, document, f"config file {path}")
    from_env = {
        name: env[f"CIPHERPOST_{name.upper()}"]
        for name in _FIELD_NAMES
        if f"CIPHERPOST_{name.upper()}" in env
    }
    settings = _apply(settings, from_env, "environment")
    given = {name: value for name, value in (flags or {}).items() if value is not None}
    settings = _apply(settings, given, "command line")
    return settings.validated()
