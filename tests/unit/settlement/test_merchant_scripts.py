"""Mixed-script words in merchant names: words in one script are never flagged (Latin with its
accents, Cyrillic, Han with kana), a look-alike letter of another script inside a word always
is, and digits or punctuation belong to no script."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from settlement.merchants.scripts import mixed_script_word

LATIN = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéñüÀ"),
    min_size=1,
    max_size=12,
)
CYRILLIC = st.text(
    st.sampled_from("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГД"), min_size=1, max_size=12
)
GREEK_LOOKALIKES = st.sampled_from(
    "\u0391\u0392\u0395\u039f\u03a1\u03bf"
)  # capital alpha, beta, epsilon, omicron, rho; small omicron


@given(
    st.lists(st.one_of(LATIN, CYRILLIC, st.text("0123456789", min_size=1)), min_size=1, max_size=5)
)
def test_words_each_in_one_script_pass(words: list[str]) -> None:
    assert mixed_script_word(" ".join(words)) is None
    assert mixed_script_word("-".join(words)) is None


@given(LATIN, GREEK_LOOKALIKES, st.integers(0, 12))
def test_a_greek_look_alike_inside_a_latin_word_is_flagged(
    word: str, intruder: str, at: int
) -> None:
    mixed = word[:at] + intruder + word[at:]
    assert mixed_script_word(f"Warung {mixed} 2") == mixed


def test_han_and_kana_are_one_script() -> None:
    assert mixed_script_word("東京タワー") is None
