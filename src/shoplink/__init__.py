"""shoplink: recommendation-safe shopping links for AI assistants' answers.

Give it a catalog and an assistant's answer; it links the products the
answer already names, chosen by relevance alone, disclosed, and without
changing a word of the answer::

    import shoplink

    linker = shoplink.Linker(shoplink.demo_catalog())
    result = linker.link(answer, query="敏感肌适合用什么样的面膜")
    result.text    # the answer with links
    result.links   # what was linked, where, and why
"""

import importlib.metadata as _metadata

from ._catalog import Catalog, RejectedRow, load_catalog
from ._demo import DemoAnswer, demo_answers, demo_catalog
from ._exceptions import (
    AnswerError,
    CatalogError,
    ConfigError,
    IndexFileError,
    NotSupportedError,
    ShoplinkError,
)
from ._index import ProductIndex
from ._labels import LABEL_PRESETS
from ._linker import DEFAULT_MAX_LINKS, Linker
from ._model import Availability, CommercialTerms, Merchant, Product, RelevanceProfile
from ._render import InlineMarkdownRenderer, LinkMarkup, Renderer
from ._result import Candidate, Insertion, Link, LinkResult, Skip, SkipReason

try:
    __version__ = _metadata.version("shoplink")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"

__all__ = [
    "DEFAULT_MAX_LINKS",
    "LABEL_PRESETS",
    "AnswerError",
    "Availability",
    "Candidate",
    "Catalog",
    "CatalogError",
    "CommercialTerms",
    "ConfigError",
    "DemoAnswer",
    "IndexFileError",
    "InlineMarkdownRenderer",
    "Insertion",
    "Link",
    "LinkMarkup",
    "LinkResult",
    "Linker",
    "Merchant",
    "NotSupportedError",
    "Product",
    "ProductIndex",
    "RejectedRow",
    "RelevanceProfile",
    "Renderer",
    "ShoplinkError",
    "Skip",
    "SkipReason",
    "demo_answers",
    "demo_catalog",
    "load_catalog",
]
