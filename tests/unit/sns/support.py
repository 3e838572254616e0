"""Helpers shared by the SNS unit tests: vector loading and message-attribute shorthand."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def load_vectors(name: str) -> dict[str, Any]:
    """A vector file of this directory, parsed."""
    data: dict[str, Any] = json.loads((HERE / name).read_text(encoding="utf-8"))
    return data


def attributes(shorthand: dict[str, list[Any]]) -> dict[str, dict[str, object]]:
    """``{"k": ["Number", "5"]}`` -> SNS message attributes (String.Array values as lists,
    Binary values as base64 text)."""
    result: dict[str, dict[str, object]] = {}
    for name, (data_type, value) in shorthand.items():
        if data_type.startswith("Binary"):
            result[name] = {"DataType": data_type, "BinaryValue": base64.b64decode(value)}
        elif isinstance(value, list):
            result[name] = {"DataType": data_type, "StringValue": json.dumps(value)}
        else:
            result[name] = {"DataType": data_type, "StringValue": value}
    return result


def case_id(case: dict[str, Any]) -> str:
    return str(case["id"])
