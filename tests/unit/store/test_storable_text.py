"""What text a store can hold (store/base.py): no U+0000, no lone surrogate."""

from __future__ import annotations

import pytest

from cipherpost.store import UnstorableText, is_storable, storable
from cipherpost.store.base import check_text


@pytest.mark.parametrize("text", ["", "ascii", "é", "中文", "😀", "\U0010ffff", "tab\t\nnewline", "\x01\x7f\ufffe"])
def test_valid_unicode_is_storable(text: str) -> None:
    assert is_storable(text)
    assert storable(text) is text


@pytest.mark.parametrize(("text", "kept"), [
    ("\x00", "\ufffd"),
    ("a\x00b", "a\ufffdb"),
    ("lone \ud800 high", "lone \ufffd high"),
    ("lone \udfff low", "lone \ufffd low"),
    ("é\x00😀\udc00", "é\ufffd😀\ufffd"),
])
def test_nul_and_lone_surrogates_are_not(text: str, kept: str) -> None:
    assert not is_storable(text)
    assert storable(text) == kept


def test_check_text_names_the_parameter_and_ignores_other_types() -> None:
    check_text([("blob", b"\x00\xff"), ("n", 0), ("none", None), ("text", "中文")])
    with pytest.raises(UnstorableText, match="'description'"):
        check_text([("id", "k"), ("description", "a\x00b")])
