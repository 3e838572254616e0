"""Wildcard matching for Action, Resource and string/ARN condition values.

IAM User Guide, "IAM JSON policy elements": ``*`` matches any run of characters and ``?``
any single character. Action names are case-insensitive, resources and condition values
case-sensitive (except the ``...IgnoreCase`` operators). For ``ArnEquals``/``ArnLike`` "each
of the six colon-delimited components of the ARN is checked separately", so in ARN mode a
wildcard in the first five components never crosses a colon; the last component (the
resource, which may itself contain colons) is matched as a whole.

Patterns are compiled once, when the policy is parsed; a pattern holding a policy variable
is compiled per resolved value, through a bounded cache.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cipherpost.policy.variables import Facts, Lit, Resolved, Token, Var, joined, resolve, tokenize

#: A compiled test of one request value.
ValueTest = Callable[[str], bool]

_ARN_FIXED_COLONS = 5  # arn:partition:service:region:account:resource


def _always(_value: str) -> bool:
    return True


def _has_wildcard(tokens: Resolved) -> bool:
    return any(isinstance(token, str) and ("*" in token or "?" in token) for token in tokens)


def _colons(tokens: Resolved) -> int:
    return sum((token.text if isinstance(token, Lit) else token).count(":") for token in tokens)


def _regex(tokens: Resolved, *, arn: bool) -> str:
    parts: list[str] = []
    segment = 0
    for token in tokens:
        if isinstance(token, Lit):
            parts.append(re.escape(token.text))
            segment += token.text.count(":")
            continue
        for char in token:
            within = arn and segment < _ARN_FIXED_COLONS
            if char == "*":
                parts.append("[^:]*" if within else ".*")
            elif char == "?":
                parts.append("[^:]" if within else ".")
            else:
                parts.append(re.escape(char))
                segment += char == ":"
    return "".join(parts)


@functools.lru_cache(maxsize=8192)
def compile_tokens(tokens: Resolved, *, wildcards: bool, ignore_case: bool, arn: bool) -> ValueTest:
    """Compile resolved tokens into a test of one request value.

    :param wildcards: whether ``*``/``?`` in raw text are wildcards (``...Like``, Action,
        Resource) or plain characters (``...Equals``).
    :param ignore_case: case-insensitive comparison (actions, ``...IgnoreCase`` operators).
    :param arn: component-wise ARN matching; used only when the pattern has all six
        components (a shorter pattern such as ``arn:aws:sns:*`` is matched as a whole).
    """
    if not (wildcards and _has_wildcard(tokens)):
        literal = joined(tokens)
        if ignore_case:
            folded = literal.casefold()
            return lambda value: value.casefold() == folded
        return lambda value: value == literal
    if tokens == ("*",):
        return _always
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    compiled = re.compile(_regex(tokens, arn=arn and _colons(tokens) >= _ARN_FIXED_COLONS), flags)
    return lambda value: compiled.fullmatch(value) is not None


def _static(tokens: tuple[Token, ...]) -> Resolved | None:
    out: list[str | Lit] = []
    for token in tokens:
        if isinstance(token, Var):
            return None
        out.append(token)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Matcher:
    """One policy pattern (an Action, a Resource, or a condition value), precompiled."""

    source: str
    """The pattern as written in the policy."""
    variables: bool = False
    """Whether ``${...}`` is substituted (policy Version 2012-10-17)."""
    wildcards: bool = True
    ignore_case: bool = False
    arn: bool = False
    _tokens: tuple[Token, ...] = field(init=False, repr=False, compare=False)
    _test: ValueTest | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tokens = tokenize(self.source, variables=self.variables)
        static = _static(tokens)
        test = None if static is None else self._compile(static)
        object.__setattr__(self, "_tokens", tokens)
        object.__setattr__(self, "_test", test)

    def _compile(self, tokens: Resolved) -> ValueTest:
        return compile_tokens(tokens, wildcards=self.wildcards, ignore_case=self.ignore_case, arn=self.arn)

    @property
    def is_static(self) -> bool:
        """Whether the pattern needs no request context (no policy variables)."""
        return self._test is not None

    def matches(self, value: str, facts: Facts) -> bool:
        """Whether ``value`` matches, substituting variables from ``facts`` if needed."""
        if self._test is not None:
            return self._test(value)
        resolved = resolve(self._tokens, facts)
        return resolved is not None and self._compile(resolved)(value)

    def literal(self, facts: Facts) -> str | None:
        """The pattern's text with variables substituted (``None`` if one is unresolvable)."""
        resolved = resolve(self._tokens, facts)
        return None if resolved is None else joined(resolved)


def any_matches(matchers: Iterable[Matcher], value: str, facts: Facts) -> bool:
    """Whether any of ``matchers`` matches ``value``."""
    return any(matcher.matches(value, facts) for matcher in matchers)


#: A compiled test of one request value against a list of patterns (ORed).
SetTest = Callable[[str, Facts], bool]


def compile_any(matchers: tuple[Matcher, ...]) -> SetTest:
    """One test for a list of patterns, as one regular expression when none holds a variable.

    Used for a statement's Action and Resource lists so that evaluation costs one regex
    call per element, not one per pattern.
    """
    if not matchers or not all(matcher.is_static and not matcher.arn for matcher in matchers):
        return lambda value, facts: any_matches(matchers, value, facts)
    if len(matchers) == 1:
        single = matchers[0]._test
        assert single is not None
        return lambda value, _facts: single(value)
    if any(matcher.source == "*" and matcher.wildcards for matcher in matchers):
        return lambda _value, _facts: True
    sources = [_regex(_static(m._tokens) or (), arn=False) if m.wildcards else re.escape(m.source) for m in matchers]
    flags = re.DOTALL | (re.IGNORECASE if matchers[0].ignore_case else 0)
    compiled = re.compile("|".join(f"(?:{source})" for source in sources), flags)
    return lambda value, _facts: compiled.fullmatch(value) is not None
