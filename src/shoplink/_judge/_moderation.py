"""Upstream moderation verdicts, in the shapes moderation services return them.

A chat application usually runs a moderation model on the conversation
already.  ``link(..., moderation=...)`` takes its result as it comes:

* an OpenAI moderation result: the response (``results``), one result, or
  its ``categories`` / ``category_scores`` (objects or dicts; the SDK's
  attribute names such as ``self_harm_intent`` and the API's
  ``self-harm/intent`` both work);
* Azure AI Content Safety: the response (``categoriesAnalysis`` /
  ``categories_analysis``) or its list of ``{category, severity}``;
* a plain set of flags (``{"self-harm"}``) or a mapping of flags to
  booleans or scores.

Every flagged category blocks every link; ``self-harm`` in any form maps to
``self_harm`` and ``sexual/minors`` to ``minors``, the rest keep their own
name (``moderation:violence``).  Scores count from ``SCORE_THRESHOLD``;
Azure severities from ``AZURE_SELF_HARM_SEVERITY`` for self-harm and
``AZURE_SEVERITY`` for the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .._exceptions import ConfigError
from ._verdict import Verdict

__all__ = [
    "AZURE_SELF_HARM_SEVERITY",
    "AZURE_SEVERITY",
    "SCORE_THRESHOLD",
    "moderation_verdicts",
]

#: A category score (0..1) at or above this counts as flagged.
SCORE_THRESHOLD = 0.5
#: Azure severity (0, 2, 4, 6) from which its self-harm category counts.
AZURE_SELF_HARM_SEVERITY = 2
#: Azure severity from which its other categories count.
AZURE_SEVERITY = 4

_MAP = {"selfharm": "self_harm", "sexualminors": "minors"}


def _canonical(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _category(name: str) -> str:
    key = _canonical(name)
    if key.startswith("selfharm"):
        return "self_harm"
    return _MAP.get(key, f"moderation:{name}")


def _as_mapping(value: Any) -> Mapping[str, Any] | None:
    if isinstance(value, Mapping):
        return value
    dump = getattr(value, "model_dump", None)  # pydantic models (OpenAI's SDK)
    if callable(dump):
        try:
            dumped = dump(by_alias=True)
        except TypeError:
            dumped = dump()
        if isinstance(dumped, Mapping):
            return dumped
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    return None


def _field(value: Any, *names: str) -> Any:
    mapping = _as_mapping(value)
    for name in names:
        if mapping is not None and name in mapping:
            return mapping[name]
        if mapping is None and hasattr(value, name):
            return getattr(value, name)
    return None


def _flagged(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value) >= SCORE_THRESHOLD
    if value is None:
        return False
    raise ConfigError(f"moderation: a flag must be a bool or a score, got {type(value).__name__}")


def _from_flags(flags: Mapping[str, Any], what: str) -> list[Verdict]:
    out = []
    for name, value in flags.items():
        if _flagged(value):
            out.append(_verdict(str(name), what))
    return out


def _verdict(name: str, what: str) -> Verdict:
    return Verdict(_category(name), f"{name} ({what})", "moderation", judge="moderation")


def _azure(items: Iterable[Any]) -> list[Verdict]:
    out = []
    for item in items:
        name = _field(item, "category")
        severity = _field(item, "severity")
        if not isinstance(name, str) or not isinstance(severity, (int, float)):
            raise ConfigError("moderation: Azure category results need 'category' and 'severity'")
        name = getattr(name, "value", name)
        bar = AZURE_SELF_HARM_SEVERITY if _canonical(name) == "selfharm" else AZURE_SEVERITY
        if severity >= bar:
            out.append(
                Verdict(
                    _category(name),
                    f"{name} severity {severity} (Azure AI Content Safety)",
                    "moderation",
                    judge="moderation",
                )
            )
    return out


def _openai_result(result: Any) -> list[Verdict]:
    categories = _as_mapping(_field(result, "categories"))
    if categories is not None:
        return _from_flags(
            {k: v for k, v in categories.items() if v is not None}, "moderation flag"
        )
    scores = _as_mapping(_field(result, "category_scores"))
    if scores is not None:
        return _from_flags(scores, f"moderation score >= {SCORE_THRESHOLD}")
    raise ConfigError("moderation: a result needs 'categories' or 'category_scores'")


def moderation_verdicts(moderation: object) -> tuple[Verdict, ...]:
    """The verdicts an upstream moderation result holds (see the module docs).

    Raises:
        ConfigError: the value is in none of the shapes understood.
    """
    if moderation is None:
        return ()
    if isinstance(moderation, str):
        return (_verdict(moderation, "flag"),)
    if isinstance(moderation, (set, frozenset, list, tuple)) and all(
        isinstance(v, str) for v in moderation
    ):
        return tuple(_verdict(v, "flag") for v in sorted(moderation))
    results = _field(moderation, "results")
    if isinstance(results, (list, tuple)):
        return tuple(v for r in results for v in _openai_result(r))
    azure = _field(moderation, "categoriesAnalysis", "categories_analysis")
    if isinstance(azure, (list, tuple)):
        return tuple(_azure(azure))
    if isinstance(moderation, (list, tuple)):
        return tuple(_azure(moderation))
    if (
        _field(moderation, "categories") is not None
        or _field(moderation, "category_scores") is not None
    ):
        return tuple(_openai_result(moderation))
    mapping = _as_mapping(moderation)
    if mapping is not None and all(isinstance(k, str) for k in mapping):
        return tuple(_from_flags(mapping, "flag"))
    raise ConfigError(
        "moderation: pass an OpenAI or Azure moderation result, a set of flags, "
        f"or a mapping of flags; got {type(moderation).__name__}"
    )
