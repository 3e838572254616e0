"""Settings: precedence (defaults < TOML < environment < flags), listener syntax, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from cipherpost.config import ConfigError, Listener, load_settings, parse_listener


def test_defaults() -> None:
    settings = load_settings(environ={})
    assert settings.listen == ("http://127.0.0.1:4566",)
    assert settings.region == "us-east-1"
    assert settings.account_id == "000000000000"
    assert settings.base_url == "http://localhost:4566"
    assert settings.dev is False


def test_precedence_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "cipherpost.toml"
    config.write_text('region = "eu-west-1"\naccount_id = "111111111111"\nlisten = ["http://0.0.0.0:9000"]\n'
                      'public_url = "https://mq.example.org"\n')
    settings = load_settings(environ={"CIPHERPOST_ACCOUNT_ID": "222222222222"}, config_file=config)
    assert (settings.region, settings.account_id) == ("eu-west-1", "222222222222")
    assert settings.base_url == "https://mq.example.org"
    settings = load_settings({"account_id": "333333333333", "region": None},
                             environ={"CIPHERPOST_ACCOUNT_ID": "222222222222", "CIPHERPOST_CONFIG": str(config)})
    assert (settings.region, settings.account_id) == ("eu-west-1", "333333333333")


def test_environment_lists_and_booleans() -> None:
    settings = load_settings(environ={"CIPHERPOST_LISTEN": "https://127.0.0.1:1, unix:/tmp/cp.sock",
                                      "CIPHERPOST_HTTP": "false", "CIPHERPOST_DEV": "yes"})
    assert settings.listeners == (Listener("https", "127.0.0.1", 1), Listener("unix", "/tmp/cp.sock", 0))
    assert settings.http is False and settings.dev is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://127.0.0.1:4566", Listener("http", "127.0.0.1", 4566)),
        ("https://[::1]:8443", Listener("https", "::1", 8443)),
        ("https://example.org", Listener("https", "example.org", 443)),
        ("unix:/run/cp.sock#vpce-0a1b2c3d4e", Listener("unix", "/run/cp.sock", 0, "vpce-0a1b2c3d4e")),
        ("http://10.0.0.5:80#vpce-12345678", Listener("http", "10.0.0.5", 80, "vpce-12345678")),
    ],
)
def test_parse_listener(text: str, expected: Listener) -> None:
    assert parse_listener(text) == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"CIPHERPOST_ACCOUNT_ID": "12345"}, "account_id"),
        ({"CIPHERPOST_REGION": "Mars"}, "region"),
        ({"CIPHERPOST_LISTEN": "ftp://x:1"}, "listener"),
        ({"CIPHERPOST_LISTEN": "http://x:99999"}, "invalid port"),
        ({"CIPHERPOST_LISTEN": "unix:/s#vpce-XYZ"}, "endpoint id"),
        ({"CIPHERPOST_HTTP": "maybe"}, "http"),
        ({"CIPHERPOST_HTTP": "false"}, "plain HTTP is turned off"),
        ({"CIPHERPOST_TLS_CERT": "/c.pem"}, "tls_cert and tls_key"),
        ({"CIPHERPOST_MAX_BODY_BYTES": "ten"}, "max_body_bytes"),
    ],
)
def test_invalid_settings_are_named(values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=values)


def test_unknown_file_key_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(environ={}, config_file=config)
    config.write_text("region = \n")
    with pytest.raises(ConfigError, match="config file"):
        load_settings(environ={}, config_file=config)
