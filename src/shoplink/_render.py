"""The Jinja2 environment every form renders its markup with.

Templates ship as package resources (``shoplink/templates``).  A user
overrides one by passing a folder or a Jinja loader; the others still come
from the package (a ``ChoiceLoader`` falls through on ``TemplateNotFound``).
"""

from __future__ import annotations

import os

import jinja2

from ._urls import markdown_destination, markdown_inline, markdown_price, markdown_text

__all__ = ["TemplateSource", "make_environment"]

TemplateSource = str | os.PathLike[str] | jinja2.BaseLoader | None


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
    env.filters["md_price"] = markdown_price
    return env
