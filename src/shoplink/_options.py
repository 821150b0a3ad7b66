"""The per-call options of linking: one set of keywords, one frozen value.

``Linker.link`` and every stream entry point (``Linker.stream``,
``Linker.astream``, ``Linker.streamer``, ``LinkStream``) take the same
per-call keywords with the same meaning.  The stream entry points declare
them once, as ``**options: Unpack[LinkOptions]``, and turn them into one
``CallOptions`` value at the boundary; everything below (the stream, its
re-links through ``Linker._link_from``) passes that value on as it is.

Adding a per-call option is one key in ``LinkOptions`` and the field of the
same name in ``CallOptions`` (``tests/test_stream_receipts.py`` checks that
the two agree), and reading it where it is used.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import TypedDict

import attrs

from ._exceptions import AnswerError, ConfigError
from ._judge import Turn
from ._links import LinkContext

__all__ = ["CallOptions", "HistoryOption", "LinkOptions", "as_text", "turns"]

#: What ``history=`` accepts: earlier turns, oldest first, each a ``Turn``,
#: a chat message mapping (``{"role": ..., "content": ...}``, the shape of
#: OpenAI's and Anthropic's messages; system and tool messages are left
#: out) or a string (a user turn).
HistoryOption = Iterable["Turn | Mapping[str, object] | str"] | None


class LinkOptions(TypedDict, total=False):
    """The per-call keywords of ``Linker.link`` and of every stream entry point.

    Keys:
        now: the time prices are judged fresh against (default: the current
            time, UTC; a stream takes it once, when it starts).
        context: answer and conversation ids for the merchants' URL
            builders (tracking); position and style are filled in.
        history: the conversation's earlier turns (``HistoryOption``),
            judged like the query.
        moderation: an upstream moderation result for the conversation
            (OpenAI's, Azure's, or a set of flags): a flagged category
            blocks every link.
    """

    now: _dt.datetime | None
    context: LinkContext | None
    history: HistoryOption
    moderation: object


@attrs.frozen
class CallOptions:
    """``LinkOptions`` as one frozen value, checked (private)."""

    now: _dt.datetime | None = None
    context: LinkContext | None = None
    history: HistoryOption = None
    moderation: object = None

    @classmethod
    def of(cls, options: LinkOptions) -> CallOptions:
        """The value of keywords given to an entry point.

        Raises:
            TypeError: a keyword that is no option (as Python raises for an
                unknown keyword argument).
            ConfigError: an option of the wrong type.
        """
        unknown = sorted(set(options) - _NAMES)
        if unknown:
            raise TypeError(
                f"unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
                f"the per-call options are {', '.join(sorted(_NAMES))}"
            )
        value = cls(**options)
        if value.now is not None and not isinstance(value.now, _dt.datetime):
            raise ConfigError(f"now must be a datetime or None, got {type(value.now).__name__}")
        if value.context is not None and not isinstance(value.context, LinkContext):
            raise ConfigError(
                f"context must be a LinkContext or None, got {type(value.context).__name__}"
            )
        return value


_NAMES = frozenset(attrs.fields_dict(CallOptions))


def as_text(value: object, what: str) -> str:
    """``value`` as text: ``str``, or UTF-8 bytes decoded.

    Raises:
        AnswerError: not text, or not valid UTF-8 (naming byte and line).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise AnswerError(
                f"{what} is not valid UTF-8: byte {exc.start} (line {line})"
            ) from None
    raise AnswerError(f"{what} must be str, got {type(value).__name__}")


def turns(history: HistoryOption) -> tuple[Turn, ...]:
    """``history`` as turns (see ``HistoryOption``)."""
    if history is None:
        return ()
    if isinstance(history, (str, bytes)) or not isinstance(history, Iterable):
        raise AnswerError("history must be a sequence of turns, not a single value")
    out: list[Turn] = []
    for i, item in enumerate(history):
        if isinstance(item, Turn):
            out.append(item)
            continue
        if isinstance(item, (str, bytes, bytearray)):
            out.append(Turn("user", as_text(item, f"history[{i}]")))
            continue
        if not isinstance(item, Mapping):
            raise AnswerError(
                f"history[{i}] must be a Turn, a message mapping or a string, "
                f"got {type(item).__name__}"
            )
        role = item.get("role")
        if role not in ("user", "assistant", "system", "developer", "tool"):
            raise AnswerError(f"history[{i}].role must be 'user' or 'assistant', got {role!r}")
        if role != "user" and role != "assistant":
            continue  # system and tool messages say nothing of the user
        content = item.get("content")
        if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
            content = "\n".join(
                str(part.get("text", "")) for part in content if isinstance(part, Mapping)
            )
        said = as_text(content, f"history[{i}].content")
        out.append(Turn("user" if role == "user" else "assistant", said))
    return tuple(out)
