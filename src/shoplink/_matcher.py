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

* ``"pyahocorasick"``: always available; its automaton can be dumped as
  raw node tables and restored without rebuilding, so an index file
  (:mod:`shoplink._index`) always stores this automaton and loads fast on it.
* ``"ahocorasick_rs"`` (``pip install shoplink[fast]``): a Rust automaton,
  faster to scan; it cannot be serialized, so unpickling, or loading an
  index file onto it, rebuilds it from the keywords.
* ``"auto"`` (default): ``ahocorasick_rs`` when installed, else
  ``pyahocorasick``.

Both give identical results (``tests/test_matcher.py`` runs the brute-force
reference property against each).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import importlib.util
import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate, pairwise
from typing import Any, Final

import ahocorasick
import attrs

from shoplink._text import delimiter_run, fold_text, is_word_char, origin_map

__all__ = [
    "BACKENDS",
    "Hit",
    "KeywordMatcher",
    "LiteralSet",
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

# An ``_`` run longer than this next to a mention is never read as emphasis
# (``emphasis=True``): the check looks at no more than this many characters,
# and a stream holds back no more than this many beyond a mention.
UNDERSCORE_RUN_MAX: Final = 32


def _underscore_opens(text: str, start: int) -> bool:
    """Whether the ``_`` run ending at ``text[start - 1]`` may open emphasis before ``start``.

    The run is the whole run of ``_`` there (``__Kindle``); it may open when
    CommonMark's flanking rule says so for the characters around it: after
    a space, punctuation (CJK punctuation too) or the start of the text,
    but not after a letter (``snake_case``). A mention starting with ``_``
    itself is inside the run, not after it.
    """
    first = text[start]
    if first == "_":
        return False
    run = start - 1
    floor = start - UNDERSCORE_RUN_MAX
    while run > 0 and text[run - 1] == "_":
        run -= 1
        if run < floor:
            return False
    before = text[run - 1] if run > 0 else " "
    return delimiter_run("_", before, first)[0]


def _underscore_closes(text: str, end: int) -> bool:
    """Whether the ``_`` run starting at ``text[end]`` may close emphasis after ``end``.

    The end of the text reads as a space (as the end of a line does).
    """
    last = text[end - 1]
    if last == "_":
        return False
    size = len(text)
    run = end + 1
    ceiling = end + UNDERSCORE_RUN_MAX
    while run < size and text[run] == "_":
        run += 1
        if run > ceiling:
            return False
    after = text[run] if run < size else " "
    return delimiter_run("_", last, after)[1]


def _settled_end(text: str) -> int:
    """Where a trailing ``_`` run that more text could still re-read starts (else ``len``).

    A mention ending right before such a run passes its right boundary now
    (the end reads as a space) but may fail it once a letter follows the
    run; a run longer than :data:`UNDERSCORE_RUN_MAX` is never emphasis, so
    nothing before it can change.
    """
    size = len(text)
    run = size
    floor = size - UNDERSCORE_RUN_MAX
    while run > 0 and text[run - 1] == "_":
        run -= 1
        if run < floor:
            return size
    return run


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

    # The node tables pyahocorasick pickles (``Automaton.__reduce__``): a few
    # bytes objects of at most 16 MiB holding every node with its fail and
    # child links as node numbers, and five ints. The constructor given them
    # back allocates the nodes and turns the numbers into pointers again, with
    # no trie building: a tenth or less of the time ``add_word`` and
    # ``make_automaton`` take. (``Automaton.save``/``ahocorasick.load``, the
    # file-based API, is five times slower than this: it reads node by node.)
    #
    # The tables are raw C structs of this build of pyahocorasick. Its
    # constructor checks node counts and link ranges but not everything: a
    # child link 0 becomes an uninitialised pointer, a flipped bit can give
    # other hits, a fail link to its own node makes the scan loop forever. So
    # bytes that were not verified against a checksum must never reach it.

    def dump(self) -> tuple[list[int], list[bytes]]:
        """``(numbers, tables)`` that :meth:`restore` takes back."""
        _type, (tables, *numbers, _values) = self.automaton.__reduce__()
        return list(numbers), list(tables)

    @classmethod
    def restore(cls, numbers: Sequence[int], tables: list[bytes]) -> _PyAho:
        """The automaton :meth:`dump` gave ``numbers`` and ``tables`` of.

        Only give it checksummed tables written by the same pyahocorasick
        build (:func:`automaton_build`).

        Raises:
            ValueError: the numbers are not those of a finished ``STORE_INTS``
                automaton over strings, or pyahocorasick rejects the tables.
        """
        kind, store, key_type, words, longest = numbers
        if (kind, store, key_type) != (
            ahocorasick.AHOCORASICK,
            ahocorasick.STORE_INTS,
            ahocorasick.KEY_STRING,
        ):
            raise ValueError("not a finished STORE_INTS automaton over strings")
        if not tables or not all(type(table) is bytes for table in tables):
            raise ValueError("no node tables")
        restored = cls.__new__(cls)
        restored.automaton = ahocorasick.Automaton(
            tables, kind, store, key_type, words, longest, None
        )
        return restored


@functools.cache
class LiteralSet:
    """Whether a text holds any of some literal strings, in one pass (pyahocorasick).

    Plain substrings: no folding, no word boundaries.  A prefilter for
    costlier searches (the judgement stage's advice cues).

    Args:
        literals: the strings; empty ones are refused.

    Raises:
        ValueError: a literal is empty.
    """

    __slots__ = ("_automaton",)

    def __init__(self, literals: Iterable[str]) -> None:
        automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS, ahocorasick.KEY_STRING)
        for key, literal in enumerate(dict.fromkeys(literals)):
            if not literal:
                raise ValueError("LiteralSet takes no empty literal")
            automaton.add_word(literal, key)
        self._automaton: Any = automaton
        if len(automaton):
            automaton.make_automaton()

    def found_in(self, text: str) -> bool:
        """Whether ``text`` holds one of the literals."""
        if not len(self._automaton):
            return False
        for _ in self._automaton.iter(text):
            return True
        return False


def automaton_build() -> str:
    """Which pyahocorasick binary dumped node tables: tables restore only there.

    A digest of the extension module's file, the byte order and the pointer
    size: node tables are raw C structs, so another build of pyahocorasick
    (even another version with the same layout) gets the keywords instead and
    rebuilds its automaton.
    """
    digest = hashlib.sha256(f"{sys.byteorder} {sys.maxsize}\n".encode())
    path = getattr(ahocorasick, "__file__", None)
    if path:
        with open(path, "rb") as handle:
            digest.update(handle.read())
    else:  # pragma: no cover - a statically linked interpreter
        digest.update(sys.version.encode())
    return digest.hexdigest()


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

    With ``emphasis=True`` (the product index: answers are Markdown, or
    HTML written by the same models), ``_`` is a word character except in
    a run that CommonMark could read as emphasis: a run before the hit ends
    the word when it may open emphasis (left-flanking, and after a space,
    punctuation or the start of the text), a run after it when it may close
    (right-flanking, and before a space, punctuation or the end). So
    ``anker 737`` is found in ``_Anker 737_`` and ``__Anker 737__`` and
    ``：_Anker 737_。``, but still not in ``foo_anker 737`` or
    ``a_anker 737_b``; a run longer than :data:`UNDERSCORE_RUN_MAX` never
    counts.

    Args:
        keywords: the keywords, in any case or width.
        backend: ``"auto"`` (default), ``"pyahocorasick"`` or
            ``"ahocorasick_rs"``; see the module docstring.
        emphasis: read ``_`` runs as CommonMark emphasis delimiters where
            they could be (above); default False (``_`` is always a word
            character, as the gates' term matcher wants).

    Raises:
        ValueError: if a keyword is empty or only whitespace after folding
            (the message names it), or ``backend`` is unknown or not
            installed.
        TypeError: if a keyword is not a ``str``.
    """

    __slots__ = (
        "_backend",
        "_backend_name",
        "_blob",
        "_edges",
        "_emphasis",
        "_ends",
        "_ids",
        "_keywords",
        "_lengths",
        "_longest",
    )

    def __init__(
        self, keywords: Iterable[str], *, backend: str = "auto", emphasis: bool = False
    ) -> None:
        self._setup(dict.fromkeys(self.fold_keywords(keywords)), backend, emphasis)

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
    def _of_folded(
        cls, folded: Iterable[str], backend: str = "auto", emphasis: bool = False
    ) -> KeywordMatcher:
        """A matcher over keywords already folded by :meth:`fold_keywords` and distinct."""
        matcher = cls.__new__(cls)
        matcher._setup(folded, backend, emphasis)
        return matcher

    def _setup(self, folded: Iterable[str], backend: str, emphasis: bool = False) -> None:
        name = _resolve_backend(backend)
        keywords = tuple(folded)
        word = is_word_char
        edges = bytes(
            (_LEFT if word(k[0]) else 0) | (_RIGHT if word(k[-1]) else 0) for k in keywords
        )
        # Per-key facts a hit needs, in flat arrays: an index costs less than
        # unpacking a Python tuple per keyword, and 1M keywords take 9 MB.
        self._init(keywords, None, None, array("q", map(len, keywords)), edges, emphasis)
        self._backend = _BACKEND_TYPES[name](list(map(_utf8, keywords))) if keywords else None
        self._backend_name = name

    def _init(
        self,
        keywords: tuple[str, ...] | None,
        blob: bytes | None,
        ends: Sequence[int] | None,
        lengths: Sequence[int],
        edges: bytes,
        emphasis: bool = False,
    ) -> None:
        # The keywords are held as a tuple of str (built here), or as one
        # UTF-8 blob with the byte offsets ``ends`` (loaded from a file: no
        # Python object per keyword; the tuple is made on first use).
        self._keywords = keywords
        self._blob = blob
        self._ends = ends
        self._lengths = lengths
        self._edges = edges
        self._emphasis = emphasis
        self._ids: dict[str, int] | None = None
        self._longest: int | None = None

    def with_backend(self, backend: str) -> KeywordMatcher:
        """The same keywords (same ids) on another backend.

        The keywords are not folded again; the backend's automaton is built
        (which is most of the time building a matcher takes).

        Raises:
            ValueError: the backend is unknown or not installed.
        """
        name = _resolve_backend(backend)
        if name == self.backend:
            return self
        automaton = _BACKEND_TYPES[name](self._patterns()) if len(self) else None
        return self._with(automaton, name)

    def _with(self, backend: _Backend | None, name: str) -> KeywordMatcher:
        """This matcher's keywords and per-key facts on ``backend``."""
        other = type(self).__new__(type(self))
        other._init(
            self._keywords, self._blob, self._ends, self._lengths, self._edges, self._emphasis
        )
        other._backend = backend
        other._backend_name = name
        return other

    @property
    def keywords(self) -> tuple[str, ...]:
        """The distinct folded keywords; a keyword's id is its index here.

        A matcher loaded from an index file holds its keywords as one UTF-8
        block and makes this tuple on first use (about 0.25 s, and a str
        object per keyword, for a million keywords); :meth:`keyword` and
        :attr:`longest` do not need it.
        """
        keywords = self._keywords
        if keywords is None:
            assert self._blob is not None
            # Decoding the concatenation gives the concatenation of the
            # decoded keywords (UTF-8; surrogatepass never pairs surrogates),
            # which the lengths in code points cut up again.
            text = self._blob.decode("utf-8", "surrogatepass")
            bounds = accumulate(self._lengths, initial=0)
            keywords = self._keywords = tuple(text[a:b] for a, b in pairwise(bounds))
        return keywords

    def keyword(self, key: int) -> str:
        """The folded keyword with id ``key`` (``keywords[key]``, without the tuple).

        Raises:
            IndexError: no keyword has this id.
        """
        if not 0 <= key < len(self._lengths):
            raise IndexError(f"no keyword has id {key}")
        keywords = self._keywords
        if keywords is not None:
            return keywords[key]
        assert self._blob is not None and self._ends is not None
        return self._blob[self._ends[key] : self._ends[key + 1]].decode("utf-8", "surrogatepass")

    def holds(self, char: str) -> bool:
        """Whether some folded keyword contains the character ``char``.

        A stream asks this about ``"\\n"`` and ``">"``: a mention can only
        span a line break if a keyword holds one.
        """
        if self._keywords is None and self._blob is not None:
            # UTF-8 is self-synchronising: a character's bytes occur in the
            # concatenation only where the character itself does.
            return char.encode("utf-8", "surrogatepass") in self._blob
        return any(char in k for k in self.keywords)

    @property
    def longest(self) -> int:
        """The length of the longest folded keyword, in code points (0 if none)."""
        longest = self._longest
        if longest is None:
            longest = self._longest = max(self._lengths, default=0)
        return longest

    def _patterns(self) -> list[bytes]:
        """Each keyword as the UTF-8 the backends take."""
        blob, ends = self._blob, self._ends
        if blob is None or ends is None:
            return list(map(_utf8, self.keywords))
        return [blob[a:b] for a, b in pairwise(ends)]

    # ------------------------------------------------------------ index files

    def dump(self) -> tuple[dict[str, Any], list[tuple[str, bytes | memoryview]]]:
        """The matcher as named byte sections, for an index file.

        Returns:
            ``(fields, sections)``: JSON-able header fields (the keyword count
            and, if there are keywords, the pyahocorasick automaton's build
            and numbers), and ``(name, bytes)`` sections: ``keywords``
            (UTF-8, concatenated), ``keyword_ends`` (byte offsets, int64,
            ``n + 1`` of them), ``keyword_lengths`` (code points, int64),
            ``keyword_edges`` (one byte each) and one ``automaton`` section
            per pyahocorasick node table. Integers are in native byte order.

            A matcher on ``ahocorasick_rs`` builds a pyahocorasick automaton
            here: the Rust one cannot be serialized, and a file that stores an
            automaton loads several times faster than one that rebuilds it.
        """
        blob, ends = self._blob, self._ends
        if blob is None or ends is None:
            patterns = self._patterns()
            blob = b"".join(patterns)
            ends = array("q", accumulate(map(len, patterns), initial=0))
        fields: dict[str, Any] = {"keywords": len(self), "automaton": None}
        sections: list[tuple[str, bytes | memoryview]] = [
            ("keywords", blob),
            ("keyword_ends", int64_bytes(ends)),
            ("keyword_lengths", int64_bytes(self._lengths)),
            ("keyword_edges", self._edges),
        ]
        if len(self):
            backend = self._backend
            automaton = backend if isinstance(backend, _PyAho) else _PyAho(self._patterns())
            numbers, tables = automaton.dump()
            fields["automaton"] = {"build": automaton_build(), "numbers": numbers}
            sections += [("automaton", table) for table in tables]
        return fields, sections

    @classmethod
    def restore(
        cls,
        fields: dict[str, Any],
        sections: dict[str, list[bytes]],
        backend: str = "auto",
        *,
        emphasis: bool = False,
    ) -> KeywordMatcher:
        """The matcher :meth:`dump` gave ``fields`` and ``sections`` of.

        The sections must have been checked against a checksum: the node
        tables are handed to pyahocorasick as they are.

        Args:
            fields: the header fields :meth:`dump` returned.
            sections: each section name to its bytes (``automaton``: every
                node table, in order).
            backend: ``"auto"`` or ``"pyahocorasick"`` restores the stored
                automaton; ``"ahocorasick_rs"`` builds a Rust automaton from
                the keywords. If the stored automaton was dumped by another
                build of pyahocorasick (:func:`automaton_build`), it is
                rebuilt from the keywords and ``restore`` returns normally;
                check :func:`stored_automaton_usable` to know beforehand.
            emphasis: as for the constructor (not stored in the file: it is
                how the keywords are looked for, not what they are).

        Raises:
            ValueError: the sections are inconsistent (sizes that do not fit
                the keyword count, offsets that do not span the UTF-8 block)
                or pyahocorasick rejects the node tables; also an unknown or
                uninstalled backend.
        """
        name = "pyahocorasick" if backend == "auto" else _resolve_backend(backend)
        count = fields["keywords"]
        (blob,) = sections["keywords"]
        ends = _int64s(sections["keyword_ends"], count + 1)
        lengths = _int64s(sections["keyword_lengths"], count)
        (edges,) = sections["keyword_edges"]
        if len(edges) != count or ends[0] != 0 or ends[-1] != len(blob):
            raise ValueError("keyword sections disagree")
        matcher = cls.__new__(cls)
        matcher._init(None, blob, ends, lengths, edges, emphasis)
        matcher._backend_name = name
        if not count:
            matcher._backend = None
        elif name == "pyahocorasick" and stored_automaton_usable(fields):
            matcher._backend = _PyAho.restore(fields["automaton"]["numbers"], sections["automaton"])
        else:
            matcher._backend = _BACKEND_TYPES[name](matcher._patterns())
        return matcher

    @property
    def backend(self) -> str:
        """The backend in use: ``"pyahocorasick"`` or ``"ahocorasick_rs"``."""
        return self._backend_name

    @property
    def emphasis(self) -> bool:
        """Whether ``_`` runs that could be emphasis end a word (see the class)."""
        return self._emphasis

    def __len__(self) -> int:
        """The number of distinct folded keywords."""
        return len(self._lengths)

    def __repr__(self) -> str:
        return f"<KeywordMatcher with {len(self)} keywords on {self.backend}>"

    def __getstate__(self) -> dict[str, Any]:
        # The keyword-to-id dict is left out: rebuilding it is cheaper than
        # unpickling it.
        return {
            "keywords": self.keywords,
            "lengths": array("q", self._lengths),
            "edges": self._edges,
            "emphasis": self._emphasis,
            "backend": self._backend,
            "backend_name": self._backend_name,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._init(
            state["keywords"],
            None,
            None,
            state["lengths"],
            state["edges"],
            state.get("emphasis", False),
        )
        self._backend = state["backend"]
        self._backend_name = state["backend_name"]

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

    def _candidates(self, text: str, lo: int = 0) -> list[tuple[int, int, int]]:
        """``(start, -end, key)`` of every valid occurrence, sorted.

        ``lo``: only occurrences starting at or after it are looked for
        (``text[lo:]`` is scanned), with boundaries read in the whole
        ``text``; offsets are ``text``'s.
        """
        part = text[lo:] if lo else text
        folded = fold_text(part)
        backend = self._backend
        if backend is None or not folded:
            return []
        raw = _utf8(folded)
        lengths, edges = self._lengths, self._edges
        emphasis = self._emphasis
        size = len(text)
        same_size = len(folded) == len(part)
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
                    origin = origin_map(part)
                first, last = start, end - 1
                start = origin[first]
                end = origin[last] + 1
                # Reject spans that begin or end inside one code point's folding.
                if first > 0 and origin[first - 1] == start:
                    continue
                if last + 1 < folded_size and origin[last + 1] == end - 1:
                    continue
            start += lo
            end += lo
            flags = edges[key]
            if flags & _LEFT and start > 0:
                before = text[start - 1]
                if is_word_char(before) and not (
                    emphasis and before == "_" and _underscore_opens(text, start)
                ):
                    continue
            if flags & _RIGHT and end < size:
                after = text[end]
                if is_word_char(after) and not (
                    emphasis and after == "_" and _underscore_closes(text, end)
                ):
                    continue
            out.append((start, -end, key))
        out.sort()
        return out


class GrowingCandidates:
    """``find_candidates`` of a text that grows at its end, each part scanned about once.

    For a stream: after ``extend(text)``, the candidates are those of
    ``find_candidates(text)``.  Each ``extend`` scans only the text an
    occurrence not known yet can touch: one ending after the old end starts
    at most ``longest`` code points before it (an original span is never
    longer than its folded keyword), and after the last break before it
    (a character no keyword holds); one ending exactly at the old end may
    fail its right boundary now that a character follows, and so may one
    ending right before a ``_`` run at the old end when the matcher reads
    emphasis (a letter after the run makes it intraword: ``_settled_end``).
    So the candidates starting before both are final and kept, and the
    rest are found again in the new tail, with boundaries read in the whole
    text.  Folding goes code point by code point, so the tail folds as it
    does inside the whole text.  No text makes a rejected occurrence valid
    by following it: the end of the text is the most lenient neighbour.

    ``hits_before`` keeps the leftmost-longest selection as it goes, so a
    stream's re-links do not select from the start each time.

    Args:
        matcher: the matcher to scan with.
        brk: a character no keyword holds (a line break), or None.
    """

    def __init__(self, matcher: KeywordMatcher, brk: str | None = None) -> None:
        self._matcher = matcher
        self._longest = matcher.longest
        self._brk = brk
        self._size = 0  # of the last text taken (the text itself is not kept)
        # Candidates starting before it are final: the next ``extend`` keeps them.
        self._keep_before = 0
        # A candidate not known yet starts at or after it.
        self._unknown_from = 0
        # A candidate ending before it stays one whatever follows.
        self._stays_before = 0
        self._starts: list[int] = []  # of each candidate, in order
        self._items: list[tuple[int, int, int]] = []  # (start, -end, key), sorted
        # The selection over ``_items[:_chosen_upto]``: hits, and where the
        # next hit may start.
        self._chosen: list[Hit] = []
        self._chosen_starts: list[int] = []
        self._chosen_upto = 0
        self._position = 0

    def extend(self, text: str) -> None:
        """Take ``text``, which must start with the last text taken.

        Not checked (it would cost the length of the text each time): a
        stream's buffer only grows at its end.
        """
        if len(text) == self._size:
            return
        self._size = len(text)
        keep_before = self._keep_before
        cut = bisect.bisect_left(self._starts, keep_before)
        del self._starts[cut:]
        del self._items[cut:]
        if cut < self._chosen_upto:
            # Choices of hits starting before ``keep_before`` read only
            # candidates starting before it: they stand.
            kept = bisect.bisect_left(self._chosen_starts, keep_before)
            del self._chosen[kept:]
            del self._chosen_starts[kept:]
            self._position = self._chosen[-1].end if self._chosen else 0
            self._chosen_upto = cut
        for item in self._matcher._candidates(text, keep_before):
            self._starts.append(item[0])
            self._items.append(item)
        floor = text.rfind(self._brk) + 1 if self._brk is not None else 0
        settled = _settled_end(text) if self._matcher.emphasis else len(text)
        self._stays_before = settled
        self._keep_before = max(0, settled - self._longest, floor)
        # One not known ends past the end of ``text``.
        self._unknown_from = max(0, len(text) + 1 - self._longest, floor)

    def first_before(self, position: int, limit: int, text: str) -> int | None:
        """The start of ``text``'s first candidate starting in ``[position, limit)``, if any.

        ``text`` is taken (``extend``) only when what is known does not
        settle it: a known candidate that stays one (``lasting_in``), with
        no room for an unknown one before it, is the first; and with none
        known in the range, none is there if no unknown one can start
        before ``limit``.
        """
        starts = self._starts
        i = bisect.bisect_left(starts, position)
        if i < len(starts) and starts[i] < limit:
            if starts[i] <= self._unknown_from and -self._items[i][1] < self._stays_before:
                return starts[i]
        elif limit <= self._unknown_from:
            return None
        if len(text) != self._size:
            self.extend(text)
            i = bisect.bisect_left(starts, position)
        return starts[i] if i < len(starts) and starts[i] < limit else None

    def lasting_in(self, start: int, end: int) -> bool:
        """Whether a known candidate that stays one starts in ``[start, end]``.

        One stays when it ends before the end of the last text taken: the
        character its right boundary reads is there (and, for a matcher
        reading emphasis, before a ``_`` run at that end: the character
        after the run is not there yet).
        """
        starts, items = self._starts, self._items
        stays_before = self._stays_before
        i = bisect.bisect_left(starts, start)
        while i < len(starts) and starts[i] <= end:
            if -items[i][1] < stays_before:
                return True
            i += 1
        return False

    def between(self, start: int, end: int) -> list[tuple[int, int, int]]:
        """``(start, -end, key)`` of every candidate starting in ``[start, end)``, in order."""
        starts = self._starts
        lo = bisect.bisect_left(starts, start)
        hi = bisect.bisect_left(starts, end, lo)
        return self._items[lo:hi]

    def hits_before(self, upto: int) -> list[Hit]:
        """``KeywordMatcher.find(text)``'s hits starting before ``upto``.

        Only right when every candidate starting before ``upto`` is final:
        no keyword can reach ``upto`` from before it (it is the whole text's
        end, or a break no keyword holds precedes it).
        """
        return self._chosen[: self._select(upto)]

    def hits_between(self, start: int, upto: int) -> list[Hit]:
        """``hits_before(upto)``'s hits starting at or after ``start``."""
        end = self._select(upto)
        return self._chosen[bisect.bisect_left(self._chosen_starts, start, 0, end) : end]

    def _select(self, upto: int) -> int:
        """Select among the candidates starting before ``upto``; how many hits start before it."""
        items = self._items
        i = self._chosen_upto
        position = self._position
        chosen, chosen_starts = self._chosen, self._chosen_starts
        while i < len(items):
            start, negative_end, key = items[i]
            if start >= upto:
                break
            if start >= position:
                position = -negative_end
                chosen.append(Hit(start, position, key))
                chosen_starts.append(start)
            i += 1
        self._chosen_upto, self._position = i, position
        return bisect.bisect_left(chosen_starts, upto)


def stored_automaton_usable(fields: dict[str, Any]) -> bool:
    """True if the automaton :meth:`KeywordMatcher.dump` stored restores here.

    False when another build of pyahocorasick dumped it: loading then
    rebuilds the automaton from the keywords (correct, but as slow as
    building it).
    """
    automaton = fields.get("automaton")
    return isinstance(automaton, dict) and automaton.get("build") == automaton_build()


def int64_bytes(numbers: Sequence[int]) -> memoryview:
    """The bytes of an int64 array (or of a memoryview cast from one), uncopied."""
    view = memoryview(numbers if isinstance(numbers, (array, memoryview)) else array("q", numbers))
    if view.format != "q":
        raise TypeError(f"expected int64 numbers, got format {view.format!r}")
    return view.cast("B")


def _int64s(pieces: list[bytes], count: int) -> memoryview:
    """``count`` native int64s read from one section, without copying them."""
    (raw,) = pieces
    if len(raw) != 8 * count:
        raise ValueError(f"expected {count} numbers, got {len(raw)} bytes")
    return memoryview(raw).cast("q")


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
