"""The ``shoplink`` command.

    shoplink link [FILE|-] [--catalog PATH] [--merchants FILE] [--query TEXT] [--style S] ...
    shoplink demo [--id ID | --all] [--style S] [--format F] [--json]
    shoplink check CATALOG [--merchants FILE]
    shoplink audit [QA.jsonl] [--catalog PATH] [--merchants FILE] [--style S] [--json] ...
    shoplink merchants
    shoplink index build --catalog PATH [--merchants FILE] -o FILE [--backend NAME]

Bad input (a catalog row, an unreadable answer) ends with exit status 2 and
one line ``PATH:LINE: field: reason`` on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ._audit import QAPair, audit, load_qa
from ._catalog import Catalog, load_catalog
from ._demo import DemoAnswer, demo_answers, demo_catalog
from ._exceptions import ShoplinkError
from ._index import ProductIndex
from ._linker import DEFAULT_MAX_LINKS, FORMATS, STYLES, Linker
from ._merchants import load_merchant_file
from ._model import Merchant
from ._offers import DEFAULT_PRICE_MAX_AGE
from ._result import LinkResult

__all__ = ["main"]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2


class _BadInput(Exception):
    """A one-line, user-facing input problem."""


def _out(text: str) -> None:
    # Write UTF-8 whatever the locale says: answers are mostly Chinese.
    sys.stdout.buffer.write(text.encode("utf-8", errors="surrogateescape"))
    sys.stdout.buffer.flush()


def _err(text: str) -> None:
    sys.stderr.buffer.write((text.rstrip("\n") + "\n").encode("utf-8", errors="backslashreplace"))
    sys.stderr.buffer.flush()


def _read_answer(source: str) -> str:
    name = "<stdin>" if source == "-" else source
    try:
        if source == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(source, "rb") as handle:
                data = handle.read()
    except OSError as exc:
        raise _BadInput(f"{name}: cannot read: {exc.strerror or exc}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise _BadInput(f"{name}:{line}: answer: contains a NUL byte (is it a binary file?)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start]
        raise _BadInput(
            f"{name}:{line}: answer: not valid UTF-8 (byte 0x{byte:02x} at column {column})"
        ) from None


def input_path(value: str) -> str:
    """An option or argument naming a file to read (argparse ``type``; a marker).

    Every such path is read with its errors turned into one line naming
    it; ``tests/test_cli.py`` finds them all by this type.
    """
    return value


def output_path(value: str) -> str:
    """An option naming a file to write (argparse ``type``; a marker)."""
    return value


def _merchants(path: str | None) -> tuple[Merchant, ...]:
    if path is None:
        return ()
    return load_merchant_file(path)


def _catalog(path: str | None, lenient: bool, merchants: str | None = None) -> Catalog:
    if path is None:
        if merchants is not None:
            raise _BadInput(f"{merchants}: --merchants needs --catalog (the demo has its own)")
        return demo_catalog()
    catalog = load_catalog(path, strict=not lenient, merchants=_merchants(merchants))
    for row in catalog.rejected:
        _err(f"skipped {row}")
    return catalog


def _cannot(exc: OSError, path: str | None, verb: str) -> str:
    """One line for a file that cannot be read or written: ``PATH: cannot read: reason``."""
    # Name the path the user gave (a write goes through a temporary file).
    name = path if path is not None else exc.filename
    return f"{name}: cannot {verb}: {exc.strerror or exc}"


def _max_links(value: str) -> int | None:
    if value.lower() in ("none", "all", "unlimited"):
        return None
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number or 'none', got {value!r}"
        ) from None
    if number < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return number


def _max_age(value: str) -> _dt.timedelta | None:
    if value.lower() in ("none", "any"):
        return None
    try:
        days = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected days or 'none', got {value!r}") from None
    if days < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return _dt.timedelta(days=days)


# The demo catalog's prices were checked on 2026-11-20; the demo shows them
# as of the next day so its output is the same whenever it runs.
_DEMO_NOW = _dt.datetime(2026, 11, 21, tzinfo=_dt.timezone.utc)


def _linker(
    catalog: Catalog, args: argparse.Namespace, style: str, index: str | None = None
) -> Linker:
    return Linker(
        catalog,
        style=style,
        format=args.format,
        label=args.label,
        max_links=args.max_links,
        price_max_age=args.price_max_age,
        index=index,
    )


def _label(value: str) -> str | None:
    if not value.strip():
        # ``Linker`` would say "use label=None": on the command line that is this.
        raise argparse.ArgumentTypeError("must not be blank; use --label none to turn it off")
    return None if value.lower() == "none" else value


def _summary(result: LinkResult, catalog: Catalog) -> str:
    # Why links did not belong, first: the receipt a reader looks for.
    why = [f"  ⊘ {verdict.describe()}" for verdict in result.verdicts]
    if not result.links and not result.skipped:
        return "\n".join(["no catalog product is mentioned", *why])
    parts = [*why]
    for link in result.links:
        merchant = catalog.merchant(link.merchant)
        house = ", house shop" if merchant.house else ""
        parts.append(
            f"  ↳ {link.mention} → {link.product_id} @ {merchant.name or merchant.id}{house}"
        )
    reasons = Counter(skip.reason.value for skip in result.skipped)
    skipped = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
    head = f"{len(result.links)} link(s)" + (f"; not linked: {skipped}" if skipped else "")
    return "\n".join([head, *parts])


def _cmd_link(args: argparse.Namespace) -> int:
    catalog = _catalog(args.catalog, args.lenient, args.merchants)
    try:
        linker = _linker(catalog, args, args.style or "inline", index=args.index)
    except OSError as exc:
        raise _BadInput(_cannot(exc, args.index, "read")) from None
    answer = _read_answer(args.file)
    result = linker.link(answer, query=args.query)
    if args.json:
        _out(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        _out(result.text)
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    catalog = demo_catalog()
    answers = demo_answers()
    if args.style is None and not args.json and not args.all:
        # Without --style: one sample answer (the first, or --id) in each of
        # the three forms.  With --all, every answer in the default form.
        first = answers[0] if not args.id else _pick(answers, args.id)
        for style in STYLES:
            result = _linker(catalog, args, style).link(
                first.text(args.format), first.query, now=_DEMO_NOW
            )
            _out(f"━━ style={style} format={args.format} · {first.id} · {first.query}\n\n")
            _out(result.text.rstrip() + "\n\n")
        if result.verdicts:
            _out("No shopping links in this conversation, because:\n")
            _out("".join(f"  ⊘ {verdict.describe()}\n" for verdict in result.verdicts) + "\n")
        _out(
            "More: shoplink demo --style card --all, --format html, --json;"
            " a conversation that gets no links: shoplink demo --id qa-16.\n"
        )
        return EXIT_OK
    linker = _linker(catalog, args, args.style or "inline")
    if args.id:
        chosen = [_pick(answers, args.id)]
    elif args.all:
        chosen = list(answers)
    else:
        chosen = list(answers[:1])
    # Only the answers shown are linked.
    results = [(a, linker.link(a.text(args.format), query=a.query, now=_DEMO_NOW)) for a in chosen]
    if args.json:
        payload: list[dict[str, Any]] = [
            {"id": a.id, "query": a.query, **r.to_dict()} for a, r in results
        ]
        _out(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        return EXIT_OK
    merchants = {m.id: m for m in catalog.merchants.values()}
    _out(
        f"shoplink demo: {len(catalog)} products from "
        f"{', '.join(m.name or m.id for m in merchants.values())}; "
        f"{len(answers)} sample answers.\n\n"
    )
    for answer, result in results:
        _out(f"━━ {answer.id} · {answer.query}\n\n{result.text.rstrip()}\n\n")
        _out(_summary(result, catalog) + "\n\n")
    if args.all:
        _out("━━ all sample answers\n")
        for answer, result in results:
            per = Counter(
                catalog.merchant(link.merchant).name or link.merchant for link in result.links
            )
            shops = ", ".join(f"{name} {n}" for name, n in sorted(per.items())) or "—"
            _out(f"  {answer.id}  {len(result.links)} link(s)  {shops}  · {answer.query}\n")
    else:
        _out("More: shoplink demo --all, or shoplink demo --id qa-02.\n")
    return EXIT_OK


def _pick(answers: Sequence[DemoAnswer], wanted: str) -> DemoAnswer:
    for answer in answers:
        if answer.id == wanted:
            return answer
    known = ", ".join(a.id for a in answers)
    raise _BadInput(f"demo: no sample answer {wanted!r} (have {known})")


def _cmd_check(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog, strict=False, merchants=_merchants(args.merchants))
    for row in catalog.rejected:
        _out(f"{row}\n")
    _out(f"{len(catalog)} product(s) loaded, {len(catalog.rejected)} row(s) rejected\n")
    return EXIT_BAD_INPUT if catalog.rejected else EXIT_OK


def _cmd_audit(args: argparse.Namespace) -> int:
    if args.file is None:
        pairs = [QAPair(a.id, a.query, a.text(args.format)) for a in demo_answers()]
    else:
        pairs = load_qa(args.file)
    catalog = _catalog(args.catalog, args.lenient, args.merchants)
    linker = _linker(catalog, args, args.style or "inline")
    report = audit(linker, pairs)
    if args.json:
        _out(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        _out(report.render())
    return EXIT_OK


def _cmd_merchants(args: argparse.Namespace) -> int:
    from ._merchants import installed_merchants

    found = installed_merchants()
    for m in found:
        about = _plain(m.description) or f"(cannot load: {m.error})"
        _out(f"{m.name}\t{m.module}\t{about}\n")
    if not found:
        _out("no merchant adapters installed (entry-point group shoplink.merchants)\n")
    return EXIT_OK


# reST inline markup in docstrings: ``literal``, :role:`target`, `text`.
_REST = re.compile(r"``(.+?)``|:[\w:.-]+:`([^`]+)`|`([^`]+)`")


def _plain(text: str) -> str:
    """A docstring line as plain text for the terminal: reST markup taken off."""
    return _REST.sub(lambda m: next(g for g in m.groups() if g is not None), text)


class _ProgressBar:
    """A one-line progress bar on stderr, shown only once a build takes a moment.

    Silent when stderr is not a terminal, and for the first half second, so
    small catalogs and scripts see no noise.
    """

    _DELAY = 0.5
    _WIDTH = 30

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.shown = False
        self.tty = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.tty or time.monotonic() - self.started < self._DELAY:
            return
        filled = self._WIDTH * done // max(total, 1)
        bar = "█" * filled + "·" * (self._WIDTH - filled)
        sys.stderr.write(f"\r{stage:>10} {bar} {done:>9,}/{total:,}")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _cmd_index_build(args: argparse.Namespace) -> int:
    bar = _ProgressBar()
    catalog = _catalog(args.catalog, args.lenient, args.merchants)
    try:
        index = ProductIndex(catalog, backend=args.backend, progress=bar)
    except ValueError as exc:
        raise _BadInput(f"{args.catalog}: {exc}") from None
    finally:
        bar.close()
    try:
        index.save(args.output)
    except OSError as exc:
        raise _BadInput(_cannot(exc, args.output, "write")) from None
    elapsed = time.monotonic() - bar.started
    _err(
        f"indexed {len(index.matcher):,} keywords of {len(catalog):,} products "
        f"({index.backend}) in {elapsed:.1f} s -> {args.output}"
    )
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shoplink",
        description="Attach disclosed, relevance-only shopping links to an assistant's answer.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def shared(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--label",
            type=_label,
            default="auto",
            help="disclosure text: auto (default), cn, us, any text, or none",
        )
        p.add_argument(
            "--max-links",
            type=_max_links,
            default=DEFAULT_MAX_LINKS,
            help=f"links per answer at most (default {DEFAULT_MAX_LINKS}; 'none' for no cap)",
        )
        p.add_argument("--json", action="store_true", help="print the whole plan as JSON")
        p.add_argument(
            "--style",
            choices=STYLES,
            default=None,
            help="inline (default), card or reference; unset, demo shows one answer in all three",
        )
        p.add_argument("--format", choices=FORMATS, default="markdown", help="the answer's format")
        p.add_argument(
            "--price-max-age",
            type=_max_age,
            default=DEFAULT_PRICE_MAX_AGE,
            metavar="DAYS",
            help=f"leave out prices checked longer ago (default {DEFAULT_PRICE_MAX_AGE.days}; "
            "'none' shows all)",
        )

    def merchants_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--merchants",
            type=input_path,
            metavar="FILE",
            help="JSON list of the merchants (id, name, house, domains) rows may name; "
            "a row of another merchant, or a URL off its domains, is then a bad row",
        )

    link = sub.add_parser(
        "link", help="link one answer (Markdown, or HTML with --format html) from a file or stdin"
    )
    link.add_argument(
        "file",
        nargs="?",
        default="-",
        metavar="FILE",
        type=input_path,
        help="answer file, or - for stdin",
    )
    link.add_argument(
        "--catalog",
        type=input_path,
        help="catalog file (.jsonl or .csv); default: the demo catalog",
    )
    link.add_argument("--query", help="the user's question, for relevance and label language")
    link.add_argument(
        "--lenient", action="store_true", help="skip bad catalog rows instead of stopping"
    )
    link.add_argument(
        "--index",
        type=input_path,
        help="index file built for --catalog by `shoplink index build`",
    )
    merchants_option(link)
    shared(link)
    link.set_defaults(run=_cmd_link)

    demo = sub.add_parser("demo", help="link the built-in sample answers with the demo catalog")
    which = demo.add_mutually_exclusive_group()
    which.add_argument("--id", help="show one sample answer")
    which.add_argument("--all", action="store_true", help="show every sample answer")
    shared(demo)
    demo.set_defaults(run=_cmd_demo)

    check = sub.add_parser("check", help="validate a catalog file and list every bad row")
    check.add_argument("catalog", metavar="CATALOG", type=input_path)
    merchants_option(check)
    check.set_defaults(run=_cmd_check)

    review = sub.add_parser(
        "audit", help="link a set of question/answer pairs and report links, skips and shares"
    )
    review.add_argument(
        "file",
        nargs="?",
        default=None,
        metavar="QA.jsonl",
        type=input_path,
        help='JSON Lines of {"id", "query", "answer"}; default: the demo answers',
    )
    review.add_argument(
        "--catalog", type=input_path, help="catalog file; default: the demo catalog"
    )
    merchants_option(review)
    review.add_argument(
        "--lenient", action="store_true", help="skip bad catalog rows instead of stopping"
    )
    shared(review)
    review.set_defaults(run=_cmd_audit)
    merchants = sub.add_parser("merchants", help="list the installed merchant adapters")
    merchants.set_defaults(run=_cmd_merchants)
    index = sub.add_parser("index", help="compile a catalog's keyword index to a file")
    index_sub = index.add_subparsers(dest="index_command", required=True, metavar="ACTION")
    build = index_sub.add_parser("build", help="build the index of a catalog and write it")
    build.add_argument(
        "--catalog", required=True, type=input_path, help="catalog file (.jsonl or .csv)"
    )
    merchants_option(build)
    build.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        type=output_path,
        help="index file to write",
    )
    build.add_argument(
        "--backend",
        default="pyahocorasick",
        choices=("auto", "pyahocorasick", "ahocorasick_rs"),
        help=(
            "matcher to build with (default: pyahocorasick; the file holds a pyahocorasick "
            "automaton whichever is chosen, so building another one only adds time)"
        ),
    )
    build.add_argument(
        "--lenient", action="store_true", help="skip bad catalog rows instead of stopping"
    )
    build.set_defaults(run=_cmd_index_build)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except _BadInput as exc:
        _err(str(exc))
    except ShoplinkError as exc:
        _err(str(exc))
    except OSError as exc:
        # A path no command turned into its own line (a directory, a file
        # that vanished): still one line naming it, never a traceback.
        _err(_cannot(exc, None, "read"))
    except BrokenPipeError:
        # The reader went away (`shoplink demo | head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    return EXIT_BAD_INPUT
