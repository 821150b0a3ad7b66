"""The keyword matcher: Aho-Corasick over folded UTF-8, leftmost-longest.

This is the only module that imports :mod:`ahocorasick` (pyahocorasick, which
has no type stubs) and :mod:`ahocorasick_rs`; everything else sees
:class:`KeywordMatcher` and :class:`Hit`.

How :meth:`KeywordMatcher.find` works:

1. Fold the text (:func:`shoplink._text.fold_text`): case- and
   width-insensitive, one code point at a time.
2. Encode the folded text as UTF-8 (``surrogatepass``, so lone surrogates
   survive) and hand the bytes to the backend, which reports every
   occurrence of every keyword, overlapping ones included, by byte end.

   Why bytes: pyahocorasick finds a node's child by a linear scan of its
   children, so its cost per character grows with the fan-out of the trie.
   Over code points the root of a Chinese catalog has one child per distinct
   first character (thousands); over UTF-8 no node has more than 256 and
   the root of a Chinese catalog about a hundred. That made the pyahocorasick
   scan about 15x faster on a 100k-keyword Chinese catalog
   (``benchmarks/README.md``), at three automaton steps per Han character.
   UTF-8 is self-synchronising, so a keyword's bytes can only occur at a
   code point boundary: no false matches, no alignment check needed.

   ``iter_long()`` is not used: it misses matches (keywords ``小米手机壳``
   and ``手机`` on ``小米手机`` give nothing) and cannot be fed chunk by
   chunk. A backend's own leftmost-longest mode is not used either: the
   longest match may fail its word boundary, and must then not hide a
   shorter valid one (``iphone 16`` in ``iPhone 16x`` must still let
   ``iphone`` match).
3. Byte ends become code point ends with one incremental decode of the text
   between consecutive hits (C speed; nothing per character in Python).
   Each occurrence is kept only if it covers whole original code points and
   passes the word-boundary check at each end (see :class:`KeywordMatcher`);
   only the two neighbouring original characters are looked at.
4. :func:`select_leftmost_longest` picks the final hits from the sorted
   candidates; a streaming matcher can reuse it unchanged.

Backends (``KeywordMatcher(..., backend=...)``):

* ``"pyahocorasick"``: always available; its automaton pickles, so a
  compiled index loads without rebuilding.
* ``"ahocorasick_rs"`` (``pip install shoplink[fast]``): a Rust automaton,
  faster to scan; it cannot be pickled, so unpickling rebuilds it from the
  keywords.
* ``"auto"`` (default): ``ahocorasick_rs`` when installed, else
  ``pyahocorasick``.

Both give identical results (``tests/test_matcher.py`` runs the brute-force
reference property against each).
"""

from __future__ import annotations

import importlib.util
from array import array
from collections.abc import Iterable, Iterator
from typing import Any, Final

import ahocorasick
import attrs

from shoplink._text import fold_text, is_word_char, origin_map

__all__ = [
    "BACKENDS",
    "Hit",
    "KeywordMatcher",
    "available_backends",
    "default_backend",
    "select_leftmost_longest",
]

BACKENDS: Final = ("pyahocorasick", "ahocorasick_rs")
"""The matcher backends shoplink knows, fastest-preferred last."""

# Bits of a keyword's edge flags: its first / last folded character is a
# word character, so the neighbouring original character must not be one.
_LEFT: Final = 1
_RIGHT: Final = 2


def available_backends() -> tuple[str, ...]:
    """The backends importable here, in :data:`BACKENDS` order."""
    modules = {"pyahocorasick": "ahocorasick", "ahocorasick_rs": "ahocorasick_rs"}
    return tuple(name for name in BACKENDS if importlib.util.find_spec(modules[name]) is not None)


def default_backend() -> str:
    """The backend ``"auto"`` picks: ``ahocorasick_rs`` if installed."""
    return available_backends()[-1]


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


class _PyAho:
    """pyahocorasick over UTF-8 bytes spelled as a latin-1 ``str``.

    ``KEY_STRING`` automata take ``str``; decoding the UTF-8 bytes as latin-1
    gives a string of code points 0-255, one per byte, at memcpy speed.
    Values are ints (``STORE_INTS``): no Python object per keyword.
    """

    __slots__ = ("automaton",)
    name = "pyahocorasick"

    def __init__(self, patterns: list[bytes]) -> None:
        automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS, ahocorasick.KEY_STRING)
        for key, pattern in enumerate(patterns):
            automaton.add_word(pattern.decode("latin-1"), key)
        automaton.make_automaton()
        self.automaton: Any = automaton

    def ends(self, raw: bytes) -> Iterator[tuple[int, int]]:
        """``(byte end, key)`` of every occurrence, overlapping ones too."""
        for last, key in self.automaton.iter(raw.decode("latin-1")):
            yield last + 1, key

    def __getstate__(self) -> Any:
        return self.automaton

    def __setstate__(self, state: Any) -> None:
        self.automaton = state


class _RustAho:
    """ahocorasick_rs over UTF-8 bytes, overlapping matches (standard kind).

    The automaton cannot be pickled: the state is the patterns, and
    unpickling rebuilds it.
    """

    __slots__ = ("automaton", "patterns")
    name = "ahocorasick_rs"

    def __init__(self, patterns: list[bytes]) -> None:
        import ahocorasick_rs

        self.patterns = patterns
        self.automaton: Any = ahocorasick_rs.BytesAhoCorasick(
            patterns, matchkind=ahocorasick_rs.MatchKind.Standard
        )

    def ends(self, raw: bytes) -> Iterator[tuple[int, int]]:
        """``(byte end, key)`` of every occurrence, overlapping ones too."""
        for key, _start, end in self.automaton.find_matches_as_indexes(raw, overlapping=True):
            yield end, key

    def __getstate__(self) -> Any:
        return self.patterns

    def __setstate__(self, state: Any) -> None:
        self.__init__(state)  # type: ignore[misc]


_Backend = _PyAho | _RustAho
_BACKEND_TYPES: Final[dict[str, type[_PyAho] | type[_RustAho]]] = {
    "pyahocorasick": _PyAho,
    "ahocorasick_rs": _RustAho,
}


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
        backend: ``"auto"`` (default), ``"pyahocorasick"`` or
            ``"ahocorasick_rs"``; see the module docstring.

    Raises:
        ValueError: if a keyword is empty or only whitespace after folding
            (the message names it), or ``backend`` is unknown or not
            installed.
        TypeError: if a keyword is not a ``str``.
    """

    __slots__ = ("_backend", "_backend_name", "_edges", "_ids", "_lengths", "keywords")

    keywords: tuple[str, ...]
    """The distinct folded keywords; a keyword's id is its index here."""

    def __init__(self, keywords: Iterable[str], *, backend: str = "auto") -> None:
        self._setup(dict.fromkeys(self.fold_keywords(keywords)), backend)

    @staticmethod
    def fold_keywords(keywords: Iterable[str]) -> Iterator[str]:
        """Fold each keyword as the matcher does, checking it is not blank.

        Args:
            keywords: the keywords, in any case or width.

        Yields:
            Each folded keyword, duplicates included, in order.

        Raises:
            ValueError: if a keyword is empty or blank after folding.
            TypeError: if a keyword is not a ``str``.
        """
        for keyword in keywords:
            folded = fold_text(keyword)
            if not folded.strip():
                raise ValueError(f"keyword {keyword!r} is empty or blank after folding")
            yield folded

    @classmethod
    def _of_folded(cls, folded: Iterable[str], backend: str = "auto") -> KeywordMatcher:
        """A matcher over keywords already folded by :meth:`fold_keywords` and distinct."""
        matcher = cls.__new__(cls)
        matcher._setup(folded, backend)
        return matcher

    def _setup(self, folded: Iterable[str], backend: str) -> None:
        name = _resolve_backend(backend)
        self.keywords = tuple(folded)
        lengths = array("q", map(len, self.keywords))
        word = is_word_char
        edges = bytes(
            (_LEFT if word(k[0]) else 0) | (_RIGHT if word(k[-1]) else 0) for k in self.keywords
        )
        self._ids: dict[str, int] | None = None
        # Per-key facts a hit needs, in flat arrays: an index costs less than
        # unpacking a Python tuple per keyword, and 1M keywords take 9 MB.
        self._lengths = lengths
        self._edges = edges
        self._backend: _Backend | None = (
            _BACKEND_TYPES[name](list(map(_utf8, self.keywords))) if self.keywords else None
        )
        self._backend_name = name

    def with_backend(self, backend: str) -> KeywordMatcher:
        """The same keywords (same ids) on another backend.

        Raises:
            ValueError: the backend is unknown or not installed.
        """
        if _resolve_backend(backend) == self.backend:
            return self
        return self._of_folded(self.keywords, backend)

    @property
    def backend(self) -> str:
        """The backend in use: ``"pyahocorasick"`` or ``"ahocorasick_rs"``."""
        return self._backend_name

    def __len__(self) -> int:
        """The number of distinct folded keywords."""
        return len(self.keywords)

    def __repr__(self) -> str:
        return f"<KeywordMatcher with {len(self.keywords)} keywords on {self.backend}>"

    def __getstate__(self) -> dict[str, Any]:
        # The keyword-to-id dict is left out: rebuilding it is cheaper than
        # unpickling it.
        return {
            "keywords": self.keywords,
            "lengths": self._lengths,
            "edges": self._edges,
            "backend": self._backend,
            "backend_name": self._backend_name,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.keywords = state["keywords"]
        self._lengths = state["lengths"]
        self._edges = state["edges"]
        self._backend = state["backend"]
        self._backend_name = state["backend_name"]
        self._ids = None

    def key_of(self, keyword: str) -> int | None:
        """Return the id of ``keyword`` (folded first), or ``None`` if unknown.

        Args:
            keyword: a keyword in any case or width.

        Raises:
            TypeError: if ``keyword`` is not a ``str``.
        """
        ids = self._ids
        if ids is None:
            # Built at most once per thread race; every race builds the same dict.
            ids = self._ids = {k: i for i, k in enumerate(self.keywords)}
        return ids.get(fold_text(keyword))

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
        chosen: list[Hit] = []
        position = 0
        # select_leftmost_longest, inlined on plain tuples: a Hit is only
        # built for the hits that are kept.
        for start, negative_end, key in self._candidates(text):
            if start >= position:
                position = -negative_end
                chosen.append(Hit(start, position, key))
        return chosen

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
        return [
            Hit(start, -negative_end, key) for start, negative_end, key in self._candidates(text)
        ]

    def _candidates(self, text: str) -> list[tuple[int, int, int]]:
        """``(start, -end, key)`` of every valid occurrence, sorted."""
        folded = fold_text(text)
        backend = self._backend
        if backend is None or not folded:
            return []
        raw = _utf8(folded)
        lengths, edges = self._lengths, self._edges
        size = len(text)
        same_size = len(folded) == size
        ascii_only = len(raw) == len(folded)
        origin = None
        folded_size = len(folded)
        # Running position: ``byte_at`` bytes of ``raw`` hold ``point_at``
        # code points.
        byte_at = point_at = 0
        out: list[tuple[int, int, int]] = []
        for byte_end, key in backend.ends(raw):
            if ascii_only:
                end = byte_end
            else:
                # Matches end on code point boundaries (UTF-8 self-synchronises),
                # so the slice always decodes.
                if byte_end >= byte_at:
                    point_at += len(raw[byte_at:byte_end].decode("utf-8", "surrogatepass"))
                else:
                    point_at -= len(raw[byte_end:byte_at].decode("utf-8", "surrogatepass"))
                byte_at = byte_end
                end = point_at
            start = end - lengths[key]
            if not same_size:
                if origin is None:
                    origin = origin_map(text)
                first, last = start, end - 1
                start = origin[first]
                end = origin[last] + 1
                # Reject spans that begin or end inside one code point's folding.
                if first > 0 and origin[first - 1] == start:
                    continue
                if last + 1 < folded_size and origin[last + 1] == end - 1:
                    continue
            flags = edges[key]
            if flags & _LEFT and start > 0 and is_word_char(text[start - 1]):
                continue
            if flags & _RIGHT and end < size and is_word_char(text[end]):
                continue
            out.append((start, -end, key))
        out.sort()
        return out


def _resolve_backend(backend: str) -> str:
    available = available_backends()
    if backend == "auto":
        return available[-1]
    if backend not in BACKENDS:
        raise ValueError(f"unknown matcher backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if backend not in available:
        raise ValueError(
            f"matcher backend {backend!r} is not installed (pip install shoplink[fast])"
        )
    return backend
