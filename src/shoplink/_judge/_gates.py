"""Gates: the term lists and patterns the built-in judge reads.

A gate is a named list of terms (``medical``, ``self_harm``, ``minors``,
``refusal``; ``drug``, ``medical_device``, ``health_food``, ``tobacco`` for
products).  The built-in lists ship as package data
(``shoplink/data/gates/<name>.<lang>.txt``), one term a line:

* ``药膏`` -- the term alone trips the gate;
* ``湿疹 + 治疗`` -- every part must appear (a condition named next to skin
  care is not medical; a condition with its treatment is);
* ``re:<pattern>`` -- a regular expression over the folded text;
* ``!笑死`` -- an *exception*: an occurrence of a term's part that lies
  inside an occurrence of ``笑死`` does not count, for every gate of the
  same name (so ``死`` in a joke,
  ``cure`` in "UV cure gel", ``medicine`` in "medicine ball" trip nothing);
* ``#`` starts a comment.

Terms and exceptions are folded like catalog keywords
(``shoplink._text.fold``: case, width) after the judge's own folding
(``_view``: traditional to simplified Chinese, separators between Chinese
characters dropped), and matched with the same rules: whole words for
Latin script, anywhere for Chinese.

Where a gate looks, and what it blocks:

* ``query``: the user's query and earlier user turns; a term there blocks
  every link in the answer;
* ``answer``: the answer (and earlier assistant turns); a term there blocks
  the block (paragraph, list item, table) where it occurs and every later
  block.  Earlier blocks keep their links, because a streaming linker has
  already sent them; the later ones are blocked because the topic, once
  raised, colours the rest of the answer.  A mention is blocked when the
  gate's terms are complete by the end of the mention's own block, so the
  decision never depends on later text;
* ``both``: either;
* ``product``: a product's category path; a term there keeps the product
  from being linked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

import attrs

from .._exceptions import ConfigError
from .._matcher import KeywordMatcher
from .._text import Folded, fold
from ._verdict import Verdict
from ._view import MAX_STRETCH, JudgeView, view_of

__all__ = ["GATE_SCOPES", "Gate", "GateSet", "GateTrip", "GrowingAnswer", "default_gates"]

#: Where a gate may look: the user's query, the answer, both, or a product's category.
GATE_SCOPES = ("query", "answer", "both", "product")

#: The name verdicts had before judges could be plugged in.
GateTrip = Verdict

# Built-in gates: the file stem, the gate's name and where it looks.
# Minors: the phrases are first-person ("我是初中生"), so only the user's
# own words can say it.  Refusals: only the assistant refuses.  A medical
# question is medical; an answer that says "see a doctor" is not, so the
# answer side reads a shorter list (treatment, drugs, doses).
_BUILTIN: tuple[tuple[str, str, str], ...] = (
    ("medical", "medical", "both"),
    ("medical.query", "medical", "query"),
    ("self_harm", "self_harm", "both"),
    ("self_harm.query", "self_harm", "query"),
    ("minors", "minors", "query"),
    ("refusal", "refusal", "answer"),
    ("drug", "drug", "product"),
    ("medical_device", "medical_device", "product"),
    ("health_food", "health_food", "product"),
    ("tobacco", "tobacco", "product"),
)
_LANGS = ("zh", "en")


def _check_term(term: object) -> str:
    if not isinstance(term, str):
        raise ConfigError(f"gate terms must be str, got {type(term).__name__}")
    parts = [p.strip() for p in term.split(" + ")]
    if not all(fold(p).text.strip() for p in parts):
        raise ConfigError(f"gate term {term!r} has an empty part")
    return " + ".join(parts)


def _check_exception(value: object) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"gate exceptions must be str, got {type(value).__name__}")
    if not fold(value).text.strip():
        raise ConfigError(f"gate exception {value!r} is empty")
    return value.strip()


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


def _exceptions(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(_check_exception(v) for v in values)


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
        name: short name reported in verdicts (``"medical"``).
        terms: the terms; ``"a + b"`` needs every part.
        patterns: regular expressions over the folded text.
        scope: ``"query"``, ``"answer"``, ``"both"`` (default) or
            ``"product"`` (a product's category path).
        exceptions: phrases inside which a term's part does not count
            (``"笑死"``, ``"medicine ball"``).

    Raises:
        ConfigError: a term or exception is empty, a pattern does not
            compile, or the scope is unknown.
    """

    name: str
    terms: tuple[str, ...] = attrs.field(default=(), converter=_terms)
    patterns: tuple[str, ...] = attrs.field(default=(), converter=_patterns)
    scope: str = attrs.field(default="both", converter=_scope)
    exceptions: tuple[str, ...] = attrs.field(default=(), converter=_exceptions)

    @classmethod
    def from_lines(cls, name: str, lines: Iterable[str], *, scope: str = "both") -> Gate:
        """Build a gate from term-file lines (``#``, ``re:``, ``!`` lines: see the module docs)."""
        terms: list[str] = []
        patterns: list[str] = []
        exceptions: list[str] = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("re:"):
                patterns.append(line[3:].strip())
            elif line.startswith("!"):
                exceptions.append(line[1:].strip())
            else:
                terms.append(line)
        return cls(name, tuple(terms), tuple(patterns), scope, tuple(exceptions))

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

    def extend(
        self,
        terms: Iterable[str] = (),
        patterns: Iterable[str] = (),
        exceptions: Iterable[str] = (),
    ) -> Gate:
        """A new gate: this one's terms, patterns and exceptions, and more (this one stays)."""
        return Gate(
            self.name,
            (*self.terms, *terms),
            (*self.patterns, *patterns),
            self.scope,
            (*self.exceptions, *exceptions),
        )


def default_gates() -> tuple[Gate, ...]:
    """The built-in gates.

    Conversation gates: medical and self_harm (query and answer, each with
    a longer query-only list), minors (query), refusal (answer).  Product
    gates: drug, medical_device, health_food, tobacco.  Each holds the
    Chinese and English lists shipped in ``shoplink/data/gates``.  Extend
    one with ``Gate.extend`` (it returns a new gate) or add your own
    ``Gate`` to the tuple you pass as ``Linker(gates=...)``.
    """
    folder = resources.files("shoplink") / "data" / "gates"
    out = []
    for stem, name, scope in _BUILTIN:
        lines: list[str] = []
        for lang in _LANGS:
            lines.extend((folder / f"{stem}.{lang}.txt").read_text("utf-8").splitlines())
        out.append(Gate.from_lines(name, lines, scope=scope))
    return tuple(out)


def _normalise(text: str) -> JudgeView:
    # Every text the gates scan goes through here (a test counts it).
    return view_of(text)


# Where a gate of each scope looks, by the source of the text.
_LOOKS = {
    "query": ("query", "both"),
    "answer": ("answer", "both"),
    "product": ("product",),
}

_QUERY_CACHE_SIZE = 256

# One occurrence: (start, end, key) in original offsets.
_Occurrence = tuple[int, int, int]


class GateSet:
    """Gates compiled for matching: one keyword automaton over every term part and exception.

    Args:
        gates: the gates, in order; on equal offsets the first one is reported.
    """

    def __init__(self, gates: Sequence[Gate]) -> None:
        self.gates = tuple(gates)
        words: list[str] = []
        for gate in self.gates:
            for term in gate.terms:
                words.extend(term.split(" + "))
            words.extend(gate.exceptions)
        self._matcher = KeywordMatcher(words) if words else None
        self._compiled = [[(p, re.compile(p)) for p in gate.patterns] for gate in self.gates]
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
        # Matcher key -> the gates (by index) for which it is an exception.
        self._exception_of: dict[int, frozenset[int]] = {}
        if self._matcher is not None:
            # An exception holds for every gate of its gate's name: the
            # built-in categories come as several gates (query-only lists).
            by_name: dict[str, set[int]] = {}
            for g, gate in enumerate(self.gates):
                by_name.setdefault(gate.name, set()).add(g)
            owners: dict[int, set[int]] = {}
            for gate in self.gates:
                for exception in gate.exceptions:
                    key = self._matcher.key_of(exception)
                    if key is not None:
                        owners.setdefault(key, set()).update(by_name[gate.name])
            self._exception_of = {k: frozenset(v) for k, v in owners.items()}
        # The verdicts of recent queries (a GateSet never changes).
        self._queries: dict[tuple[str, str], list[Verdict]] = {}
        # Whether a gate in scope has patterns: without, no part found means
        # no trip.
        self._patterns_for = {
            source: any(gate.patterns and gate.scope in looks for gate in self.gates)
            for source, looks in _LOOKS.items()
        }
        self._scopes = {gate.scope for gate in self.gates}

    def __bool__(self) -> bool:
        return bool(self.gates)

    def looks_at(self, source: str) -> bool:
        """Whether some gate reads text from ``source`` (``query``, ``answer``, ``product``)."""
        return any(scope in _LOOKS[source] for scope in self._scopes)

    @property
    def reach(self) -> int:
        """How many original code points one occurrence can span at most."""
        longest = self._matcher.longest if self._matcher is not None else 0
        return MAX_STRETCH * longest + 1

    def _occurrences(
        self, text: str, offset: int = 0, view: JudgeView | None = None
    ) -> list[_Occurrence]:
        """Every term part's and exception's occurrence in ``text``, in original offsets."""
        if self._matcher is None:
            return []
        if view is None:
            view = _normalise(text)
        out: list[_Occurrence] = []
        origin = view.origin
        for hit in self._matcher.find_candidates(view.text):
            if origin is None:
                start, end = hit.start, hit.end
            else:
                start, end = origin[hit.start], origin[hit.end - 1] + 1
            out.append((start + offset, end + offset, hit.key))
        return out

    def _firsts(self, occurrences: Iterable[_Occurrence]) -> list[dict[str, int]]:
        """Per gate: folded part -> end of its first occurrence that no exception covers.

        An occurrence of an exception covers the part occurrences inside it
        for the gates that list the exception.
        """
        matcher = self._matcher
        n = len(self.gates)
        firsts: list[dict[str, int]] = [{} for _ in range(n)]
        if matcher is None:
            return firsts
        keywords = matcher.keywords
        exception_of = self._exception_of
        listed = list(occurrences)
        covers = [(s, e, k, exception_of[k]) for s, e, k in listed if k in exception_of]
        for start, end, key in listed:
            part = keywords[key]
            void: set[int] = set()
            for s, e, k, owners in covers:
                if s <= start and end <= e and k != key:
                    void.update(owners)
            for g in range(n):
                if g in void:
                    continue
                seen = firsts[g]
                if part not in seen or end < seen[part]:
                    seen[part] = end
        return firsts

    def _trips(self, text: str, source: str) -> list[Verdict]:
        if not self._patterns_for.get(source, True) and self._matcher is None:
            return []
        view = _normalise(text)
        return self._trips_from(text, source, self._firsts(self._occurrences(text, 0, view)), view)

    def _trips_from(
        self,
        text: str,
        source: str,
        firsts: list[dict[str, int]],
        view: JudgeView | None = None,
    ) -> list[Verdict]:
        """The verdicts on ``text`` given each gate's parts' first ends (``_firsts``).

        ``view``: ``_normalise(text)`` when the caller has it already.
        """
        if not any(firsts) and not self._patterns_for.get(source, True):
            return []  # the usual answer: no term part, no pattern
        looks = _LOOKS.get(source, ("query", "both"))
        folded: Folded | None = None  # made only for a gate with patterns
        out: list[Verdict] = []
        for gate, compiled, terms, terms_of_part, found_parts in zip(
            self.gates,
            self._compiled,
            self._folded_terms,
            self._terms_of_part,
            firsts,
            strict=True,
        ):
            if gate.scope not in looks:
                continue
            best: tuple[int, str, str] | None = None
            # The terms holding a part found, in the gate's order (on equal
            # ends the first term is reported); no part found: no term trips.
            found = sorted({i for part in found_parts for i in terms_of_part.get(part, ())})
            for i in found:
                term, parts = terms[i]
                ends = [found_parts.get(part) for part in parts]
                if all(e is not None for e in ends):
                    end = max(e for e in ends if e is not None)
                    if best is None or end < best[0]:
                        best = (end, term, "")
            for pattern, regex in compiled:
                if folded is None:
                    if view is None:
                        view = _normalise(text)
                    folded = fold(view.text)
                m = regex.search(folded.text)
                if m is None:
                    continue
                assert view is not None
                start, end = m.start(), m.end()
                if folded.origin is not None:
                    start = folded.origin[start] if start < len(folded.origin) else len(view.text)
                    end = folded.origin[end - 1] + 1 if end > 0 else 0
                start, end = view.start_in_original(start), view.end_in_original(end)
                if best is None or end < best[0]:
                    best = (end, text[start:end], "re:" + pattern)
            if best is not None:
                out.append(Verdict(gate.name, best[1], source, best[0], rule=best[2]))
        out.sort(key=lambda t: t.end)
        return out

    def growing_answer(self) -> GrowingAnswer:
        """A ``check_answer`` for one answer as it grows (a stream's buffer)."""
        return GrowingAnswer(self)

    def check_query(self, query: str, source: str = "query") -> Verdict | None:
        """The first verdict on the query, or None."""
        verdicts = self.check_turn(query, "query", source)
        return verdicts[0] if verdicts else None

    def check_turn(self, text: str, looks: str, source: str) -> list[Verdict]:
        """Every verdict on one turn read as ``looks`` (query or answer), labelled ``source``."""
        if not text:
            return []
        cache = self._queries
        key = (text, looks)
        found = cache.get(key)
        if found is None:
            found = self._trips(text, looks)
            if len(cache) >= _QUERY_CACHE_SIZE:
                cache.clear()
            cache[key] = found
        if source == looks:
            return list(found)
        return [attrs.evolve(v, source=source, end=0) for v in found]

    def check_answer(self, answer: str) -> list[Verdict]:
        """Every verdict on the answer, earliest first."""
        return self._trips(answer, "answer") if answer else []

    def check_product(self, category: str) -> Verdict | None:
        """The first product gate that ``category`` (a category path) trips, or None."""
        if not category:
            return None
        verdicts = self.check_turn(category, "product", "product")
        return verdicts[0] if verdicts else None


class GrowingAnswer:
    """``GateSet.check_answer`` for a text that grows at its end, scanning only what is new.

    An occurrence is final once the text runs far enough past it that no
    longer keyword could still end later and change it: ``reach`` past its
    end for a part to stop being whole-word or to gain an exception around
    it; twice that for whether an exception covers it to be final.  Each
    check scans from where an occurrence that was not final before could
    start, keeps the first final end of each gate's parts, and counts the
    others for this check only.  Patterns are searched in the whole text
    (they can match anything).  A text that does not extend the last one
    starts over.
    """

    def __init__(self, gates: GateSet) -> None:
        self._gates = gates
        self._text = ""
        # Per gate: part -> first end, among final occurrences.
        self._final: list[dict[str, int]] = [{} for _ in gates.gates]
        self._final_exceptions: list[_Occurrence] = []

    def check(self, text: str) -> list[Verdict]:
        """``check_answer(text)``."""
        if not text:
            return []
        gates = self._gates
        if gates._matcher is None:
            return gates._trips_from(text, "answer", self._final)
        if not text.startswith(self._text):
            self._text = ""
            self._final = [{} for _ in gates.gates]
            self._final_exceptions = []
        reach = gates.reach
        scanned = len(self._text)
        size = len(text)
        # An occurrence not final at the last check ends past
        # ``scanned - 2 * reach`` and so starts past ``scanned - 3 * reach``;
        # one more character for the word-boundary rule.
        start = max(0, scanned - 3 * reach - 1)
        exception_of = gates._exception_of
        # A final exception ending at or before ``start`` can cover no part
        # looked at from now on (those end later): dropped, so the list
        # stays short however long the answer grows.
        self._final_exceptions = [e for e in self._final_exceptions if e[1] > start]
        covers = list(self._final_exceptions)
        parts: list[_Occurrence] = []
        for occurrence in gates._occurrences(text[start:], start):
            s, end, key = occurrence
            if start and s <= start:
                continue  # read without the character before it; final already
            if key in exception_of and end + reach > scanned:
                if end + reach <= size:
                    self._final_exceptions.append(occurrence)
                covers.append(occurrence)
            if end + 2 * reach > scanned:
                parts.append(occurrence)  # not counted as final before
        # A part ending ``2 * reach`` before the end is final, and so is
        # every exception that can cover it (it ends at most ``reach`` later).
        now_final = [o for o in parts if o[1] + 2 * reach <= size]
        if now_final:
            for final, seen in zip(self._final, gates._firsts([*covers, *now_final]), strict=True):
                for part, end in seen.items():
                    if end + 2 * reach <= size and (part not in final or end < final[part]):
                        final[part] = end
        self._text = text
        merged: list[dict[str, int]] = []
        for final, now in zip(self._final, gates._firsts([*covers, *parts]), strict=True):
            both = dict(final)
            for part, end in now.items():
                if part not in both or end < both[part]:
                    both[part] = end
            merged.append(both)
        return gates._trips_from(text, "answer", merged)
