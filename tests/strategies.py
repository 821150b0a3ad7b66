"""Hypothesis strategies for shoplink's tests: words, keyword sets, answers.

The alphabets are deliberately small so that random keywords and random
texts collide often (a random text rarely contains a random keyword
otherwise), and they include the characters whose folding changes length or
needs care: ``ß`` (``ss``), ``ﬁ`` (``fi``), ``İ`` (``i̇``), fullwidth
letters, combining marks.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from hypothesis import strategies as st

__all__ = [
    "CJK_ALPHABET",
    "LATIN_ALPHABET",
    "SEPARATORS",
    "answers",
    "cjk_words",
    "keyword_sets",
    "latin_words",
    "mixed_words",
    "near_miss_of",
    "variant_of",
    "words",
]

CJK_ALPHABET = "小米手机壳套面膜理肤泉修复敏感肌推荐好用"
"""Han characters from the product-name examples (one keyword family)."""

LATIN_ALPHABET = "abcefinost5"
"""Latin letters and a digit; ``s``, ``f``, ``i`` interact with ``ß ﬁ İ``."""

SEPARATORS = ("", " ", "  ", "，", "。", ", ", "-", "_", "+", "\n", "（", ")", "\u3000")
"""What may sit between words in an answer, including nothing at all."""

# Characters that fold to something else (or carry marks), to sprinkle into
# keywords and texts alike.
_SPECIALS = ("ß", "ﬁ", "İ", "ı", "\u0301", "…", "Ⅻ", "①", "ｓ", "Ｓ", "ﬀ", "ſ")


def cjk_words(min_size: int = 1, max_size: int = 4) -> st.SearchStrategy[str]:
    """Words made of Han characters from :data:`CJK_ALPHABET`."""
    return st.text(alphabet=CJK_ALPHABET, min_size=min_size, max_size=max_size)


def latin_words(min_size: int = 1, max_size: int = 5) -> st.SearchStrategy[str]:
    """Lowercase Latin words (letters and a digit), sometimes with a special."""
    plain = st.text(alphabet=LATIN_ALPHABET, min_size=min_size, max_size=max_size)
    special = st.builds(
        lambda a, s, b: a + s + b,
        st.text(alphabet=LATIN_ALPHABET, max_size=2),
        st.sampled_from(_SPECIALS),
        st.text(alphabet=LATIN_ALPHABET, max_size=2),
    )
    return st.one_of(plain, plain, special)


def mixed_words() -> st.SearchStrategy[str]:
    """Latin and Han joined, product-name style: ``b5面膜``, ``小米 14``, ``c++``."""
    return st.one_of(
        st.builds(lambda a, b: a + b, latin_words(max_size=3), cjk_words(max_size=3)),
        st.builds(lambda a, b: a + b, cjk_words(max_size=3), latin_words(max_size=3)),
        st.builds(lambda a, b: a + " " + b, latin_words(max_size=3), latin_words(max_size=2)),
        st.builds(lambda a: a + "++", latin_words(max_size=2)),
    )


def words() -> st.SearchStrategy[str]:
    """Any kind of word: Han, Latin or mixed."""
    return st.one_of(cjk_words(), latin_words(), mixed_words())


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if 0x21 <= ord(c) <= 0x7E else c for c in text)


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", c).casefold() for c in text)


_CASE_WIDTH: tuple[Callable[[str], str], ...] = (
    lambda c: c,
    str.upper,
    _fullwidth,
    lambda c: _fullwidth(c.upper()),
)


@st.composite
def variant_of(draw: st.DrawFn, word: str) -> str:
    """``word`` with each character's case and width varied at random.

    The variant always folds to the same string as ``word``.

    ``ss`` may become ``ß`` and ``fi`` may become ``ﬁ``: the same word once
    folded, but of another length.
    """
    if "ss" in word and draw(st.booleans()):
        word = word.replace("ss", "ß", 1)
    if "fi" in word and draw(st.booleans()):
        word = word.replace("fi", "ﬁ", 1)
    out = []
    for ch in word:
        changed = draw(st.sampled_from(_CASE_WIDTH))(ch)
        # Some case maps do not survive folding ("ı".upper() is "I", which
        # folds to "i"): keep such characters as they are.
        out.append(changed if _fold(changed) == _fold(ch) else ch)
    return "".join(out)


_NEAR_MISSES = {"s": "ß", "f": "ﬁ", "i": "İ", "e": "é", "a": "ﬀ"}


@st.composite
def near_miss_of(draw: st.DrawFn, word: str) -> str:
    """``word`` with one letter swapped for a character whose folding is longer.

    ``as`` becomes ``aß`` (folded ``ass``), ``if`` becomes ``iﬁ``: the keyword
    then occurs in the folded text but ends or starts inside the folding of
    one code point, which must not count as a match.
    """
    spots = [i for i, ch in enumerate(word) if ch in _NEAR_MISSES]
    if not spots:
        return word
    i = draw(st.sampled_from(spots))
    return word[:i] + _NEAR_MISSES[word[i]] + word[i + 1 :]


def keyword_sets(max_size: int = 8) -> st.SearchStrategy[list[str]]:
    """Lists of keywords (possibly with folded duplicates), never blank."""
    return st.lists(words(), min_size=1, max_size=max_size).flatmap(
        lambda kws: st.lists(
            st.one_of(st.sampled_from(kws), st.sampled_from(kws).flatmap(variant_of)),
            min_size=len(kws),
            max_size=len(kws) + 2,
        ).map(lambda more: kws + more)
    )


@st.composite
def answers(draw: st.DrawFn, keywords: list[str], max_pieces: int = 12) -> str:
    """An answer-like text that often mentions ``keywords`` in varied forms.

    Pieces are keyword variants, random words and special characters, joined
    by random separators (often none, so words run into each other).
    """
    piece = st.one_of(
        st.sampled_from(keywords).flatmap(variant_of),
        st.sampled_from(keywords).flatmap(near_miss_of),
        words(),
        st.sampled_from(_SPECIALS),
    )
    # Mostly real separators, so that Latin mentions pass their boundary
    # checks; sometimes none, so that words run into each other.
    separator = st.one_of(st.sampled_from(SEPARATORS[1:]), st.sampled_from(SEPARATORS))
    pieces = draw(st.lists(piece, min_size=1, max_size=max_pieces))
    out = []
    for p in pieces:
        out.append(p)
        out.append(draw(separator))
    return "".join(out)
