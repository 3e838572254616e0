"""Query protocol requests: form-encoded parameters read into a dict, driven by the model.

The flat parameters (``MessageAttribute.1.Value.StringValue=x``) are first folded into a
tree on their dots, then the operation's input plan walks that tree: structures by member
name, lists under ``member`` (or the element's ``locationName``) or, when flattened,
directly under the member's name, maps under ``entry`` with ``key``/``value`` (or their
``locationName``), indices ``1..N``. Unknown parameters are ignored, as AWS does; the
values read are checked against the model's enums and patterns.
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeAlias
from urllib.parse import unquote_plus

from cipherpost.protocol import scalars
from cipherpost.protocol.http import HttpRequest
from cipherpost.protocol.shapes import EXPECTED, Plan
from cipherpost.protocol.validation import Problems

#: A parameter tree: ``{"MessageAttribute": {"1": {"Name": "a", ...}}}``. A name that
#: is both a value and a prefix (``Tags=`` and ``Tags.1=x``) keeps its value under ``""``.
Tree: TypeAlias = dict[str, "str | Tree"]

FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"

_READERS: Final[Mapping[str, Callable[[str], Any]]] = {
    "integer": scalars.read_integer,
    "float": scalars.read_float,
    "boolean": scalars.read_boolean,
    "timestamp": scalars.read_timestamp_text,
    "blob": scalars.read_blob,
}


class FormError(ValueError):
    """The form or query string is not valid ``application/x-www-form-urlencoded`` UTF-8."""


def decode_form(text: str) -> dict[str, str]:
    """Name/value pairs of a form; a field without ``=`` has the empty value.

    Raises:
        FormError: a percent-escape decodes to bytes that are not UTF-8.
    """
    params: dict[str, str] = {}
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in field or "+" in field:  # most fields need no unquoting: skip the cost
            try:
                name, value = unquote_form(name), unquote_form(value)
            except UnicodeDecodeError as exc:
                raise FormError(f"Parameter {name[:64]!r} is not valid UTF-8") from exc
        params[name] = value
    return params


def unquote_form(value: str) -> str:
    """``urllib.parse.unquote_plus(value, errors="strict")``, in C: each ``%XX`` becomes a
    ``\\xXX`` escape that ``codecs.escape_decode`` turns into its byte, with every backslash
    doubled first so no other escape exists (a JSON message is mostly escapes, and urllib
    handles each in Python). What escape_decode refuses (an invalid escape such as ``%zz``,
    which urllib keeps as it is) goes to urllib.

    Raises:
        UnicodeDecodeError: the escapes decode to bytes that are not UTF-8.
    """
    try:
        data = value.encode("utf-8").replace(b"+", b" ")
        if b"%" in data:
            data = codecs.escape_decode(data.replace(b"\\", b"\\\\").replace(b"%", b"\\x"))[0]
    except (UnicodeEncodeError, ValueError):
        return unquote_plus(value, errors="strict")
    return data.decode("utf-8")


def is_form(request: HttpRequest) -> bool:
    """Whether the body is a form: POSTed as form content, or untyped (old clients)."""
    content_type = request.headers.get("content-type")
    if content_type is None:
        return request.method == "POST"
    return _is_form_type(content_type)


@functools.lru_cache(maxsize=64)
def _is_form_type(content_type: str) -> bool:
    """Whether a Content-Type value names a form (a pure function of the value: clients
    send one or two distinct values, so the split/strip/lower runs once per value)."""
    return content_type.split(";", 1)[0].strip().lower() == FORM_CONTENT_TYPE


def request_params(request: HttpRequest) -> dict[str, str]:
    """The Query parameters of a request: its query string, then its form body.

    Raises:
        FormError: the query string or body is not UTF-8 form encoding.
    """
    params = decode_form(request.query_string) if request.query_string else {}
    if request.body and is_form(request):
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormError("The request body is not valid UTF-8") from exc
        params.update(decode_form(text))
    return params


def build_tree(params: Mapping[str, str]) -> Tree:
    """Fold dotted parameter names into a tree."""
    root: Tree = {}
    for name, value in params.items():
        node = root
        *parents, last = name.split(".")
        for part in parents:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif isinstance(child, str):
                child = node[part] = {"": child}
            node = child
        existing = node.get(last)
        if isinstance(existing, dict):
            existing[""] = value
        else:
            node[last] = value
    return root


def parse_params(plan: Plan | None, params: Mapping[str, str], problems: Problems) -> dict[str, Any]:
    """The operation input read from Query ``params``; problems are added to ``problems``."""
    if plan is None or not plan.members:
        return {}  # no members: every parameter would be skipped as unknown, none is required
    return _structure(plan, build_tree(params), "", problems)


def _structure(plan: Plan, node: Tree, prefix: str, problems: Problems) -> dict[str, Any]:
    """Walks the parameters present (unknown ones are skipped), then the required."""
    result: dict[str, Any] = {}
    members = plan.by_qname
    for qname, raw in node.items():
        member = members.get(qname)
        if member is None:
            continue
        value = _value(member.plan, raw, prefix + qname, problems)
        if value is not None:
            enum = member.plan.enum
            if enum and value not in enum:
                problems.bad_enum(prefix + qname, value, enum)
            result[member.name] = value
    if plan.required and not plan.required <= result.keys():
        for name in sorted(plan.required - result.keys()):
            member = plan.by_name[name]
            if member.qname not in node:
                problems.missing(prefix + member.qname)
    return result


def _value(plan: Plan, raw: str | Tree, path: str, problems: Problems) -> Any:
    """One value of any kind; ``None`` when it is unreadable (a problem is recorded)."""
    kind = plan.kind
    if kind == "structure":
        if isinstance(raw, dict):
            return _structure(plan, raw, path + ".", problems)
        return {} if raw == "" else _bad(problems, path, raw, kind)
    if kind == "list":
        return _list(plan, raw, path, problems)
    if kind == "map":
        return _map(plan, raw, path, problems)
    text = raw.get("") if isinstance(raw, dict) else raw
    if text is None or isinstance(text, dict):
        return _bad(problems, path, "", kind)
    reader = _READERS.get(kind)
    if reader is None:
        if plan.pattern is not None and not plan.pattern.matches(text):
            problems.bad_pattern(path, text, plan.pattern.text)
        return text
    try:
        return reader(text)
    except ValueError:
        return _bad(problems, path, text, kind)


def _bad(problems: Problems, path: str, raw: object, kind: str) -> Any:
    """Record an unreadable value; returns ``None``, the "no value" of ``_value``."""
    problems.bad_type(path, raw if isinstance(raw, str) else "...", EXPECTED[kind])
    return None


def _indexed(node: Tree) -> list[tuple[str, str | Tree]]:
    """Children ``1..N`` of a node in numeric order (other children are ignored)."""
    return sorted(((key, child) for key, child in node.items() if key.isascii() and key.isdigit()),
                  key=lambda pair: int(pair[0]))


def _list(plan: Plan, raw: str | Tree, path: str, problems: Problems) -> list[Any] | None:
    if isinstance(raw, str):  # ``Name=`` is how botocore sends an empty list
        return [] if raw == "" else _bad(problems, path, raw, "list")
    assert plan.item is not None
    if not plan.flattened:
        name = plan.item.xml_name or "member"
        path = f"{path}.{name}"
        inner = raw.get(name, {})
        raw = inner if isinstance(inner, dict) else {}
    items = (_value(plan.item, child, f"{path}.{index}", problems) for index, child in _indexed(raw))
    return [item for item in items if item is not None]


def _map(plan: Plan, raw: str | Tree, path: str, problems: Problems) -> dict[str, Any] | None:
    if isinstance(raw, str):
        return {} if raw == "" else _bad(problems, path, raw, "map")
    assert plan.key is not None and plan.value is not None
    if not plan.flattened:
        path += ".entry"
        inner = raw.get("entry", {})
        raw = inner if isinstance(inner, dict) else {}
    key_name = plan.key.xml_name or "key"
    value_name = plan.value.xml_name or "value"
    result: dict[str, Any] = {}
    for index, entry in _indexed(raw):
        entry_path = f"{path}.{index}."
        if not isinstance(entry, dict) or key_name not in entry or value_name not in entry:
            missing = key_name if not isinstance(entry, dict) or key_name not in entry else value_name
            problems.missing(entry_path + missing)
            continue
        key = _value(plan.key, entry[key_name], entry_path + key_name, problems)
        value = _value(plan.value, entry[value_name], entry_path + value_name, problems)
        if key is not None and value is not None:
            result[key] = value
    return result
