"""The command line: works on the demo, and bad input is one line and exit 2."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import shoplink
from shoplink._cli import main
from tests.oracle import render

CATALOG_ROW = {
    "id": "c1",
    "merchant": "jd",
    "title": "CeraVe Hydrating Cream",
    "url": "https://item.jd.com/c1.html",
    "keywords": ["CeraVe cream"],
}


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PYTHONIOENCODING="ascii", LC_ALL="C")
    return subprocess.run(
        [sys.executable, "-m", "shoplink", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def catalog_file(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.jsonl"
    path.write_text(json.dumps(CATALOG_ROW) + "\n", encoding="utf-8")
    return path


def test_demo_runs_without_files_even_in_an_ascii_locale() -> None:
    proc = run("demo")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("utf-8")
    assert "敏感肌" in out and "](https://" in out and "（广告）" in out
    assert "qa-01" in out and proc.stderr == b""


def test_demo_json_is_valid_and_complete() -> None:
    proc = run("demo", "--all", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data) == len(shoplink.demo_answers())
    assert all({"text", "links", "skipped", "insertions"} <= set(d) for d in data)


def test_link_from_file_and_stdin(tmp_path: Path, catalog_file: Path) -> None:
    answer = tmp_path / "a.md"
    answer.write_text("Try CeraVe cream.", encoding="utf-8")
    proc = run("link", str(answer), "--catalog", str(catalog_file))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == "Try [CeraVe cream](https://item.jd.com/c1.html) (Sponsored)."
    proc = run(
        "link",
        "-",
        "--catalog",
        str(catalog_file),
        "--json",
        "--label",
        "none",
        stdin=b"CeraVe cream",
    )
    data = json.loads(proc.stdout)
    assert data["links"][0]["product_id"] == "c1" and data["links"][0]["label"] is None


def test_bad_catalog_row_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps(CATALOG_ROW)
        + "\n"
        + json.dumps({**CATALOG_ROW, "id": "c2", "url": "javascript:alert(1)"})
        + "\n"
    )
    proc = run("link", "--catalog", str(path), stdin=b"CeraVe cream")
    assert proc.returncode == 2
    assert proc.stderr.decode() == f"{path}:2: url: URL must be http(s), got javascript:\n"
    assert proc.stdout == b""
    lenient = run("link", "--catalog", str(path), "--lenient", stdin=b"CeraVe cream")
    assert lenient.returncode == 0
    assert b"skipped" in lenient.stderr and b"[CeraVe cream]" in lenient.stdout


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"ok\n\xff\xfe broken", "<stdin>:2: answer: not valid UTF-8 (byte 0xff at column 1)"),
        (b"CeraVe\x00cream", "<stdin>:1: answer: contains a NUL byte (is it a binary file?)"),
    ],
)
def test_bad_answer_is_one_line_exit_2(catalog_file: Path, data: bytes, message: str) -> None:
    proc = run("link", "--catalog", str(catalog_file), stdin=data)
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == message
    assert b"Traceback" not in proc.stderr


def test_empty_and_huge_answers(catalog_file: Path) -> None:
    empty = run("link", "--catalog", str(catalog_file), stdin=b"")
    assert (empty.returncode, empty.stdout, empty.stderr) == (0, b"", b"")
    big = ("CeraVe cream is fine. " * 200_000).encode()  # 4.4 MB
    proc = run("link", "--catalog", str(catalog_file), stdin=big)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(b"](https://item.jd.com/c1.html)") == 1
    assert len(proc.stdout) == len(big) + len(" (Sponsored)") + len(
        "[](https://item.jd.com/c1.html)"
    )


def test_missing_files_are_exit_2(tmp_path: Path, catalog_file: Path) -> None:
    proc = run("link", str(tmp_path / "none.md"), "--catalog", str(catalog_file))
    assert proc.returncode == 2 and proc.stderr.decode().startswith(
        f"{tmp_path / 'none.md'}: cannot read"
    )
    proc = run("link", "--catalog", str(tmp_path / "none.jsonl"), stdin=b"x")
    assert proc.returncode == 2 and "cannot read file" in proc.stderr.decode()


def test_check_lists_every_bad_row(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = tmp_path / "c.jsonl"
    rows = [
        CATALOG_ROW,
        {**CATALOG_ROW, "id": "c2", "price": "x"},
        "not json",
        {**CATALOG_ROW, "id": "c3"},
    ]
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    assert main(["check", str(path)]) == 2
    out = capsysbinary.readouterr().out.decode().splitlines()
    assert out == [
        f"{path}:2: price: 'x' is not a plain decimal number like 129.00",
        f"{path}:3: invalid JSON: Expecting value (column 1)",
        "2 product(s) loaded, 2 row(s) rejected",
    ]


def test_usage_errors_exit_2() -> None:
    proc = run("link", "--max-links", "lots")
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr


def test_demo_shows_all_three_forms() -> None:
    proc = run("demo")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    for style in ("inline", "card", "reference"):
        assert f"━━ style={style} format=markdown" in out
    assert "（广告）" in out and "|---|" in out and "**购物链接**" in out


def test_demo_in_html_links_the_answers_rendered_to_html() -> None:
    # The sample answers are Markdown; linked "as HTML" they were one run of
    # text, with every card at the very end.  The demo links their HTML.
    proc = run("demo", "--format", "html")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert "<h2>敏感肌选面膜的思路</h2>" in out and "\n## " not in out
    assert '</p><div class="shoplink-cards"' in out  # a card after its paragraph
    assert '</ol><div class="shoplink-cards"' in out  # and after the list
    assert '<sup class="shoplink-ref">' in out and 'rel="sponsored' in out


def test_demo_answers_in_html_are_the_markdown_as_rendered() -> None:
    # seeds/answers.jsonl carries each answer twice; they must not drift.
    for sample in shoplink.demo_answers():
        assert sample.answer_html == render(sample.answer), sample.id
        assert sample.text("html") == sample.answer_html
        assert sample.text("markdown") == sample.answer


@pytest.mark.parametrize("style", ["inline", "card", "reference"])
def test_link_style_and_format_options(catalog_file: Path, style: str) -> None:
    proc = run(
        "link",
        "--catalog",
        str(catalog_file),
        "--style",
        style,
        "--format",
        "html",
        "--json",
        stdin=b"<p>Try CeraVe cream.</p>",
    )
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert (plan["style"], plan["format"]) == (style, "html")
    (link,) = plan["links"]
    assert link["offer"]["product_id"] == link["product_id"]
    assert run("link", "--style", "popup", stdin=b"x").returncode == 2


def test_demo_all_without_style_shows_every_answer(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    assert main(["demo", "--all"]) == 0
    out = capsysbinary.readouterr().out.decode()
    for answer in shoplink.demo_answers():
        assert f"━━ {answer.id} · " in out
    assert "━━ all sample answers" in out


def test_demo_links_only_the_answer_asked_for(
    monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    linked: list[str] = []
    real = shoplink.Linker.link

    def counting(self: shoplink.Linker, answer: Any, *args: Any, **kwargs: Any) -> Any:
        linked.append(answer)
        return real(self, answer, *args, **kwargs)

    monkeypatch.setattr(shoplink.Linker, "link", counting)
    qa02 = next(a for a in shoplink.demo_answers() if a.id == "qa-02")
    for argv in (["demo", "--id", "qa-02", "--style", "inline"], ["demo", "--id", "qa-02", "--json"]):
        linked.clear()
        assert main(argv) == 0
        assert linked == [qa02.answer]
    assert "qa-01" not in capsysbinary.readouterr().out.decode()


def test_merchants_prints_plain_text(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["merchants"]) == 0
    out = capsysbinary.readouterr().out.decode()
    assert "with the g: namespace" in out and "with the xlsx extra" in out
    assert "``" not in out and ":class:" not in out


def test_check_prints_bad_rows_on_stdout_and_nothing_on_stderr(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    # The bad rows are what `check` was asked for: its output, on stdout,
    # like a linter's findings (docs/api.md).  Only a file that cannot be
    # read at all is an error on stderr.
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({**CATALOG_ROW, "currency": "cny", "price": "1"}) + "\n")
    assert main(["check", str(path)]) == 2
    captured = capsysbinary.readouterr()
    assert captured.err == b""
    assert captured.out.decode().splitlines()[0].startswith(f"{path}:1: currency: ")
    assert main(["check", str(tmp_path / "missing.jsonl")]) == 2
    captured = capsysbinary.readouterr()
    assert captured.out == b"" and b"cannot read file" in captured.err


def test_check_recognises_a_spreadsheet(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = tmp_path / "taobao.xlsx"
    path.write_bytes(b"PK\x03\x04" + bytes(200))
    assert main(["check", str(path)]) == 2
    err = capsysbinary.readouterr().err.decode()
    assert err.count("\n") == 1 and "TaobaoUnionExport" in err and "Traceback" not in err


def test_blank_label_names_the_flag_not_the_python_spelling(
    catalog_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["link", "--catalog", str(catalog_file), "--label", "", "-"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "use --label none" in err and "label=None" not in err


# ---------------------------------------------------------------- every path option

from shoplink import _cli  # noqa: E402

_PATH_TYPES = (_cli.input_path, _cli.output_path)
# Names that say "this is a file": an option so named must be marked as a
# path (type=input_path / output_path), so the walk below covers it.
_PATHLIKE = re.compile(r"file|path|catalog|index|output|merchants|qa|dir", re.IGNORECASE)


def _commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    out = [(prefix, parser)] if prefix else []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                out.extend(_commands(child, (*prefix, name)))
    return out


COMMANDS = [(c, p) for c, p in _commands(_cli._parser()) if not p._subparsers]
PATH_OPTIONS = [
    (command, parser, action)
    for command, parser in COMMANDS
    for action in parser._actions
    if action.type in _PATH_TYPES
]


def _name(action: argparse.Action) -> str:
    return max(action.option_strings, key=len) if action.option_strings else action.dest


def test_every_option_naming_a_file_is_marked_as_a_path() -> None:
    for command, parser in COMMANDS:
        for action in parser._actions:
            names = [action.dest, str(action.metavar or ""), *action.option_strings]
            if any(_PATHLIKE.search(n) for n in names) and action.nargs != 0:
                assert action.type in _PATH_TYPES, f"{' '.join(command)} {_name(action)}"
    found = {(" ".join(c), _name(a)) for c, _, a in PATH_OPTIONS}
    assert {("link", "file"), ("link", "--index"), ("index build", "--output")} <= found
    assert ("check", "--merchants") in found and ("audit", "file") in found


@pytest.fixture
def good_files(tmp_path: Path) -> dict[str, Path]:
    """A working file for every kind of path option."""
    good = tmp_path / "good"
    good.mkdir()
    catalog = good / "catalog.jsonl"
    catalog.write_text(json.dumps(CATALOG_ROW) + "\n", encoding="utf-8")
    merchants = good / "merchants.json"
    merchants.write_text(
        json.dumps([{"id": "jd", "name": "京东", "domains": ["item.jd.com"]}]), encoding="utf-8"
    )
    index = good / "catalog.idx"
    shoplink.ProductIndex(shoplink.load_catalog(catalog)).save(index)
    answer = good / "a.md"
    answer.write_text("Try CeraVe cream.", encoding="utf-8")
    qa = good / "qa.jsonl"
    qa.write_text(json.dumps({"id": "q", "query": "", "answer": "CeraVe cream"}) + "\n")
    return {
        "catalog": catalog,
        "merchants": merchants,
        "index": index,
        "link file": answer,
        "audit file": qa,
        "output": good / "out.idx",
    }


def _argv(
    command: tuple[str, ...],
    parser: argparse.ArgumentParser,
    good: dict[str, Path],
    bad: argparse.Action,
    value: str,
) -> list[str]:
    """A command line that works, but for ``bad``, which gets ``value``."""
    argv = list(command)
    for action in parser._actions:
        if action.type not in _PATH_TYPES:
            continue
        if action is bad:
            chosen = value
        else:
            known = good.get(f"{command[0]} {action.dest}") or good.get(action.dest)
            if known is None:
                assert not action.required, f"no good value for {_name(action)}"
                continue
            chosen = str(known)
        argv += [chosen] if not action.option_strings else [action.option_strings[-1], chosen]
    return argv


def _one_line_naming(
    capsysbinary: pytest.CaptureFixture[bytes], rc: int, path: str, what: str
) -> None:
    captured = capsysbinary.readouterr()
    err = captured.err.decode("utf-8").strip().splitlines()
    out = captured.out.decode("utf-8").strip().splitlines()
    assert rc == 2, f"{what}: exit {rc}: {err}"
    assert "Traceback" not in captured.err.decode() + captured.out.decode()
    assert len(err) <= 1, f"{what}: {err}"
    # ``check`` prints the bad rows of its catalog on stdout, one per line.
    lines = err or out
    assert lines and path in lines[0], f"{what}: {lines[:2]}"


@pytest.mark.parametrize(
    "case", ["missing", "directory", "garbage", "unreadable"]
)
@pytest.mark.parametrize(
    ("command", "parser", "action"),
    PATH_OPTIONS,
    ids=[f"{' '.join(c)} {_name(a)}" for c, _, a in PATH_OPTIONS],
)
def test_every_path_option_fails_in_one_line(
    command: tuple[str, ...],
    parser: argparse.ArgumentParser,
    action: argparse.Action,
    case: str,
    good_files: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    writes = action.type is _cli.output_path
    if case == "missing":
        path = tmp_path / "no" / "such" / "file"
    elif case == "directory":
        path = tmp_path / "a-directory"
        path.mkdir()
    elif case == "garbage":
        if writes:
            pytest.skip("an output file's old content is replaced, whatever it was")
        path = tmp_path / "garbage"
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe garbage {not json\n")
    else:
        path = tmp_path / "unreadable"
        path.write_bytes(b"")
        path.chmod(0)
        if os.geteuid() != 0:
            denied = None  # chmod 000 does it
        else:
            # Root reads any file: make opening this one fail as it would.
            denied = str(path)
            import builtins
            import io

            real_open = builtins.open

            def fake_open(file: Any, *args: Any, **kwargs: Any) -> Any:
                if os.fspath(file) == denied or os.fspath(file).startswith(denied + "."):
                    raise PermissionError(13, "Permission denied", os.fspath(file))
                return real_open(file, *args, **kwargs)

            monkeypatch.setattr(builtins, "open", fake_open)
            monkeypatch.setattr(io, "open", fake_open)
    argv = _argv(command, parser, good_files, action, str(path))
    rc = main(argv)
    _one_line_naming(capsysbinary, rc, str(path), f"{case}: {argv}")


def test_the_good_command_lines_work(
    good_files: dict[str, Path], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    # The baseline the walk starts from must succeed, or a failure above
    # could come from another option.
    for command, parser in COMMANDS:
        if not any(a.type in _PATH_TYPES for a in parser._actions):
            continue
        dummy = argparse.Action(["--none"], "none")
        argv = _argv(command, parser, good_files, dummy, "")
        assert main(argv) == 0, (argv, capsysbinary.readouterr())


def test_check_with_merchants_catches_undeclared_merchants_and_wrong_domains(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    merchants = tmp_path / "merchants.json"
    merchants.write_text(
        json.dumps([{"id": "jd", "name": "京东", "domains": ["item.jd.com"]}]), encoding="utf-8"
    )
    rows = [
        CATALOG_ROW,
        {**CATALOG_ROW, "id": "c2", "merchant": "jd-mall", "url": "https://evil.example/phish"},
        {**CATALOG_ROW, "id": "c3", "url": "https://evil.example\\.item.jd.com/1"},
        {**CATALOG_ROW, "id": "c4", "url": "https://evil.example/jd"},
    ]
    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["check", str(catalog)]) == 2  # the backslash URL, even undeclared
    capsysbinary.readouterr()
    assert main(["check", str(catalog), "--merchants", str(merchants)]) == 2
    out = capsysbinary.readouterr().out.decode().splitlines()
    assert out[0] == f"{catalog}:2: merchant: merchant 'jd-mall' is not declared (declared: jd)"
    assert out[1].startswith(f"{catalog}:3: url: URL has a backslash")
    assert out[2].startswith(f"{catalog}:4: url: host 'evil.example' is not among")
    assert out[3] == "1 product(s) loaded, 3 row(s) rejected"


def test_cards_show_declared_merchant_names(
    tmp_path: Path, catalog_file: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    merchants = tmp_path / "merchants.json"
    merchants.write_text(json.dumps([{"id": "jd", "name": "京东"}]), encoding="utf-8")
    answer = tmp_path / "a.md"
    answer.write_text("Try CeraVe cream.\n", encoding="utf-8")
    argv = ["link", str(answer), "--catalog", str(catalog_file), "--style", "card"]
    assert main([*argv, "--merchants", str(merchants)]) == 0
    assert "京东" in capsysbinary.readouterr().out.decode()
    bad = tmp_path / "bad.json"
    bad.write_text('[{"id": "jd", "domains": ["https://item.jd.com/"]}]', encoding="utf-8")
    assert main([*argv, "--merchants", str(bad)]) == 2
    err = capsysbinary.readouterr().err.decode().strip()
    assert err.startswith(f"{bad}:1: merchants[0].domains: 'https://item.jd.com/' is not")
