"""The exceptions shoplink raises.

One root, and every subclass also inherits the builtin a caller would
naturally catch, so ``except ValueError`` keeps working::

    ShoplinkError(Exception)
    ├── CatalogError(ShoplinkError, ValueError)      bad catalog data: path, line, field
    ├── AnswerError(ShoplinkError, ValueError)       an answer that cannot be read at all
    ├── ConfigError(ShoplinkError, ValueError)       bad arguments to Linker & co.
    ├── IndexFileError(ShoplinkError, ValueError)    a compiled index file that is stale,
    │                                                built for another catalog, or corrupt
    ├── LinkError(ShoplinkError, ValueError)         a merchant's URL builder failed
    └── StreamError(ShoplinkError, RuntimeError)     a stream used out of order: fed after
                                                     its end, or its result read before it

"No product for this mention" is never an exception: it is an ordinary
result, recorded in ``LinkResult.skipped``.
"""

from __future__ import annotations

__all__ = [
    "AnswerError",
    "CatalogError",
    "ConfigError",
    "IndexFileError",
    "LinkError",
    "ShoplinkError",
    "StreamError",
]


class ShoplinkError(Exception):
    """Root of every error shoplink raises on purpose."""


class CatalogError(ShoplinkError, ValueError):
    """A catalog row (or the whole catalog file) is unusable.

    Attributes:
        path: the file or source the row came from (``"<memory>"`` if none).
        line: the 1-based line number in that file (``0`` for the file as a
            whole, or for sources without lines).
        field: the offending field's name, or ``""`` for the row as a whole.
        reason: what is wrong, in plain words.

    ``str(error)`` is ``PATH:LINE: field: reason``, the form the CLI prints.
    """

    def __init__(
        self, reason: str, *, path: str = "<memory>", line: int = 0, field: str = ""
    ) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.reason = reason
        super().__init__(self.location_message())

    def location_message(self) -> str:
        """``PATH:LINE: field: reason``, leaving out the parts that are unknown."""
        where = f"{self.path}:{self.line}" if self.line else self.path
        what = f"{self.field}: {self.reason}" if self.field else self.reason
        return f"{where}: {what}"


class AnswerError(ShoplinkError, ValueError):
    """The answer given to the linker cannot be read (not text, bad encoding)."""


class ConfigError(ShoplinkError, ValueError):
    """An argument to a shoplink constructor or function is invalid."""


class StreamError(ShoplinkError, RuntimeError):
    """A stream was used out of order.

    Raised by ``LinkStream.feed`` or ``flush`` after ``flush``, and when a
    stream's ``result`` is read before the answer has ended (``flush``, or
    the end of ``Linker.stream``/``astream``'s iteration).  A
    ``RuntimeError`` too, as ``feed`` after ``flush`` always raised.
    """


class LinkError(ShoplinkError, ValueError):
    """A merchant's URL builder failed or built a URL that is not allowed.

    The linker never lets this escape ``link``: the mention stays unlinked
    and ``LinkResult.skipped`` says why (``SkipReason.LINK_FAILED``).
    """


class IndexFileError(ShoplinkError, ValueError):
    """A compiled index file cannot be used: never a reason to link wrongly.

    Raised when the file is not a shoplink index, is of another format
    version, was built from another catalog (its fingerprint differs), or is
    truncated or corrupt.

    Attributes:
        path: the file (or a description of the file object).
        reason: what is wrong, in plain words.

    ``str(error)`` is ``PATH: reason``.
    """

    def __init__(self, reason: str, *, path: str = "<memory>") -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")
