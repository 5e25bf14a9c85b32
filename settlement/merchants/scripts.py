"""Which script a word's letters are written in: a name whose word mixes scripts (a Greek
capital rho for the P of a Latin "Pecel") looks like another merchant's and is refused.

Unicode's own Script property is not in ``unicodedata``; a letter's character name starts with
its script for every script a merchant name in Indonesia is written in (``LATIN SMALL LETTER
A``, ``GREEK CAPITAL LETTER RHO``, ``CYRILLIC ...``, ``ARABIC LETTER ...``, ``JAVANESE ...``),
which is what this compares. Digits, marks and punctuation belong to no script here.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["mixed_script_word", "script_of"]

_WORD = re.compile(r"\w+")
_CJK = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL")
"""Scripts written together in one word (Han with kana, Hangul): one script here."""


def script_of(char: str) -> str | None:
    """The script of a letter (the first word of its name), None for anything else."""
    if not unicodedata.category(char).startswith("L"):
        return None
    script = unicodedata.name(char, "UNKNOWN").partition(" ")[0]
    return "CJK" if script.startswith(_CJK) else script


def mixed_script_word(text: str) -> str | None:
    """The first word of ``text`` whose letters come from more than one script, else None."""
    for found in _WORD.finditer(text):
        word = found.group()
        scripts = {script_of(char) for char in word} - {None}
        if len(scripts) > 1:
            return word
    return None
