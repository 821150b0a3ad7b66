"""Logging: the standard ``logging`` module, under the ``shoplink`` logger.

The library configures nothing: ``shoplink/__init__.py`` adds a
``NullHandler`` to the ``shoplink`` logger (the library convention), so
nothing is printed unless the application configures logging.  What is
logged:

- INFO, logger ``shoplink.catalog``: a catalog loaded (file or adapters),
  with counts of products, rejected rows and failed adapters.
- INFO, logger ``shoplink.index``: a keyword index built or loaded, with
  its size, backend and time.
- DEBUG, logger ``shoplink.linker``: one record per decision of a
  ``link()`` call or a stream: each mention linked (to which product) or
  skipped (with the reason and detail), in the order of the answer.

The per-decision records are made from the finished ``LinkResult`` (one
helper called at the end of ``Linker.link`` and at the end of a stream), so
a stream, which re-links as it goes, logs each decision once, and logs
what ``link()`` would.
"""

from __future__ import annotations

import logging

from ._result import LinkResult

__all__ = ["catalog_log", "index_log", "linker_log", "log_decisions"]

catalog_log = logging.getLogger("shoplink.catalog")
index_log = logging.getLogger("shoplink.index")
linker_log = logging.getLogger("shoplink.linker")


def log_decisions(result: LinkResult) -> None:
    """One DEBUG record per mention of ``result``: linked or skipped, and why.

    Each record carries ``shoplink_decision`` (``"linked"`` or the skip
    reason), ``shoplink_mention`` and ``shoplink_start`` as attributes, for
    handlers that filter or index them.
    """
    if not linker_log.isEnabledFor(logging.DEBUG):
        return  # the common case costs one check
    events: list[tuple[int, str, str, tuple[object, ...], str]] = []
    for link in result.links:
        events.append(
            (
                link.start,
                "linked %r at %d to %s (%s)",
                "linked",
                (link.mention, link.start, link.product_id, link.merchant),
                link.mention,
            )
        )
    for skip in result.skipped:
        events.append(
            (
                skip.start,
                "skipped %r at %d: %s%s",
                skip.reason.value,
                (
                    skip.mention,
                    skip.start,
                    skip.reason.value,
                    f" ({skip.detail})" if skip.detail else "",
                ),
                skip.mention,
            )
        )
    events.sort(key=lambda event: event[0])
    for start, message, decision, args, mention in events:
        linker_log.debug(
            message,
            *args,
            extra={
                "shoplink_decision": decision,
                "shoplink_mention": mention,
                "shoplink_start": start,
            },
        )
