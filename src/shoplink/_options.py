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
from typing import TypedDict

import attrs

from ._exceptions import ConfigError
from ._links import LinkContext

__all__ = ["CallOptions", "LinkOptions"]


class LinkOptions(TypedDict, total=False):
    """The per-call keywords of ``Linker.link`` and of every stream entry point.

    Keys:
        now: the time prices are judged fresh against (default: the current
            time, UTC; a stream takes it once, when it starts).
        context: answer and conversation ids for the merchants' URL
            builders (tracking); position and style are filled in.
    """

    now: _dt.datetime | None
    context: LinkContext | None


@attrs.frozen
class CallOptions:
    """``LinkOptions`` as one frozen value, checked (private)."""

    now: _dt.datetime | None = None
    context: LinkContext | None = None

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
