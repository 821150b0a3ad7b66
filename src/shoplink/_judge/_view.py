"""The text a judge reads: script-folded and spacing-folded, with a way back.

People write the same words in many ways.  Before term lists and patterns
look at a query or an answer, the text is brought to one form:

* traditional Chinese characters become simplified ones (OpenCC's ``t2s``
  table, the maintained converter), one character for one, so 自殺 and
  自杀 are one term;
* a few characters that Taiwan and Hong Kong write for a different
  simplified one in context (活著 -> 活着) are folded too;
* whitespace and separators put between Chinese characters to dodge a
  filter (``我 想 死``, ``我.想.死``) are dropped;
* curly apostrophes become straight ones (``I’m`` -> ``I'm``).

Case and width are folded later by the keyword matcher, as for catalog
keywords.  ``origin[i]`` is the offset in the original text of the view's
``i``-th character, so a verdict reports the user's own offsets.
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["MAX_STRETCH", "JudgeView", "view_of"]

_opencc: Any
try:  # OpenCC is a declared dependency; its absence only costs the t2s fold.
    import opencc as _opencc
except ImportError:  # pragma: no cover - exercised only on a broken install
    _opencc = None

# Drop at most this many separators between two Chinese characters: a
# view character then stands for at most ``MAX_STRETCH`` original ones,
# which bounds how far back a stream must look again.
_MAX_GAP = 3
MAX_STRETCH = _MAX_GAP + 1

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_GAP = re.compile(f"(?<=[{_HAN}])[\\s.·・_\\-*~/|]{{1,{_MAX_GAP}}}(?=[{_HAN}])")

# Characters OpenCC's ``t2s`` keeps because they are also simplified
# characters, but which traditional text uses for another simplified one
# in the words a judge looks for.
_EXTRA = str.maketrans({"著": "着", "\u2019": "'", "\u2018": "'", "妳": "你", "祢": "你"})


@functools.lru_cache(maxsize=1)
def _converter() -> Any:
    if _opencc is None:  # pragma: no cover
        return None
    return _opencc.OpenCC("t2s")


# The Han characters OpenCC's t2s table maps one for one.  Built once, from
# OpenCC itself, each character converted alone (a phrase rule must not
# join neighbours); then folding a text is one ``str.translate``, with no
# call into OpenCC per text.
_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))


@functools.lru_cache(maxsize=1)
def _t2s_table() -> dict[int, str]:
    conv = _converter()
    if conv is None:  # pragma: no cover
        return {}
    chars = [chr(c) for lo, hi in _HAN_RANGES for c in range(lo, hi + 1)]
    converted = conv.convert("\n".join(chars)).split("\n")
    table: dict[int, str] = {}
    if len(converted) == len(chars):
        for ch, out in zip(chars, converted, strict=True):
            if out != ch and len(out) == 1:
                table[ord(ch)] = out
    return table


@functools.lru_cache(maxsize=1)
def _traditional() -> re.Pattern[str]:
    """A character class of the characters ``_t2s_table`` changes."""
    keys = "".join(sorted(chr(c) for c in _t2s_table()))
    return re.compile(f"[{re.escape(keys)}]" if keys else "(?!)")


def _t2s(text: str) -> str:
    """``text`` in simplified characters, one character for one."""
    # Most Chinese text is simplified already: one scan, no copy.
    if _traditional().search(text) is None:
        return text
    return text.translate(_t2s_table())


class JudgeView:
    """A text as judges read it, and the way back to the original offsets.

    Attributes:
        text: the folded text.
        origin: ``origin[i]`` is the original offset of ``text[i]``; None
            when the view has the original's offsets (nothing was dropped).
    """

    __slots__ = ("origin", "text")

    def __init__(self, text: str, origin: list[int] | None) -> None:
        self.text = text
        self.origin = origin

    def start_in_original(self, start: int) -> int:
        """The original offset of the view's ``text[start]``."""
        if self.origin is None:
            return start
        if start < len(self.origin):
            return self.origin[start]
        return self.origin[-1] + 1 if self.origin else 0

    def end_in_original(self, end: int) -> int:
        """The original offset just past the view's ``text[:end]``."""
        if self.origin is None or end <= 0:
            return end
        return self.origin[end - 1] + 1


def view_of(text: str) -> JudgeView:
    """The judge's view of ``text`` (see the module docs)."""
    if not text.isascii():
        text = _t2s(text).translate(_EXTRA)
    drop: list[tuple[int, int]] = [(m.start(), m.end()) for m in _GAP.finditer(text)]
    if "  " in text or "\t" in text or _LONG_RUN.search(text):
        drop.extend(_spread_out(text))
    if not drop:
        return JudgeView(text, None)
    drop.sort()
    pieces: list[str] = []
    origin: list[int] = []
    at = 0
    for start, end in drop:
        if start < at:
            start = at
        if start >= end:
            continue
        pieces.append(text[at:start])
        origin.extend(range(at, start))
        at = end
    pieces.append(text[at:])
    origin.extend(range(at, len(text)))
    return JudgeView("".join(pieces), origin)


_WIDE = re.compile(r"[ \t]{2,4}")
_LETTERS = re.compile(r"(?:[A-Za-z0-9] )+[A-Za-z0-9]")
_LONG_RUN = re.compile(r"(?<![A-Za-z0-9])(?:[A-Za-z] ){4,}[A-Za-z](?![A-Za-z0-9])")


def _spread_out(text: str) -> list[tuple[int, int]]:
    """What to drop of words spelt out letter by letter (``w a n t   t o   d i e``).

    Such a word is a run of single letters with one space between them,
    set off by two or more spaces or the text's ends; its spaces go, and
    each longer run of spaces becomes one.
    """
    out: list[tuple[int, int]] = []
    at = 0
    for wide in (*_WIDE.finditer(text), None):
        end = wide.start() if wide is not None else len(text)
        segment = text[at:end]
        if _LETTERS.fullmatch(segment.strip()):
            lead = len(segment) - len(segment.lstrip())
            out.extend((i, i + 1) for i in range(at + lead + 1, at + len(segment.rstrip()), 2))
        else:
            # Within words set one space apart: a run of five or more
            # single letters is a word spelt out (``s u i c i d e``).
            for run in _LONG_RUN.finditer(segment):
                out.extend((at + i, at + i + 1) for i in range(run.start() + 1, run.end(), 2))
        if wide is not None:
            out.append((wide.start() + 1, wide.end()))
            at = wide.end()
    return out
