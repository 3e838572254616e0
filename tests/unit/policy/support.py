"""Helpers shared by the policy tests: loading vector files and building inputs from them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cipherpost.policy import Grant, Policy, Principal, parse_policy

VECTORS = Path(__file__).parent / "vectors"


def load_cases(name: str) -> list[Any]:
    """The cases of ``vectors/<name>.json`` as pytest params, each with its id."""
    data = json.loads((VECTORS / f"{name}.json").read_text())
    return [pytest.param(case, id=case["id"]) for case in data["cases"]]


def load_fixtures(name: str) -> dict[str, Any]:
    """The named policies of a vector file."""
    fixtures: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text()).get("policies", {})
    return fixtures


def principal_from(spec: Any) -> Principal:
    """A Principal from a vector's ``principal`` value."""
    if spec == "anonymous":
        return Principal()
    if isinstance(spec, str):
        return Principal.from_arn(spec)
    if "service" in spec:
        return Principal.for_service(spec["service"])
    return Principal.from_arn(spec["arn"], role_arn=spec.get("role_arn"), user_id=spec.get("user_id"))


def policy_from(value: Any, fixtures: dict[str, Any], label: str) -> Policy:
    """A parsed policy from an inline document or an ``@name`` fixture reference."""
    if isinstance(value, str) and value.startswith("@"):
        label, value = value[1:], fixtures[value[1:]]
    return parse_policy(json.dumps(value)).named(label)


def grant_from(spec: dict[str, Any]) -> Grant:
    """A Grant from a vector's grant object."""
    return Grant(
        grantee=spec["grantee"],
        operations=frozenset(spec["operations"]),
        grant_id=spec.get("grant_id", ""),
        encryption_context_equals=spec.get("encryption_context_equals"),
        encryption_context_subset=spec.get("encryption_context_subset"),
    )
