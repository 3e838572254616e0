"""The ``cipherpost`` command: ``serve`` (and, as they land, ``demo`` and admin commands)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cipherpost import __version__
from cipherpost.auth.authenticate import Authenticator
from cipherpost.config import ConfigError, Settings, load_settings
from cipherpost.crypto.errors import CryptoError
from cipherpost.crypto.tls import ensure_local_tls
from cipherpost.policy import Policy, PolicySyntaxError, validate_policy
from cipherpost.runtime import PROFILE, Runtime, start_runtime
from cipherpost.server.app import Gateway
from cipherpost.server.listeners import serve_listeners
from cipherpost.services import dispatch_table, providers
from cipherpost.services.audit import AUDIT_DIRNAME, SIGNING_KEY_FILENAME, AuditSigner, AuditTrail, run_verify
from cipherpost.services.authz import Authorizer
from cipherpost.services.iam import IamPolicySource
from cipherpost.services.sns import SnsProvider
from cipherpost.services.sns.public import SnsPublicLinks

log = logging.getLogger("cipherpost")

DEV_WARNING = """
  ***************************************************************************
  *  DEVELOPMENT MODE: any access key Cipherpost did not issue is accepted  *
  *  without verifying its signature; a 12-digit access key id acts as that *
  *  account's root. Never expose this server to anyone you do not trust.   *
  ***************************************************************************"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cipherpost", description=__doc__)
    parser.add_argument("--version", action="version", version=f"cipherpost {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the SNS + SQS + KMS service")
    serve.add_argument("--config", type=Path, help="TOML settings file (also CIPHERPOST_CONFIG)")
    serve.add_argument(
        "--listen", action="append", help="http://HOST:PORT, https://HOST:PORT or unix:PATH (repeatable)"
    )
    serve.add_argument("--data-dir", type=Path, help="data directory (default ./cipherpost-data)")
    serve.add_argument("--database-url", help="postgresql://... shared by several nodes (default: SQLite)")
    serve.add_argument("--region", help="region to answer as (default us-east-1)")
    serve.add_argument("--account-id", help="default account id, used when the data directory is created")
    serve.add_argument("--public-url", help="base URL clients use (queue URLs, SigningCertURL)")
    serve.add_argument("--no-http", dest="http", action="store_const", const=False, help="refuse plain HTTP")
    serve.add_argument("--tls-cert", type=Path, help="PEM certificate chain for https listeners")
    serve.add_argument("--tls-key", type=Path, help="PEM private key for --tls-cert")
    serve.add_argument("--tls-host", dest="tls_hosts", action="append", help="extra name for the generated cert")
    serve.add_argument("--dev", action="store_const", const=True, help="permissive development mode (unsafe)")
    serve.add_argument("--endpoint-policy", dest="endpoint_policies", action="append", metavar="VPCE_ID=POLICY",
                       help="VPC-endpoint policy of a private listener: a JSON file path or inline JSON")
    serve.add_argument("--trusted-proxy", dest="trusted_proxies", action="append",
                       help="IP or CIDR whose X-Forwarded-For is believed (repeatable)")
    serve.add_argument("--log-level", help="debug, info, warning, error")
    demo = commands.add_parser("demo", help="walk through the blog's encrypted fan-out scenario", add_help=False)
    demo.add_argument("demo_args", nargs=argparse.REMAINDER, help="options of the demo (see cipherpost demo --help)")
    audit = commands.add_parser("audit", help="audit trail tools").add_subparsers(dest="audit_command", required=True)
    verify = audit.add_parser("verify", help="check every audit log and digest file (like validate-logs)")
    verify.add_argument("--data-dir", type=Path, help="data directory (default ./cipherpost-data)")
    verify.add_argument("--from", dest="start", type=_timestamp, help="ISO 8601 start time (UTC)")
    verify.add_argument("--to", dest="end", type=_timestamp, help="ISO 8601 end time (UTC)")
    return parser


def _timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    names = ("listen", "data_dir", "database_url", "region", "account_id", "public_url", "http", "tls_cert", "tls_key",
             "tls_hosts", "dev", "log_level", "trusted_proxies")
    flags = {name: getattr(args, name) for name in names}
    if args.endpoint_policies:
        flags["endpoint_policies"] = dict(item.partition("=")[::2] for item in args.endpoint_policies)
    return flags


def _tls_files(settings: Settings) -> tuple[Path, Path] | None:
    """Certificate and key for https listeners; generates a local CA-issued pair if none given."""
    listeners = settings.listeners
    if not any(item.tls for item in listeners):
        return None
    if settings.tls_cert is not None and settings.tls_key is not None:
        return settings.tls_cert, settings.tls_key
    hosts = [*settings.tls_hosts, *(item.host for item in listeners if item.tls)]
    files = ensure_local_tls(settings.data_dir / "tls", hosts)
    print(f"cipherpost: TLS CA certificate: {files.ca_cert} (set AWS_CA_BUNDLE to it)", flush=True)
    return files.server_cert, files.server_key


def _banner(runtime: Runtime) -> None:
    settings = runtime.settings
    for listener in settings.listeners:
        kind = f" (private, {listener.endpoint_id})" if listener.endpoint_id else ""
        print(f"cipherpost: listening on {listener.url}{kind}", flush=True)
    print(f"cipherpost: account {runtime.default_account}, region {settings.region}", flush=True)
    print(
        f"cipherpost: root credentials in {runtime.credentials_file.resolve()} (profile {PROFILE}); "
        f"use AWS_SHARED_CREDENTIALS_FILE={runtime.credentials_file.resolve()} AWS_PROFILE={PROFILE}",
        flush=True,
    )


def load_endpoint_policies(settings: Settings) -> dict[str, Policy]:
    """Parse each private listener's endpoint policy (inline JSON or a file path).

    Raises:
        ConfigError: a policy file cannot be read or is not a valid endpoint policy.
    """
    policies: dict[str, Policy] = {}
    for endpoint_id, source in settings.endpoint_policies.items():
        try:
            document = source if source.lstrip().startswith("{") else Path(source).read_text(encoding="utf-8")
            policy = validate_policy(document, kind="endpoint")
        except OSError as exc:
            raise ConfigError(f"endpoint_policies: {endpoint_id}: cannot read {source}: {exc}") from exc
        except PolicySyntaxError as exc:
            raise ConfigError(f"endpoint_policies: {endpoint_id}: {exc.message}") from exc
        policies[endpoint_id] = policy.named(f"VPC endpoint policy of {endpoint_id}")
    return policies


async def serve(settings: Settings, endpoint_policies: Mapping[str, Policy]) -> None:
    """Run the server until SIGTERM/SIGINT."""
    if settings.dev:
        print(DEV_WARNING, file=sys.stderr, flush=True)
        log.warning("development mode: signatures of access keys Cipherpost did not issue are not verified")
    runtime = await start_runtime(settings)
    signer = AuditSigner.load_or_create(settings.data_dir / SIGNING_KEY_FILENAME, runtime.keyring)
    runtime.audit = AuditTrail(settings.data_dir / AUDIT_DIRNAME, runtime.store, signer, region=settings.region)
    await runtime.audit.start()
    try:
        tls = _tls_files(settings)
        authenticator = Authenticator(
            runtime.credentials,
            runtime.store,
            region=settings.region,
            default_account=runtime.default_account,
            max_skew=timedelta(seconds=settings.max_clock_skew),
            dev=settings.dev,
        )
        authz = Authorizer(IamPolicySource(runtime.store), endpoint_policies)
        active = providers(runtime, authz)
        gateway = Gateway(
            region=settings.region,
            authenticator=authenticator,
            handlers=dispatch_table(active),
            max_body_bytes=settings.max_body_bytes,
            recorder=runtime.audit,
            trusted_proxies=settings.trusted_proxies,
            public_routes=[SnsPublicLinks(item) for item in active if isinstance(item, SnsProvider)],
        )
        for provider in active:
            await provider.start()
        try:
            await serve_listeners(gateway, settings.listeners, tls, on_started=lambda: _banner(runtime))
        finally:
            for provider in reversed(active):
                await provider.stop()
    finally:
        await runtime.audit.stop()
        await runtime.close()
        print("cipherpost: stopped", flush=True)


def _run(coro: Any) -> None:
    """Run on uvloop where it is installed (the default on Linux), else on asyncio's loop."""
    try:
        import uvloop  # noqa: PLC0415 - optional accelerator
    except ImportError:
        asyncio.run(coro)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(coro)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from cipherpost import demo  # noqa: PLC0415 - boto3 is needed only here

        return demo.main(args.demo_args)
    flags = _flags(args) if args.command == "serve" else {"data_dir": args.data_dir}
    try:
        settings = load_settings(flags, config_file=getattr(args, "config", None))
    except ConfigError as exc:
        print(f"cipherpost: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    if args.command == "audit":
        return run_verify(settings.data_dir, args.start, args.end)
    if args.command == "serve":
        try:
            endpoint_policies = load_endpoint_policies(settings)
        except ConfigError as exc:
            print(f"cipherpost: configuration error: {exc}", file=sys.stderr)
            return 2
        try:
            _run(serve(settings, endpoint_policies))
        except (CryptoError, OSError) as exc:
            print(f"cipherpost: cannot start: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
