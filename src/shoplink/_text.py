"""Text folding and script classes: the character-level rules of matching.

Matching is case- and width-insensitive: both keywords and answers are
*folded* (NFKC, then casefold) before the automaton sees them. Folding works
one code point at a time, never across code points, so that every folded
position can be traced back to the original code point that produced it and a
match can be reported in the caller's own offsets.

Word boundaries depend on the script: Latin-like words need a non-word
character on each side, while scripts written without spaces between words
(Han, kana, Hangul, Thai, ...) need nothing.

The Markdown character classes (CommonMark's punctuation and whitespace, and
its flanking rule for a delimiter run) live here too: the Markdown placement
pairs emphasis with them, and the matcher reads an ``_`` run next to a
mention with them (an ``_`` that would open or close emphasis ends a word).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import chain
from typing import overload

import attrs

__all__ = [
    "MD_ASCII_PUNCT",
    "MD_WHITESPACE",
    "Folded",
    "OffsetMap",
    "delimiter_run",
    "fold",
    "fold_char",
    "fold_text",
    "is_cjk",
    "is_md_punct",
    "is_word_char",
    "origin_map",
]


@lru_cache(maxsize=65536)
def fold_char(ch: str) -> str:
    """Fold one code point: NFKC, then casefold.

    Args:
        ch: a string of exactly one code point (lone surrogates included).

    Returns:
        The folded form, one or more code points (``"ß"`` gives ``"ss"``,
        ``"Ｉ"`` gives ``"i"``, ``"İ"`` gives ``"i̇"``).

    Raises:
        TypeError: if ``ch`` is not a one-code-point string.
    """
    if not isinstance(ch, str) or len(ch) != 1:
        raise TypeError(f"fold_char() takes one code point, got {ch!r}")
    folded = unicodedata.normalize("NFKC", ch).casefold()
    # No code point folds to nothing today, but if a future Unicode version
    # made one, keeping it would preserve the invariant that every original
    # code point yields at least one folded one (see ``fold``).
    return folded or ch


class _FoldTable(dict[int, str]):
    """``str.translate`` table that folds code points on first sight.

    Filling lazily keeps start-up free and memory proportional to the
    alphabet actually seen; the size cap keeps text made of many distinct
    code points from growing it without bound (misses past the cap are
    folded but not stored).
    """

    __slots__ = ()

    _LIMIT = 1 << 17

    def __missing__(self, code: int) -> str:
        folded = fold_char(chr(code))
        if len(self) < self._LIMIT:
            self[code] = folded
        return folded


_TABLE = _FoldTable()


def fold_text(text: str) -> str:
    """Return the folded form of ``text`` (each code point folded alone).

    Args:
        text: any string; NUL characters and lone surrogates are allowed.

    Raises:
        TypeError: if ``text`` is not a ``str``.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    if text.isascii():
        # For ASCII, NFKC is the identity and casefold equals lower().
        return text.lower()
    # Per code point, fold is NFKC then casefold, and casefold already works
    # one code point at a time. So only the code points that NFKC changes on
    # their own need a table: replace each one present (a handful of distinct
    # ones per answer, mostly fullwidth punctuation) by its folding, then
    # casefold the whole string, all at C speed. Folded output is a fixed
    # point of folding, so the second casefold leaves it alone.
    if not unicodedata.is_normalized("NFKC", text):
        changers = set(_bmp_nfkc_changers().findall(text))
        if _ASTRAL.search(text):
            # Rare (emoji, math letters): a class of every astral changer
            # would be slow to match, so collect astral code points instead.
            changers.update(_ASTRAL.findall(text))
        for ch in changers:
            text = text.replace(ch, _TABLE[ord(ch)])
    return text.casefold()


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _bmp_class(keep: Callable[[str], bool]) -> re.Pattern[str]:
    """A character class of the BMP code points for which ``keep`` is true.

    Kept to the BMP: ``re`` matches a BMP class from a bitmap, at hundreds
    of MB/s, but tests ranges beyond it one by one.
    """
    ranges: list[list[int]] = []
    for code in range(0x10000):
        if keep(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    body = "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )
    return re.compile(f"[{body}]")


@lru_cache(maxsize=1)
def _bmp_nfkc_changers() -> re.Pattern[str]:
    """The BMP code points that NFKC changes on their own.

    Computed from the running Python's ``unicodedata`` (a few milliseconds,
    once), so it always agrees with :func:`fold_char`.
    """
    return _bmp_class(lambda ch: not unicodedata.is_normalized("NFKC", ch))


@lru_cache(maxsize=1)
def _bmp_expanders() -> re.Pattern[str]:
    """The BMP code points that fold to more than one code point."""
    return _bmp_class(lambda ch: len(fold_char(ch)) > 1)


@lru_cache(maxsize=256)
def _any_of(chars: frozenset[str]) -> re.Pattern[str]:
    return re.compile("|".join(map(re.escape, sorted(chars))))


@attrs.frozen
class OffsetMap(Sequence[int]):
    """Folded position to original index, stored by its exceptions only.

    Most code points fold to exactly one; only the few that fold to several
    (``ß``, ``…``, ``ﬁ``, ``İ``) are recorded, and ``map[i]`` is computed
    from them with one bisect. Behaves as an immutable sequence of ints as
    long as the folded text.

    Attributes:
        size: the length of the folded text.
        starts: folded start of each expanding code point, ascending.
        ends: folded end (exclusive) of each expanding code point.
        sources: original index of each expanding code point.
    """

    size: int
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    sources: tuple[int, ...]

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[int, ...]: ...
    def __getitem__(self, index: int | slice) -> int | tuple[int, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(self.size)))
        if index < 0:
            index += self.size
        if not 0 <= index < self.size:
            raise IndexError("offset map index out of range")
        k = bisect_right(self.starts, index) - 1
        if k < 0:
            return index
        if index < self.ends[k]:
            return self.sources[k]
        return self.sources[k] + 1 + index - self.ends[k]


def origin_map(text: str) -> OffsetMap:
    """Map each folded position of ``text`` back to its original code point.

    Always builds the map; :func:`fold` calls it only when folding changed
    the length (otherwise folded index equals original index).

    Args:
        text: the original string (not the folded one).

    Returns:
        An :class:`OffsetMap` as long as ``fold_text(text)`` whose item ``i``
        is the index in ``text`` of the code point that produced folded
        position ``i``.

    Raises:
        TypeError: if ``text`` is not a ``str``.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    # C-level passes find the (usually few) expanding code points; the
    # Python loop below runs once per expansion, not once per character.
    found = set(_bmp_expanders().findall(text))
    if _ASTRAL.search(text):
        found.update(ch for ch in _ASTRAL.findall(text) if len(_TABLE[ord(ch)]) > 1)
    expanders = frozenset(found)
    starts: list[int] = []
    ends: list[int] = []
    sources: list[int] = []
    extra = 0
    if expanders:
        for match in _any_of(expanders).finditer(text):
            source = match.start()
            start = source + extra
            length = len(_TABLE[ord(match.group())])
            starts.append(start)
            ends.append(start + length)
            sources.append(source)
            extra += length - 1
    return OffsetMap(len(text) + extra, tuple(starts), tuple(ends), tuple(sources))


@attrs.frozen
class Folded:
    """A folded string and the way back to the original offsets.

    Attributes:
        text: the folded string.
        origin: ``None`` if folding kept every length (folded index equals
            original index), else a sequence whose item ``i`` is the index in
            the original text of the code point that produced ``text[i]``.
    """

    text: str
    origin: OffsetMap | None = None

    def to_original(self, start: int, end: int) -> tuple[int, int] | None:
        """Map the folded span ``[start, end)`` to the original text.

        Args:
            start: folded start offset, ``0 <= start < end``.
            end: folded end offset (exclusive), ``end <= len(self.text)``.

        Returns:
            The original ``(start, end)``, or ``None`` if the span starts or
            ends inside the folded form of one original code point.

        Raises:
            IndexError: if the span lies outside the folded text.
        """
        origin = self.origin
        if origin is None:
            if not 0 <= start < end <= len(self.text):
                raise IndexError(f"span [{start}, {end}) outside the folded text")
            return start, end
        first = origin[start]
        last = origin[end - 1]
        if start > 0 and origin[start - 1] == first:
            return None
        if end < len(origin) and origin[end] == last:
            return None
        return first, last + 1


def fold(text: str) -> Folded:
    """Fold ``text`` code point by code point, keeping the offset map.

    Args:
        text: any string; NUL characters and lone surrogates are allowed.

    Returns:
        A :class:`Folded` whose ``origin`` is ``None`` in the common case
        where every code point folded to exactly one.

    Raises:
        TypeError: if ``text`` is not a ``str``.
    """
    folded = fold_text(text)
    # Every code point folds to at least one code point, so equal lengths
    # mean every code point folded to exactly one: no map needed.
    if len(folded) == len(text):
        return Folded(folded, None)
    return Folded(folded, origin_map(text))


# Half-open code point ranges [start, end) flattened into one sorted tuple, so
# that membership is one bisect: an odd insertion point means "inside".
_CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0F00),  # Thai, Lao
    (0x1000, 0x10A0),  # Myanmar
    (0x1100, 0x1200),  # Hangul Jamo
    (0x1780, 0x1800),  # Khmer
    (0x19E0, 0x1A00),  # Khmer Symbols
    (0x2E80, 0x2FE0),  # CJK Radicals Supplement, Kangxi Radicals
    (0x3005, 0x3008),  # 々 〆 〇
    (0x3021, 0x302A),  # Hangzhou numerals
    (0x3031, 0x3036),  # kana repeat marks
    (0x3038, 0x303D),  # 〸〹〺〻〼
    (0x3040, 0x3100),  # Hiragana, Katakana
    (0x3100, 0x3130),  # Bopomofo
    (0x3130, 0x3190),  # Hangul Compatibility Jamo
    (0x31A0, 0x31C0),  # Bopomofo Extended
    (0x31F0, 0x3200),  # Katakana Phonetic Extensions
    (0x3400, 0x4DC0),  # CJK Unified Ideographs Extension A
    (0x4E00, 0xA000),  # CJK Unified Ideographs
    (0xA960, 0xA980),  # Hangul Jamo Extended-A
    (0xA9E0, 0xAA00),  # Myanmar Extended-B
    (0xAA60, 0xAA80),  # Myanmar Extended-A
    (0xAC00, 0xD800),  # Hangul Syllables, Hangul Jamo Extended-B
    (0xF900, 0xFB00),  # CJK Compatibility Ideographs
    (0xFF66, 0xFFA0),  # Halfwidth Katakana
    (0xFFA0, 0xFFDD),  # Halfwidth Hangul
    (0x116D0, 0x11700),  # Myanmar Extended-C
    (0x1AFF0, 0x1B170),  # Kana Extended-B, Kana Supplement, Kana Extended-A, Small Kana
    (0x20000, 0x2FA20),  # CJK Extensions B-F, I; Compatibility Ideographs Supplement
    (0x30000, 0x33480),  # CJK Extensions G, H, J
)
_CJK_BOUNDS: tuple[int, ...] = tuple(chain.from_iterable(_CJK_RANGES))


def is_cjk(ch: str) -> bool:
    """Tell whether ``ch`` belongs to a script written without word spaces.

    Covers Han (unified and compatibility ideographs, radicals), Hiragana,
    Katakana (halfwidth too), Hangul, Bopomofo, Thai, Lao, Khmer and Myanmar.
    Matches in these scripts need no word boundary.

    Args:
        ch: a string of exactly one code point.

    Raises:
        TypeError: if ``ch`` is not a one-code-point string.
    """
    code = ord(ch)
    if code < 0x0E00:
        return False
    return bisect_right(_CJK_BOUNDS, code) & 1 == 1


def is_word_char(ch: str) -> bool:
    """Tell whether ``ch`` is part of a space-separated word.

    A word character is a letter, digit, ``_`` or combining mark (Unicode
    category ``M*``; a mark continues the word of its base letter) that is
    not in a script :func:`is_cjk` covers.

    Args:
        ch: a string of exactly one code point.

    Raises:
        TypeError: if ``ch`` is not a one-code-point string.
    """
    if ch.isascii():
        return ch.isalnum() or ch == "_"
    if is_cjk(ch):
        return False
    return ch.isalnum() or unicodedata.category(ch)[0] == "M"


# --------------------------------------------------------------------------
# CommonMark character classes, as markdown-it-py 4 defines them

MD_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
"""ASCII punctuation: what a backslash may escape."""

MD_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \xa0\u1680\u202f\u205f\u3000" + "".join(chr(c) for c in range(0x2000, 0x200B))
)
"""Unicode whitespace as markdown-it's ``isWhiteSpace`` has it."""


def is_md_punct(ch: str) -> bool:
    """CommonMark 0.31's punctuation: ASCII punctuation or Unicode ``P*`` / ``S*``.

    CJK punctuation (``，。：「」``) and symbols (``￥``, ``™``) count; Han
    characters do not.
    """
    return ch in MD_ASCII_PUNCT or unicodedata.category(ch).startswith(("P", "S"))


def delimiter_run(marker: str, last: str, nxt: str) -> tuple[bool, bool]:
    """``(can open, can close)`` for a run of ``marker`` between ``last`` and ``nxt``.

    CommonMark's left- and right-flanking rule (markdown-it's
    ``scanDelims``). ``last`` and ``nxt`` are the characters before and
    after the run; pass a space for the start or end of the text or line.
    ``_`` is stricter than ``*`` and ``~``: a run flanking on both sides
    (``snake_case``) opens only after punctuation and closes only before it,
    so an intraword ``_`` is never emphasis.
    """
    last_p, next_p = is_md_punct(last), is_md_punct(nxt)
    last_w, next_w = last in MD_WHITESPACE, nxt in MD_WHITESPACE
    left = not (next_w or (next_p and not (last_w or last_p)))
    right = not (last_w or (last_p and not (next_w or next_p)))
    can_split = marker != "_"
    can_open = left and (can_split or not right or last_p)
    can_close = right and (can_split or not left or next_p)
    return can_open, can_close
