"""Disclosure labels: the visible words that mark a link as a paid or shopping link.

Presets:

- ``"cn"``: 广告.  China's Advertising Law (art. 14) and the SAMR rules for
  internet advertising require paid links in content to be marked "广告".
- ``"us"``: Sponsored.  The FTC's endorsement guides ask for a clear, plain
  disclosure next to the link; "Sponsored" is the word readers recognise.
- ``"auto"`` (default): ``"cn"`` for an answer in Chinese, ``"us"`` otherwise.
  The language is taken from the user's query when it has any letters, else
  from the sentence around the mention without the mention itself (a Latin
  product name in a Chinese sentence is still a Chinese answer); the
  sentence lies in the mention's block, so a streamed answer gets the same
  label as a whole one.
"""

from __future__ import annotations

import re
from typing import Final

from ._exceptions import ConfigError

__all__ = ["LABEL_PRESETS", "detect_language", "resolve_label"]

LABEL_PRESETS: Final = {"cn": "广告", "us": "Sponsored"}
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


def detect_language(sample: str) -> str:
    """``"zh"`` if the sample is mainly Chinese, else ``"en"``.

    A Han character carries roughly a word, a Latin letter a fraction of
    one, hence the factor: ``推荐 iPhone 16`` counts as Chinese.
    """
    return language_of_counts(*count_scripts(sample))


def count_scripts(sample: str) -> tuple[int, int]:
    """How many Han characters and Latin letters ``sample`` has."""
    return len(_HAN.findall(sample)), len(_LATIN.findall(sample))


def language_of_counts(han: int, latin: int) -> str:
    """The language ``detect_language`` gives for these counts."""
    return "zh" if han and han * 4 >= latin else "en"


def validate_label(label: str | None) -> str | None:
    """Check a ``label=`` argument; returns it unchanged.

    Raises:
        ConfigError: the label is empty or contains a line break or control
            character (it must sit inline next to the link).
    """
    if label is None or label in ("auto", *LABEL_PRESETS):
        return label
    if not isinstance(label, str):
        raise ConfigError(f"label must be a string or None, got {type(label).__name__}")
    if not label.strip():
        raise ConfigError("label must not be blank; use label=None to turn it off")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in label):
        raise ConfigError("label must not contain line breaks or control characters")
    if len(label) > 40:
        raise ConfigError("label must be at most 40 characters")
    return label


def resolve_label(label: str | None, lang: str) -> str | None:
    """The visible label text for a link in an answer of language ``lang``."""
    if label is None:
        return None
    if label == "auto":
        return LABEL_PRESETS["cn" if lang == "zh" else "us"]
    return LABEL_PRESETS.get(label, label)
