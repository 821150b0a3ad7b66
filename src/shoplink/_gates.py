"""Gates: topics beside which no shopping link belongs.

A gate is a named list of terms (``medical``, ``self_harm``, ``minors``,
``refusal``).  The built-in lists ship as package data
(``shoplink/data/gates/<name>.<lang>.txt``), one term a line:

* ``药膏`` -- the term alone trips the gate;
* ``湿疹 + 治疗`` -- every part must appear (a condition named next to skin
  care is not medical; a condition with its treatment is);
* ``re:<pattern>`` -- a regular expression over the folded text;
* ``#`` starts a comment.

Terms are folded like catalog keywords (``shoplink._text.fold``: case,
width) and matched with the same rules: whole words for Latin script,
anywhere for Chinese.

Where a gate looks, and what it blocks:

* a term in the **query** blocks every link in the answer;
* a term in the **answer** blocks the block (paragraph, list item, table)
  where it occurs and every later block.  Earlier blocks keep their links,
  because a streaming linker has already sent them; the later ones are
  blocked because the topic, once raised, colours the rest of the answer.
  A mention is blocked when the gate's terms are complete by the end of
  the mention's own block, so the decision never depends on later text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

import attrs

from ._exceptions import ConfigError
from ._matcher import KeywordMatcher
from ._text import Folded, fold

__all__ = ["GATE_SCOPES", "Gate", "GateSet", "GateTrip", "default_gates"]

#: Where a gate may look: the user's query, the answer, or both.
GATE_SCOPES = ("query", "answer", "both")

# Built-in gates and where each looks.  Minors: the phrases are first-person
# ("我是初中生"), so only the user's own words can say it.  Refusals: only
# the assistant refuses.
_BUILTIN: tuple[tuple[str, str], ...] = (
    ("medical", "both"),
    ("self_harm", "both"),
    ("minors", "query"),
    ("refusal", "answer"),
)
_LANGS = ("zh", "en")


def _check_term(term: object) -> str:
    if not isinstance(term, str):
        raise ConfigError(f"gate terms must be str, got {type(term).__name__}")
    parts = [p.strip() for p in term.split(" + ")]
    if not all(fold(p).text.strip() for p in parts):
        raise ConfigError(f"gate term {term!r} has an empty part")
    return " + ".join(parts)


def _check_pattern(pattern: object) -> str:
    if not isinstance(pattern, str):
        raise ConfigError(f"gate patterns must be str, got {type(pattern).__name__}")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"gate pattern {pattern!r} is not a regular expression: {exc}") from None
    return pattern


def _terms(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(_check_term(v) for v in values)


def _patterns(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(_check_pattern(v) for v in values)


def _scope(value: str) -> str:
    if value not in GATE_SCOPES:
        raise ConfigError(f"gate scope must be one of {', '.join(GATE_SCOPES)}, got {value!r}")
    return value


@attrs.frozen
class Gate:
    """A topic beside which no shopping link belongs.

    Attributes:
        name: short name reported in skip reasons (``"medical"``).
        terms: the terms; ``"a + b"`` needs every part.
        patterns: regular expressions over the folded text.
        scope: ``"query"``, ``"answer"`` or ``"both"`` (default).

    Raises:
        ConfigError: a term is empty, a pattern does not compile, or the
            scope is unknown.
    """

    name: str
    terms: tuple[str, ...] = attrs.field(default=(), converter=_terms)
    patterns: tuple[str, ...] = attrs.field(default=(), converter=_patterns)
    scope: str = attrs.field(default="both", converter=_scope)

    @classmethod
    def from_lines(cls, name: str, lines: Iterable[str], *, scope: str = "both") -> Gate:
        """Build a gate from term-file lines (``#`` comments, ``re:`` patterns)."""
        terms: list[str] = []
        patterns: list[str] = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("re:"):
                patterns.append(line[3:].strip())
            else:
                terms.append(line)
        return cls(name, tuple(terms), tuple(patterns), scope)

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], *, name: str | None = None, scope: str = "both"
    ) -> Gate:
        """Load a gate from a UTF-8 term file.

        Args:
            path: the file; one term a line (see the module docs).
            name: the gate's name; default: the file name up to its first
                dot (``medical.zh.txt`` -> ``medical``).
            scope: where the gate looks.

        Raises:
            ConfigError: the file cannot be read or holds a bad term.
        """
        p = Path(path)
        try:
            text = p.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read gate file {str(p)!r}: {exc}") from None
        return cls.from_lines(name or p.name.split(".")[0], text.splitlines(), scope=scope)

    def extend(self, terms: Iterable[str] = (), patterns: Iterable[str] = ()) -> Gate:
        """A copy of this gate with more terms and patterns."""
        return Gate(
            self.name, (*self.terms, *terms), (*self.patterns, *patterns), self.scope
        )


def default_gates() -> tuple[Gate, ...]:
    """The built-in gates: medical, self_harm, minors (query), refusal (answer).

    Each holds the Chinese and English lists shipped in
    ``shoplink/data/gates``.  Extend one with ``Gate.extend`` or add your own
    ``Gate`` to the tuple you pass as ``Linker(gates=...)``.
    """
    folder = resources.files("shoplink") / "data" / "gates"
    out = []
    for name, scope in _BUILTIN:
        lines: list[str] = []
        for lang in _LANGS:
            lines.extend((folder / f"{name}.{lang}.txt").read_text("utf-8").splitlines())
        out.append(Gate.from_lines(name, lines, scope=scope))
    return tuple(out)


@attrs.frozen
class GateTrip:
    """A gate that tripped: which, on what term, where, and from where on.

    Attributes:
        gate: the gate's name.
        term: the term (or pattern) that tripped it.
        source: ``"query"`` or ``"answer"``.
        end: for the answer, the offset just past the term's last part:
            mentions whose block ends at or after it are blocked.
    """

    gate: str
    term: str
    source: str
    end: int = 0

    def describe(self) -> str:
        """The skip detail: ``medical: '药膏' in the query``."""
        where = "the query" if self.source == "query" else f"the answer at {self.end}"
        return f"{self.gate}: {self.term!r} in {where}"


def _normalise(text: str) -> str:
    # Curly apostrophes are common in answers and not folded by NFKC;
    # one code point for one, so offsets are kept.
    return text.replace("\u2019", "'").replace("\u2018", "'")


_QUERY_CACHE_SIZE = 256


class GateSet:
    """Gates compiled for matching: one keyword automaton over every term part.

    Args:
        gates: the gates, in order; on equal offsets the first one is reported.
    """

    def __init__(self, gates: Sequence[Gate]) -> None:
        self.gates = tuple(gates)
        parts: list[str] = []
        for gate in self.gates:
            for term in gate.terms:
                parts.extend(term.split(" + "))
        self._matcher = KeywordMatcher(parts) if parts else None
        self._compiled = [
            [(p, re.compile(p)) for p in gate.patterns] for gate in self.gates
        ]
        # Each term with its parts folded as the matcher's keywords are.
        self._folded_terms = [
            [(term, [fold(part).text for part in term.split(" + ")]) for term in gate.terms]
            for gate in self.gates
        ]
        # Per gate: folded part -> the indices of the terms holding it.  A
        # term trips only if each of its parts was found, so only the terms
        # of the parts found need a look (most answers hold none).
        self._terms_of_part: list[dict[str, list[int]]] = []
        for terms in self._folded_terms:
            index: dict[str, list[int]] = {}
            for i, (_term, parts) in enumerate(terms):
                for part in dict.fromkeys(parts):
                    index.setdefault(part, []).append(i)
            self._terms_of_part.append(index)
        # The first trip of recent queries (a GateSet never changes).
        self._queries: dict[str, GateTrip | None] = {}
        # Whether a gate in scope has patterns: without, no part found means
        # no trip.
        self._patterns_for = {
            source: any(
                gate.patterns and gate.scope in (source, "both") for gate in self.gates
            )
            for source in ("query", "answer")
        }

    def __bool__(self) -> bool:
        return bool(self.gates)

    def _first_ends(self, text: str) -> dict[str, int]:
        """Folded part -> end offset of its first occurrence in ``text``."""
        return self._first_ends_normalised(_normalise(text))

    def _first_ends_normalised(self, normalised: str) -> dict[str, int]:
        """``_first_ends`` of text already passed through ``_normalise``."""
        if self._matcher is None:
            return {}
        firsts: dict[str, int] = {}
        keywords = self._matcher.keywords
        for hit in self._matcher.find_candidates(normalised):
            key = keywords[hit.key]
            if key not in firsts or hit.end < firsts[key]:
                firsts[key] = hit.end
        return firsts

    def _trips(self, text: str, source: str) -> list[GateTrip]:
        return self._trips_from(text, source, self._first_ends(text))

    def _trips_from(self, text: str, source: str, firsts: dict[str, int]) -> list[GateTrip]:
        """The trips of ``text`` given its parts' first ends (``_first_ends``)."""
        if not firsts and not self._patterns_for.get(source, True):
            return []  # the usual answer: no term part, no pattern
        folded: Folded | None = None  # made only for a gate with patterns
        out: list[GateTrip] = []
        for gate, compiled, terms, terms_of_part in zip(
            self.gates, self._compiled, self._folded_terms, self._terms_of_part, strict=True
        ):
            if gate.scope not in (source, "both"):
                continue
            best: tuple[int, str] | None = None
            # The terms holding a part found, in the gate's order (on equal
            # ends the first term is reported); no part found: no term trips.
            found = sorted({i for part in firsts for i in terms_of_part.get(part, ())})
            for i in found:
                term, parts = terms[i]
                ends = [firsts.get(part) for part in parts]
                if all(e is not None for e in ends):
                    end = max(e for e in ends if e is not None)
                    if best is None or end < best[0]:
                        best = (end, term)
            for pattern, regex in compiled:
                if folded is None:
                    folded = fold(_normalise(text))
                m = regex.search(folded.text)
                if m is None:
                    continue
                end = m.end()
                if folded.origin is not None and end > 0:
                    end = folded.origin[end - 1] + 1
                if best is None or end < best[0]:
                    best = (end, "re:" + pattern)
            if best is not None:
                out.append(GateTrip(gate.name, best[1], source, best[0]))
        out.sort(key=lambda t: t.end)
        return out

    def growing_answer(self) -> GrowingAnswer:
        """A ``check_answer`` for one answer as it grows (a stream's buffer)."""
        return GrowingAnswer(self)

    def check_query(self, query: str) -> GateTrip | None:
        """The first gate the query trips, or None."""
        if not query:
            return None
        cache = self._queries
        if query in cache:  # a server sees a query again (retries, link_many, streams)
            return cache[query]
        trips = self._trips(query, "query")
        if len(cache) >= _QUERY_CACHE_SIZE:
            cache.clear()
        cache[query] = trips[0] if trips else None
        return cache[query]

    def check_answer(self, answer: str) -> list[GateTrip]:
        """Every gate the answer trips, earliest first."""
        return self._trips(answer, "answer") if answer else []


class GrowingAnswer:
    """``GateSet.check_answer`` for a text that grows at its end, scanning only what is new.

    A term part's occurrence that ends before the end of the text is final:
    whether it is one reads the characters on either side of it, folding
    goes code point by code point, and so a longer text has it too.  One
    that ends at the very end of the text may stop being one (a whole-word
    part followed by a letter).  So each check scans only from where an
    occurrence not final before could start, keeps the first final end of
    each part, and counts those at the end of the text for this check only.
    Patterns are searched in the whole text (they can match anything).
    A text that does not extend the last one starts over.
    """

    def __init__(self, gates: GateSet) -> None:
        self._gates = gates
        self._text = ""
        self._final: dict[str, int] = {}  # part -> first end, among final occurrences

    def check(self, text: str) -> list[GateTrip]:
        """``check_answer(text)``."""
        if not text:
            return []
        gates = self._gates
        matcher = gates._matcher
        firsts: dict[str, int] = {}
        if matcher is not None:
            if not text.startswith(self._text):
                self._text, self._final = "", {}
            scanned = len(self._text)
            # An occurrence ending at ``scanned`` or later starts at most
            # ``longest`` code points before its end (a folded part is never
            # shorter than the text it matches); one more for the boundary.
            start = max(0, scanned - matcher.longest - 1)
            size = len(text)
            final = self._final
            keywords = matcher.keywords
            for hit in matcher.find_candidates(_normalise(text[start:])):
                end = start + hit.end
                if end < scanned:
                    continue  # final already, and counted then
                part = keywords[hit.key]
                target = final if end < size else firsts
                if part not in target or end < target[part]:
                    target[part] = end
            self._text = text
            for part, end in final.items():
                if part not in firsts or end < firsts[part]:
                    firsts[part] = end
        return gates._trips_from(text, "answer", firsts)
