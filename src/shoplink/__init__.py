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
import logging as _logging

from ._adapters import (
    GoogleMerchantFeed,
    HouseShop,
    JDUnionExport,
    OpenAIProductFeed,
    ShoplinkFile,
    TaobaoUnionExport,
)
from ._audit import AuditReport, QAPair, audit, load_qa
from ._catalog import Catalog, RejectedRow, load_catalog
from ._demo import DemoAnswer, demo_answers, demo_catalog
from ._exceptions import (
    AnswerError,
    CatalogError,
    ConfigError,
    IndexFileError,
    LinkError,
    ShoplinkError,
    StreamError,
)
from ._index import ProductIndex
from ._judge import (
    CONVERSATION_CATEGORIES,
    REGULATED_CATEGORIES,
    AnswerJudge,
    Conversation,
    ConversationJudge,
    Gate,
    GateTrip,
    ProductJudge,
    RuleJudge,
    Turn,
    Verdict,
    default_gates,
    moderation_verdicts,
)
from ._labels import LABEL_PRESETS
from ._linker import DEFAULT_MAX_LINKS, DEFAULT_MIN_GAP, Linker
from ._links import UTM, LinkBuilder, LinkContext, QueryTracking, add_query
from ._merchants import (
    AdapterFailure,
    InstalledMerchant,
    MerchantAdapter,
    SourceRow,
    installed_merchants,
)
from ._model import Availability, CommercialTerms, Merchant, Product, RelevanceProfile
from ._offers import DEFAULT_PRICE_MAX_AGE, Offer
from ._options import HistoryOption, LinkOptions
from ._rank import POLICY_VERSION
from ._result import Candidate, Insertion, Link, LinkResult, Skip, SkipReason
from ._stream import (
    AsyncLinkIterator,
    LinkIterator,
    LinkStream,
    atext_deltas,
    chunk_text,
    text_deltas,
)
from ._styles import default_stylesheet

# A library adds only a NullHandler: what is shown, and where, is the
# application's choice (docs/logging.md).
_logging.getLogger("shoplink").addHandler(_logging.NullHandler())

try:
    __version__ = _metadata.version("shoplink")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"

__all__ = [
    "CONVERSATION_CATEGORIES",
    "DEFAULT_MAX_LINKS",
    "DEFAULT_MIN_GAP",
    "DEFAULT_PRICE_MAX_AGE",
    "LABEL_PRESETS",
    "POLICY_VERSION",
    "REGULATED_CATEGORIES",
    "UTM",
    "AdapterFailure",
    "AnswerError",
    "AnswerJudge",
    "AsyncLinkIterator",
    "AuditReport",
    "Availability",
    "Candidate",
    "Catalog",
    "CatalogError",
    "CommercialTerms",
    "ConfigError",
    "Conversation",
    "ConversationJudge",
    "DemoAnswer",
    "Gate",
    "GateTrip",
    "GoogleMerchantFeed",
    "HistoryOption",
    "HouseShop",
    "IndexFileError",
    "Insertion",
    "InstalledMerchant",
    "JDUnionExport",
    "Link",
    "LinkBuilder",
    "LinkContext",
    "LinkError",
    "LinkIterator",
    "LinkOptions",
    "LinkResult",
    "LinkStream",
    "Linker",
    "Merchant",
    "MerchantAdapter",
    "Offer",
    "OpenAIProductFeed",
    "Product",
    "ProductIndex",
    "ProductJudge",
    "QAPair",
    "QueryTracking",
    "RejectedRow",
    "RelevanceProfile",
    "RuleJudge",
    "ShoplinkError",
    "ShoplinkFile",
    "Skip",
    "SkipReason",
    "SourceRow",
    "StreamError",
    "TaobaoUnionExport",
    "Turn",
    "Verdict",
    "add_query",
    "atext_deltas",
    "audit",
    "chunk_text",
    "default_gates",
    "default_stylesheet",
    "demo_answers",
    "demo_catalog",
    "installed_merchants",
    "load_catalog",
    "load_qa",
    "moderation_verdicts",
    "text_deltas",
]
