"""The audit report and the ``shoplink audit`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import shoplink
from shoplink._cli import main


def test_audit_of_the_demo_answers(demo: shoplink.Catalog) -> None:
    pairs = [shoplink.QAPair(a.id, a.query, a.answer) for a in shoplink.demo_answers()]
    report = shoplink.audit(shoplink.Linker(demo), pairs)
    data = report.to_dict()
    assert data["answers"] == len(pairs) and data["policy"] == "relevance-3"
    assert data["links"] == sum(r["links"] for r in data["rows"]) == report.links
    shares = {m["id"]: m for m in data["merchants"]}
    assert set(shares) == {"douyin", "taobao", "jd"}
    assert shares["douyin"]["house"] and not shares["jd"]["house"]
    assert sum(m["links"] for m in data["merchants"]) == data["links"]
    qa07 = next(r for r in data["rows"] if r["id"] == "qa-07")
    assert qa07["links"] == 0 and qa07["gates"] == ["medical"] and qa07["skipped"]["gated"] >= 1
    text = report.render()
    assert "■" in text and "□" in text and "█" in text and "gated" in text
    assert "[gated: medical]" in text


def test_cli_audit_defaults_to_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit"]) == 0
    out = capsys.readouterr().out
    assert "shoplink audit · 16 answer(s)" in out and "抖音商城" in out


@pytest.mark.parametrize(
    "options",
    [["--style", "card"], ["--style", "reference", "--max-links", "none"], ["--format", "html"]],
)
def test_cli_audit_links_as_the_options_say(
    options: list[str], demo: shoplink.Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    # --style, --format and the rest were accepted and ignored: the audit
    # linked inline Markdown whatever was asked.
    assert main(["audit", "--json", *options]) == 0
    data = json.loads(capsys.readouterr().out)
    style = options[options.index("--style") + 1] if "--style" in options else "inline"
    fmt = options[options.index("--format") + 1] if "--format" in options else "markdown"
    max_links = None if "none" in options else 5
    linker = shoplink.Linker(demo, style=style, format=fmt, max_links=max_links)
    expected = [
        len(linker.link(a.text(fmt), query=a.query).links) for a in shoplink.demo_answers()
    ]
    assert [r["links"] for r in data["rows"]] == expected
    inline = shoplink.Linker(demo)
    default = [len(inline.link(a.answer, query=a.query).links) for a in shoplink.demo_answers()]
    assert expected != default  # so the options are seen to matter


def test_cli_audit_file_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    qa = tmp_path / "qa.jsonl"
    rows = [
        {"id": "a", "query": "敏感肌适合用什么样的面膜", "answer": "推荐理肤泉B5修复面膜。"},
        {"query": "湿疹用什么药膏", "answer": "理肤泉B5修复面膜不是药。"},
    ]
    qa.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    assert main(["audit", str(qa), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in data["rows"]] == ["a", "line-2"]
    assert [r["links"] for r in data["rows"]] == [1, 0]
    assert data["skipped"] == {"gated": 1}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", ":2: line: not JSON"),
        ('{"query": "q"}', ":2: answer: missing"),
        ('{"answer": 3}', ":2: answer: must be a string, got int"),
        ('{"answer": "a", "query": []}', ":2: query: must be a string, got list"),
        ("[1]", ":2: line: expected a JSON object"),
    ],
)
def test_cli_audit_bad_lines_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"answer": "ok"}\n' + line + "\n", encoding="utf-8")
    assert main(["audit", str(qa)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"{qa}{message}" or err.startswith(f"{qa}{message}")
    assert "\n" not in err


def test_cli_audit_missing_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(tmp_path / "none.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
