"""The keyword matcher: Aho-Corasick over folded text, leftmost-longest.

This is the only module that imports :mod:`ahocorasick` (pyahocorasick, which
has no type stubs); everything else sees :class:`KeywordMatcher` and
:class:`Hit`.

How :meth:`KeywordMatcher.find` works:

1. Fold the text (:func:`shoplink._text.fold_text`): case- and
   width-insensitive, one code point at a time.
2. ``Automaton.iter()`` reports every occurrence of every keyword, overlapping
   ones included. ``iter_long()`` is not used: it misses matches (keywords
   ``小米手机壳`` and ``手机`` on ``小米手机`` give nothing) and cannot be fed
   chunk by chunk.

   pyahocorasick finds a node's child by a linear scan of its children, so
   its cost per character grows with the fan-out of the trie (the root has
   one child per distinct first character of the keywords: thousands for a
   Chinese catalog).
3. Each occurrence is kept only if it covers whole original code points and
   passes the word-boundary check at each end (see :class:`KeywordMatcher`);
   only the two neighbouring original characters are looked at.
4. :func:`select_leftmost_longest` picks the final hits from the sorted
   candidates; a streaming matcher can reuse it unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

import ahocorasick
import attrs

from shoplink._text import fold_text, is_word_char, origin_map

__all__ = ["Hit", "KeywordMatcher", "select_leftmost_longest"]


@attrs.frozen
class Hit:
    """One keyword occurrence in an original (unfolded) text.

    Attributes:
        start: code point offset in the original text where the hit begins.
        end: code point offset just past the hit (exclusive).
        key: the keyword's id, an index into :attr:`KeywordMatcher.keywords`.
    """

    start: int
    end: int
    key: int


def _candidate_order(hit: Hit) -> tuple[int, int, int]:
    return (hit.start, -hit.end, hit.key)


def select_leftmost_longest(candidates: Iterable[Hit]) -> list[Hit]:
    """Pick non-overlapping hits, leftmost first, then longest.

    Of overlapping candidates the one that starts first wins, and among those
    starting together the longest; selection then resumes at its end.

    For streaming: a hit chosen from the candidates seen so far is final once
    no candidate starting at or before it can still grow past the end of the
    text received so far (that is, once the text received extends at least
    ``longest keyword - 1`` code points past the hit's start); the undecided
    tail is re-selected when more text arrives.

    Args:
        candidates: boundary-valid hits sorted by ``(start, -end, key)``, as
            :meth:`KeywordMatcher.find_candidates` returns them.

    Returns:
        The chosen hits, in text order.
    """
    chosen: list[Hit] = []
    position = 0
    for hit in candidates:
        # Sorted by start, then longest first: the first candidate at or
        # after ``position`` is the leftmost-longest one.
        if hit.start >= position:
            chosen.append(hit)
            position = hit.end
    return chosen


class KeywordMatcher:
    """Find keywords in text: folded, word-bounded, leftmost-longest.

    Keywords are folded (NFKC, then casefold, per code point) and
    deduplicated; the distinct folded keywords get ids ``0..n-1`` in the order
    they were first seen. The matcher holds no mutable state after
    construction, so one instance may be shared by many threads; it can be
    pickled.

    Boundary rules, checked on the original text: if a keyword's first
    (folded) character is a word character (:func:`shoplink._text.is_word_char`),
    the character before the hit must not be one; likewise at the end. So
    ``cream`` does not match in ``screaming`` but ``面膜`` matches in
    ``敏感肌面膜推荐``, and ``B5面膜`` matches in ``推荐B5面膜`` but not in
    ``AB5面膜``.

    Args:
        keywords: the keywords, in any case or width.

    Raises:
        ValueError: if a keyword is empty or only whitespace after folding
            (the message names it).
        TypeError: if a keyword is not a ``str``.
    """

    __slots__ = ("_automaton", "_ids", "keywords")

    keywords: tuple[str, ...]
    """The distinct folded keywords; a keyword's id is its index here."""

    def __init__(self, keywords: Iterable[str]) -> None:
        ids: dict[str, int] = {}
        automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        for keyword in keywords:
            folded = fold_text(keyword)
            if not folded.strip():
                raise ValueError(f"keyword {keyword!r} is empty or blank after folding")
            if folded in ids:
                continue
            key = len(ids)
            ids[folded] = key
            # Everything find() needs per occurrence rides on the automaton
            # value, so a hit costs no dictionary lookup.
            automaton.add_word(
                folded,
                (key, len(folded), is_word_char(folded[0]), is_word_char(folded[-1])),
            )
        if ids:
            automaton.make_automaton()
        self._automaton: Any = automaton if ids else None
        self._ids = ids
        self.keywords = tuple(ids)

    def __len__(self) -> int:
        """The number of distinct folded keywords."""
        return len(self.keywords)

    def __repr__(self) -> str:
        return f"<KeywordMatcher with {len(self.keywords)} keywords>"

    def __getstate__(self) -> tuple[Any, dict[str, int]]:
        return (self._automaton, self._ids)

    def __setstate__(self, state: tuple[Any, dict[str, int]]) -> None:
        self._automaton, self._ids = state
        self.keywords = tuple(self._ids)

    def key_of(self, keyword: str) -> int | None:
        """Return the id of ``keyword`` (folded first), or ``None`` if unknown.

        Args:
            keyword: a keyword in any case or width.

        Raises:
            TypeError: if ``keyword`` is not a ``str``.
        """
        return self._ids.get(fold_text(keyword))

    def find(self, text: str) -> list[Hit]:
        """Return the final matches in ``text``: non-overlapping, leftmost-longest.

        Args:
            text: the original text (any ``str``, NUL and lone surrogates
                included).

        Returns:
            Hits in text order, with offsets into ``text``.

        Raises:
            TypeError: if ``text`` is not a ``str``.
        """
        return select_leftmost_longest(self.find_candidates(text))

    def find_candidates(self, text: str) -> list[Hit]:
        """Return every aligned, boundary-valid occurrence, overlapping ones too.

        An occurrence is aligned when its folded span covers whole original
        code points (keyword ``s`` never matches half of ``ß``).

        Args:
            text: the original text.

        Returns:
            Hits sorted by ``(start, -end, key)``.

        Raises:
            TypeError: if ``text`` is not a ``str``.
        """
        folded = fold_text(text)
        if self._automaton is None or not folded:
            return []
        hits = list(self._iter_candidates(text, folded))
        hits.sort(key=_candidate_order)
        return hits

    def _iter_candidates(self, text: str, folded: str) -> Iterator[Hit]:
        occurrences: Iterator[tuple[int, tuple[int, int, bool, bool]]]
        occurrences = self._automaton.iter(folded)
        size = len(text)
        if len(folded) == size:
            # Every code point folded to exactly one: offsets carry over.
            for last, (key, length, left, right) in occurrences:
                start = last - length + 1
                end = last + 1
                if left and start > 0 and is_word_char(text[start - 1]):
                    continue
                if right and end < size and is_word_char(text[end]):
                    continue
                yield Hit(start, end, key)
            return
        # Build the offset map only once there is an occurrence to map.
        found = next(occurrences, None)
        if found is None:
            return
        origin = origin_map(text)
        folded_size = len(origin)
        for last, (key, length, left, right) in chain((found,), occurrences):
            first = last - length + 1
            start = origin[first]
            end = origin[last] + 1
            # Reject spans that begin or end inside one code point's folding.
            if first > 0 and origin[first - 1] == start:
                continue
            if last + 1 < folded_size and origin[last + 1] == end - 1:
                continue
            if left and start > 0 and is_word_char(text[start - 1]):
                continue
            if right and end < size and is_word_char(text[end]):
                continue
            yield Hit(start, end, key)
