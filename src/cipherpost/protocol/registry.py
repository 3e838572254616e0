"""The services Cipherpost speaks, and their botocore service models.

One table (``SERVICES``) says which botocore model backs each of our services, which
SigV4 signing name it uses and which wire protocols it accepts. Models are loaded once,
at first use, with botocore's own ``Loader``; SQS's Query form is derived from its JSON
model by :mod:`cipherpost.protocol.sqs_query`.

botocore is untyped: the small ``Protocol`` classes below are the typed view of the
botocore objects we touch, and nothing outside this package sees botocore directly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import botocore.loaders
import botocore.model

from cipherpost.protocol.sqs_query import derive_query_model

QUERY: Final = "query"
JSON: Final = "json"


class BotoShape(Protocol):
    """The parts of ``botocore.model.Shape`` (and its subclasses) that we read."""

    name: str
    type_name: str

    @property
    def serialization(self) -> Mapping[str, Any]: ...
    @property
    def metadata(self) -> Mapping[str, Any]: ...
    @property
    def members(self) -> Mapping[str, BotoShape]: ...  # structures only
    @property
    def required_members(self) -> list[str]: ...  # structures only
    @property
    def member(self) -> BotoShape: ...  # lists only
    @property
    def key(self) -> BotoShape: ...  # maps only
    @property
    def value(self) -> BotoShape: ...  # maps only
    @property
    def enum(self) -> list[str]: ...  # strings only


class ServiceModel(Protocol):
    """The parts of ``botocore.model.ServiceModel`` that we read."""

    @property
    def metadata(self) -> Mapping[str, Any]: ...
    @property
    def operation_names(self) -> list[str]: ...
    @property
    def shape_names(self) -> list[str]: ...
    def operation_model(self, operation_name: str) -> OperationModel: ...
    def shape_for(self, shape_name: str) -> BotoShape: ...


class OperationModel(Protocol):
    """The parts of ``botocore.model.OperationModel`` that we read."""

    name: str

    @property
    def input_shape(self) -> BotoShape | None: ...
    @property
    def output_shape(self) -> BotoShape | None: ...
    @property
    def service_model(self) -> ServiceModel: ...


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One supported service: our name, botocore's model name, signing name, protocols."""

    name: str
    model_name: str
    signing_name: str
    #: Wire protocols accepted, the model's own first. SQS also speaks Query, through a
    #: model derived from its JSON one (see ``sqs_query``).
    protocols: tuple[str, ...]


#: Behaviour as data: every service Cipherpost answers for.
SERVICES: Final[Mapping[str, ServiceSpec]] = {
    spec.name: spec
    for spec in (
        ServiceSpec("sts", "sts", "sts", (QUERY, JSON)),
        ServiceSpec("iam", "iam", "iam", (QUERY,)),
        ServiceSpec("sns", "sns", "sns", (QUERY,)),
        ServiceSpec("sqs", "sqs", "sqs", (JSON, QUERY)),
        ServiceSpec("kms", "kms", "kms", (JSON,)),
        ServiceSpec("cloudtrail", "cloudtrail", "cloudtrail", (JSON,)),
    )
}

def derive_sts_json_model(query_model: Mapping[str, Any]) -> dict[str, Any]:
    """STS over JSON 1.0: botocore ships STS as Query only, but STS's Smithy service
    (``AWSSecurityTokenServiceV20110615``) also answers awsJson1_0 with that target prefix.
    The shapes are the same; only the metadata changes."""
    metadata = {**query_model["metadata"], "protocol": JSON, "protocols": [JSON], "jsonVersion": "1.0",
                "targetPrefix": "AWSSecurityTokenServiceV20110615"}
    return {**query_model, "metadata": metadata}


#: Models we derive from botocore's for a protocol it does not ship (see ``sqs_query``).
DERIVED_MODELS: Final[Mapping[tuple[str, str], Callable[[Mapping[str, Any]], Mapping[str, Any]]]] = {
    ("sqs", QUERY): derive_query_model,
    ("sts", JSON): derive_sts_json_model,
}

_BY_SIGNING_NAME: Final = {spec.signing_name: spec.name for spec in SERVICES.values()}


def services() -> Mapping[str, ServiceSpec]:
    """The registry of supported services, keyed by our service name."""
    return SERVICES


def service_for_signing_name(signing_name: str) -> str | None:
    """Our service name for a SigV4 credential-scope service, or ``None``."""
    return _BY_SIGNING_NAME.get(signing_name)


@functools.cache
def _loader() -> Any:
    return botocore.loaders.Loader()


@functools.cache
def raw_model(service: str) -> Mapping[str, Any]:
    """botocore's ``service-2`` data for ``service`` (shared: never mutate it)."""
    data: Mapping[str, Any] = _loader().load_service_model(
        SERVICES[service].model_name, "service-2"
    )
    return data


@functools.cache
def model_data(service: str, protocol: str) -> Mapping[str, Any]:
    """The model data of ``service`` over ``protocol``: botocore's own, or derived from it.

    Raises:
        KeyError: the service does not speak that protocol.
    """
    if protocol not in SERVICES[service].protocols:
        raise KeyError(f"{service} does not speak {protocol}")
    data = raw_model(service)
    if data["metadata"]["protocol"] == protocol:
        return data
    derive = DERIVED_MODELS[(service, protocol)]
    return derive(data)


@functools.cache
def service_model(service: str, protocol: str) -> ServiceModel:
    """The botocore ``ServiceModel`` for ``service`` spoken over ``protocol``.

    Raises:
        KeyError: the service does not speak that protocol.
    """
    data = model_data(service, protocol)
    model: ServiceModel = botocore.model.ServiceModel(data, service_name=SERVICES[service].model_name)
    return model


@functools.cache
def query_error_code(service: str, code: str) -> str:
    """The Query-side code of error ``code``: the ``error.code`` trait of the model's
    exception shape of that name (IAM ``DeleteConflictException`` -> ``DeleteConflict``,
    SQS ``QueueDoesNotExist`` -> ``AWS.SimpleQueueService.NonExistentQueue``), else
    ``code`` itself."""
    spec = SERVICES.get(service)
    if spec is None or QUERY not in spec.protocols:
        return code
    shape = model_data(service, QUERY)["shapes"].get(code)
    if not shape or not shape.get("exception"):
        return code
    query_code: str = shape.get("error", {}).get("code", code)
    return query_code


@functools.cache
def operation_names(service: str) -> frozenset[str]:
    """Names of all operations of ``service`` (the same over every protocol it speaks)."""
    return frozenset(raw_model(service)["operations"])


@functools.cache
def target_prefixes() -> Mapping[str, str]:
    """JSON services by their ``X-Amz-Target`` prefix (``metadata.targetPrefix``)."""
    return {
        model_data(name, JSON)["metadata"]["targetPrefix"]: name
        for name, spec in SERVICES.items()
        if JSON in spec.protocols
    }


@functools.cache
def query_api_versions() -> Mapping[str, str]:
    """Query services by their ``Version`` parameter (the model's ``apiVersion``).

    Raises:
        ValueError: two Query services share an API version (routing would be ambiguous).
    """
    versions: dict[str, str] = {}
    for name, spec in SERVICES.items():
        if QUERY in spec.protocols:
            version = raw_model(name)["metadata"]["apiVersion"]
            if version in versions:
                raise ValueError(f"{name} and {versions[version]} share apiVersion {version}")
            versions[version] = name
    return versions


def json_version(service: str) -> str:
    """The ``x-amz-json-1.x`` version of a JSON service (``metadata.jsonVersion``)."""
    version: str = model_data(service, JSON)["metadata"].get("jsonVersion", "1.0")
    return version


def is_query_compatible(service: str) -> bool:
    """Whether the JSON model carries ``awsQueryCompatible`` (SQS): errors then carry
    the Query-side code in ``x-amzn-query-error`` as botocore expects."""
    return "awsQueryCompatible" in raw_model(service)["metadata"]
