"""HTTPS subscriptions against a local HTTPS server whose certificate a private CA (made here)
signed: delivered when ``CIPHERPOST_SNS_CA_BUNDLE`` names that CA, refused at the handshake
when the CA is not trusted or the certificate names another host."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import ssl
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from e2e_support import Endpoint, ServerProcess, certificate, http_get, launch, new_topic, subscribe_confirmed

from cipherpost.demo import queue_policy
from cipherpost.services.sns.http_delivery import CA_BUNDLE_ENV, USER_AGENT
from cipherpost.services.sns.signing import verify

FAST_RETRIES = json.dumps({"http": {"defaultHealthyRetryPolicy": {"numRetries": 1, "minDelayTarget": 1,
                                                                   "maxDelayTarget": 1}}})
UNTRUSTED = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate"
MISMATCH = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, certificate is " \
    "not valid for '127.0.0.1'."


@dataclass(frozen=True)
class PrivateCa:
    """A CA of the test's own and server contexts whose certificates it signed."""

    ca_pem: Path
    trusted_host: ssl.SSLContext  # certificate for localhost and 127.0.0.1
    other_host: ssl.SSLContext  # certificate for other.example only


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name("cipherpost e2e CA")).issuer_name(_name("cipherpost e2e CA"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def _server_context(directory: Path, stem: str, ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate,
                    names: list[x509.GeneralName]) -> ssl.SSLContext:
    """A server-side context with a certificate for ``names`` that ``ca`` signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(stem)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


@pytest.fixture(scope="module")
def private_ca(tmp_path_factory: pytest.TempPathFactory) -> PrivateCa:
    directory = tmp_path_factory.mktemp("private-ca")
    ca_key, ca = _issue_ca()
    ca_pem = directory / "ca.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    local = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
    return PrivateCa(ca_pem, _server_context(directory, "localhost", ca_key, ca, local),
                     _server_context(directory, "other", ca_key, ca, [x509.DNSName("other.example")]))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, private_ca: PrivateCa) -> Iterator[ServerProcess]:
    """A server that trusts the private CA (and only it) for HTTPS endpoints."""
    proc = launch(tmp_path_factory.mktemp("sns-https") / "data", env={CA_BUNDLE_ENV: str(private_ca.ca_pem)})
    yield proc
    proc.stop()


@pytest.fixture
def endpoints() -> Iterator[Callable[[ssl.SSLContext], Endpoint]]:
    """Start HTTPS endpoints serving a given context; all closed after."""
    started: list[Endpoint] = []

    def start(tls: ssl.SSLContext) -> Endpoint:
        started.append(Endpoint(tls))
        return started[-1]

    yield start
    for endpoint in started:
        endpoint.close()


def test_confirmation_and_signed_notification_over_https(
        server: ServerProcess, private_ca: PrivateCa, endpoints: Callable[[ssl.SSLContext], Endpoint]) -> None:
    endpoint = endpoints(private_ca.trusted_host)
    assert endpoint.url.startswith("https://127.0.0.1:")
    sns = server.client("sns")
    topic = new_topic(server)
    assert sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=endpoint.url)["SubscriptionArn"] == \
        "pending confirmation"
    ((_, headers, body),) = endpoint.wait(1)
    confirmation = json.loads(body)
    assert {k: v for k, v in headers.items() if k.startswith("x-amz-sns-")} == {
        "x-amz-sns-message-type": "SubscriptionConfirmation",
        "x-amz-sns-message-id": confirmation["MessageId"],
        "x-amz-sns-topic-arn": topic}
    assert headers["content-type"] == "text/plain; charset=UTF-8"
    assert headers["user-agent"] == USER_AGENT
    assert confirmation["Type"] == "SubscriptionConfirmation" and confirmation["TopicArn"] == topic
    cert = certificate(server, confirmation["SigningCertURL"])
    assert verify(confirmation, confirmation["Signature"], cert)

    status, _, answer = http_get(confirmation["SubscribeURL"].replace("localhost", "127.0.0.1"))
    assert status == 200, answer
    found = re.search(rb"<SubscriptionArn>([^<]+)</SubscriptionArn>", answer)
    assert found is not None, answer
    arn = found[1].decode()
    assert [s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]] == [arn]

    sns.publish(TopicArn=topic, Message="over tls", Subject="secure")
    (_, (_, headers, body)) = endpoint.wait(2)
    notification = json.loads(body)
    assert {k: v for k, v in headers.items() if k.startswith("x-amz-sns-")} == {
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": notification["MessageId"],
        "x-amz-sns-topic-arn": topic,
        "x-amz-sns-subscription-arn": arn}
    assert (notification["Type"], notification["Message"], notification["Subject"]) == \
        ("Notification", "over tls", "secure")
    assert verify(notification, notification["Signature"], cert)
    assert not verify(dict(notification, Message="over tls!"), notification["Signature"], cert)
    assert endpoint.refused == []


def dead_letter_queue(server: ServerProcess, topic: str) -> tuple[str, dict[str, str]]:
    """A queue ``topic`` may send to; returns its URL and the subscription attributes naming it."""
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(arn, topic)})
    return url, {"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn})}


def dead_letters(server: ServerProcess, queue_url: str) -> list[str]:
    messages = server.client("sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=10).get("Messages", [])
    return [json.loads(m["Body"])["Message"] for m in messages]


def refusals(server: ServerProcess, subscription_arn: str) -> list[str]:
    """The TLS errors the server logged for deliveries to ``subscription_arn``."""
    return re.findall(rf"{re.escape(subscription_arn)}\b.*?(\[SSL: \w+\] certificate verify failed: .*?) \(_ssl\.c",
                      server.log())


def test_certificate_for_another_host_is_refused(
        server: ServerProcess, private_ca: PrivateCa, endpoints: Callable[[ssl.SSLContext], Endpoint]) -> None:
    """The CA is trusted, but the certificate names other.example, not 127.0.0.1: no
    confirmation reaches such an endpoint, and once a confirmed endpoint presents such a
    certificate its notifications fail, then go to the dead-letter queue."""
    sns = server.client("sns")
    topic = new_topic(server, DeliveryPolicy=FAST_RETRIES)
    stranger = endpoints(private_ca.other_host)
    sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=stranger.url)
    stranger.wait_refused(1)

    switched = endpoints(private_ca.trusted_host)
    dlq, redrive = dead_letter_queue(server, topic)
    arn = subscribe_confirmed(server, switched, topic, redrive)
    switched.tls = private_ca.other_host
    sns.publish(TopicArn=topic, Message="not for other.example")
    assert dead_letters(server, dlq) == ["not for other.example"]
    assert (len(switched.refused), switched.requests) == (2, [])  # the first attempt and numRetries=1
    assert refusals(server, arn) == [MISMATCH, MISMATCH]
    assert (len(stranger.refused), stranger.requests) == (1, [])  # the next attempt is 20 s on
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert sorted((s["Endpoint"], s["SubscriptionArn"]) for s in listed) == sorted(
        [(stranger.url, "PendingConfirmation"), (switched.url, arn)])


def test_untrusted_ca_is_refused_and_notifications_go_to_the_dead_letter_queue(
        fresh_server: Callable[..., ServerProcess], tmp_path: Path, private_ca: PrivateCa,
        endpoints: Callable[[ssl.SSLContext], Endpoint]) -> None:
    """A server without the CA bundle trusts the system store only: it sends the private CA's
    endpoints nothing, neither a confirmation nor (once the retry policy is exhausted, to the
    dead-letter queue instead) a notification."""
    data_dir = tmp_path / "data"
    confirmed, pending = endpoints(private_ca.trusted_host), endpoints(private_ca.trusted_host)
    trusting = fresh_server(data_dir=data_dir, env={CA_BUNDLE_ENV: str(private_ca.ca_pem)})
    topic = new_topic(trusting, DeliveryPolicy=FAST_RETRIES)
    dlq, redrive = dead_letter_queue(trusting, topic)
    arn = subscribe_confirmed(trusting, confirmed, topic, redrive)
    assert trusting.stop() == 0

    untrusting = fresh_server(data_dir=data_dir, env={CA_BUNDLE_ENV: ""})
    sns = untrusting.client("sns")
    other_topic = new_topic(untrusting)
    sns.subscribe(TopicArn=other_topic, Protocol="https", Endpoint=pending.url)
    pending.wait_refused(1)

    sns.publish(TopicArn=topic, Message="never over an untrusted certificate")
    assert dead_letters(untrusting, dlq) == ["never over an untrusted certificate"]
    assert (len(confirmed.refused), confirmed.requests) == (2, [])  # the first attempt and numRetries=1
    assert refusals(untrusting, arn) == [UNTRUSTED, UNTRUSTED]
    assert (len(pending.refused), pending.requests) == (1, [])  # the next attempt is 20 s on
    ((listed),) = sns.list_subscriptions_by_topic(TopicArn=other_topic)["Subscriptions"]
    assert listed["SubscriptionArn"] == "PendingConfirmation"
