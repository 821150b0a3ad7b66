"""Turning a chosen product into link markup, through Jinja2 templates.

A template renders the whole link with the mention as ``{{ text }}``.  The
renderer renders it once with a sentinel in place of the mention and splits
there: what comes before is inserted before the mention, what comes after is
inserted after it.  The mention itself is never re-rendered, so the answer's
own characters reach the output untouched.

Templates ship as package resources (``shoplink/templates``).  A user
overrides one by passing a folder or a Jinja loader; the others still come
from the package (a ``ChoiceLoader`` falls through on ``TemplateNotFound``).
"""

from __future__ import annotations

import os
from typing import Protocol

import attrs
import jinja2

from ._exceptions import ConfigError
from ._urls import markdown_destination, markdown_inline, markdown_text

__all__ = ["InlineMarkdownRenderer", "LinkMarkup", "Renderer", "make_environment"]

_SENTINEL = "\ue000shoplink-mention\ue001"

TemplateSource = str | os.PathLike[str] | jinja2.BaseLoader | None


@attrs.frozen
class LinkMarkup:
    """The two pieces of markup around one mention."""

    prefix: str
    suffix: str


class Renderer(Protocol):
    """Renders the markup that wraps one mention.

    ``url`` is the final link target (not yet encoded for the output
    format), ``label`` the disclosure text or None, ``lang`` ``"zh"``/``"en"``.
    """

    def wrap(self, *, url: str, label: str | None, lang: str, title: str) -> LinkMarkup:
        """Return the prefix and suffix to insert around the mention."""
        ...


def make_environment(
    templates: TemplateSource = None, *, autoescape: bool = False
) -> jinja2.Environment:
    """A Jinja2 environment over the user's templates, then the built-in ones.

    Args:
        templates: a folder path or a Jinja loader whose templates take
            precedence over the built-in ones, or None for built-ins only.
        autoescape: True for HTML output.
    """
    builtin = jinja2.PackageLoader("shoplink", "templates")
    loader: jinja2.BaseLoader
    if templates is None:
        loader = builtin
    elif isinstance(templates, jinja2.BaseLoader):
        loader = jinja2.ChoiceLoader([templates, builtin])
    else:
        loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(os.fspath(templates)), builtin])
    env = jinja2.Environment(
        loader=loader,
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )
    env.filters["md_url"] = markdown_destination
    env.filters["md_text"] = markdown_text
    env.filters["md_inline"] = markdown_inline
    return env


class InlineMarkdownRenderer:
    """Inline Markdown link ``[mention](url)`` followed by the disclosure label.

    Args:
        templates: overrides for ``inline.md.j2`` (see ``make_environment``).

    Raises:
        ConfigError: the template does not render ``{{ text }}`` exactly once,
            or its output does not start with ``[`` / contain ``](``.
    """

    template_name = "inline.md.j2"

    def __init__(self, templates: TemplateSource = None) -> None:
        self._env = make_environment(templates)
        try:
            self._template = self._env.get_template(self.template_name)
        except jinja2.TemplateError as exc:
            raise ConfigError(f"template {self.template_name}: {exc}") from exc
        # Render once up front so a broken override fails at construction.
        self.wrap(url="https://example.com/", label="Sponsored", lang="en", title="x")

    def wrap(self, *, url: str, label: str | None, lang: str, title: str) -> LinkMarkup:
        """Render the prefix and suffix around a mention (see ``Renderer``)."""
        try:
            out = self._template.render(
                text=_SENTINEL, url=url, label=label, lang=lang, title=title
            )
        except jinja2.TemplateError as exc:
            raise ConfigError(f"template {self.template_name}: {exc}") from exc
        if out.count(_SENTINEL) != 1:
            raise ConfigError(
                f"template {self.template_name} must render {{{{ text }}}} exactly once"
            )
        prefix, suffix = out.split(_SENTINEL)
        if prefix != "[" or not suffix.startswith("]("):
            raise ConfigError(
                f"template {self.template_name} must render an inline link: "
                "'[' + text + '](' ... (extra text goes after the link)"
            )
        if "\n" in suffix or "\r" in suffix:
            raise ConfigError(f"template {self.template_name} must render on one line")
        return LinkMarkup(prefix, suffix)


def label_markdown(label: str) -> str:
    """``label`` escaped for Markdown text (exposed for templates and tests)."""
    return markdown_text(label)
