"""Gates: no shopping links beside medical, self-harm, minors' or refusal content."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shoplink
from shoplink import Gate, SkipReason
from shoplink._judge._gates import GATE_SCOPES, GateSet, GateTrip
from shoplink._judge._view import view_of
from shoplink._text import fold
from tests.conftest import catalog_from_rows, product_row


def catalog() -> shoplink.Catalog:
    return catalog_from_rows(
        [
            product_row("cream", ["CeraVe cream", "适乐肤保湿霜"], title="CeraVe Hydrating Cream"),
            product_row("mask", ["面膜"], title="敏感肌修护面膜"),
            product_row("shoe", ["running shoes"], title="Road running shoes"),
        ]
    )


def reasons(result: shoplink.LinkResult) -> list[tuple[str, SkipReason]]:
    return [(s.mention, s.reason) for s in result.skipped]


@pytest.mark.parametrize(
    ("query", "answer"),
    [
        ("敏感肌适合用什么样的面膜", "敏感肌可以用修护面膜。"),
        ("what helps sensitive skin in winter?", "For sensitive skin, CeraVe cream works."),
        ("湿疹期间皮肤很干怎么办", "湿疹期间注意保湿，可以用适乐肤保湿霜。"),
        ("my skin is dry, could it be eczema?", "It may be eczema; CeraVe cream helps dryness."),
        ("孩子上小学了，买什么跑鞋", "Kids need running shoes that fit."),
        ("Is it secure to buy running shoes online?", "Yes, running shoes are fine to buy online."),
    ],
)
def test_no_false_positives(query: str, answer: str) -> None:
    result = shoplink.Linker(catalog()).link(answer, query=query)
    assert len(result.links) == 1, reasons(result)


@pytest.mark.parametrize(
    ("query", "gate"),
    [
        ("湿疹反复发作，用什么药膏能根治？", "medical"),
        ("what ointment cures eczema?", "medical"),
        ("湿疹怎么治疗", "medical"),
        ("eczema treatment that works", "medical"),
        ("保健品能降血压吗", "medical"),
        ("我不想活了", "self_harm"),
        ("I want to hurt myself", "self_harm"),
        ("我是初中生，买什么面膜", "minors"),
        ("我今年13岁，想买面膜", "minors"),
        ("I'm 14 years old, which running shoes?", "minors"),
        ("I\u2019m in middle school, what running shoes?", "minors"),
    ],
)
def test_query_gate_blocks_the_whole_answer(query: str, gate: str) -> None:
    answer = "面膜 and CeraVe cream.\n\nLater: running shoes."
    result = shoplink.Linker(catalog()).link(answer, query=query)
    assert result.links == ()
    assert result.text == answer
    assert {s.reason for s in result.skipped} == {SkipReason.GATED}
    assert all(s.detail.startswith(f"{gate}:") and "the query" in s.detail for s in result.skipped)


def test_answer_gate_blocks_its_block_and_later_ones_only() -> None:
    answer = (
        "Try CeraVe cream for dryness.\n\n"
        "For running shoes, ask a coach.\n\n"
        "If it is eczema, a steroid ointment may be prescribed. 面膜 can wait.\n\n"
        "Later running shoes and 面膜 again.\n"
    )
    result = shoplink.Linker(catalog(), max_links=None).link(answer)
    assert [lk.product_id for lk in result.links] == ["cream", "shoe"]
    gated = [s for s in result.skipped if s.reason is SkipReason.GATED]
    assert [s.mention for s in gated] == ["面膜", "running shoes", "面膜"]
    assert gated[0].detail.startswith("medical: ")


def test_answer_gate_term_later_in_the_same_block_counts() -> None:
    answer = "面膜之外，湿疹要用药膏。\n"
    result = shoplink.Linker(catalog()).link(answer)
    assert result.links == ()
    assert reasons(result) == [("面膜", SkipReason.GATED)]


def test_condition_alone_in_the_answer_is_not_gated_but_with_treatment_is() -> None:
    ok = shoplink.Linker(catalog()).link("湿疹期间注意保湿，可以用适乐肤保湿霜。")
    assert len(ok.links) == 1
    gated = shoplink.Linker(catalog()).link("湿疹的治疗要听医生的，日常用适乐肤保湿霜。")
    assert gated.links == () and reasons(gated) == [("适乐肤保湿霜", SkipReason.GATED)]


@pytest.mark.parametrize(
    "answer",
    ["抱歉，我无法提供这方面的建议。面膜也不行。", "I'm sorry, but I can't help with that. running shoes"],
)
def test_refusals_get_no_links(answer: str) -> None:
    result = shoplink.Linker(catalog()).link(answer)
    assert result.links == ()
    assert all(s.detail.startswith("refusal:") for s in result.skipped)


def test_demo_medical_answer_is_gated(demo: shoplink.Catalog) -> None:
    qa07 = next(a for a in shoplink.demo_answers() if a.id == "qa-07")
    result = shoplink.Linker(demo).link(qa07.answer, query=qa07.query)
    assert result.links == () and result.skipped
    assert {s.reason for s in result.skipped} == {SkipReason.GATED}
    ungated = shoplink.Linker(demo, gates=None).link(qa07.answer, query=qa07.query)
    assert ungated.links


def test_gates_can_be_turned_off_extended_and_loaded_from_files(tmp_path: Path) -> None:
    answer = "面膜 here."
    assert shoplink.Linker(catalog(), gates=()).link(answer, query="药膏").links
    assert shoplink.Linker(catalog(), gates=None).link(answer, query="药膏").links
    medical = next(g for g in shoplink.default_gates() if g.name == "medical")
    extra = medical.extend(["偏方"])
    assert not shoplink.Linker(catalog(), gates=[extra]).link(answer, query="有什么偏方").links
    path = tmp_path / "pets.zh.txt"
    path.write_text("# pets\n宠物药\nre:狗+粮\n", encoding="utf-8")
    linker = shoplink.Linker(catalog(), gates=[*shoplink.default_gates(), path])
    assert [g.name for g in linker.gates][-1] == "pets"
    result = linker.link(answer, query="买什么宠物药")
    assert result.skipped[0].detail == "pets: '宠物药' in the query"
    assert not linker.link(answer, query="狗狗粮").links


def test_answer_pattern_trips_at_its_original_offset() -> None:
    # The pattern runs on the folded answer ("ﬀ" folds to two letters) and
    # trips at the end of its match in the answer as written; a gate without
    # patterns comes first in the list.
    gate = Gate("pets", patterns=("狗+粮",), scope="answer")
    linker = shoplink.Linker(catalog(), gates=[*shoplink.default_gates(), gate])
    answer = "面膜 first.\n\nﬀ ﬀ 狗狗粮, then CeraVe cream."
    result = linker.link(answer)
    assert [link.mention for link in result.links] == ["面膜"]
    end = answer.index("粮") + 1
    assert reasons(result) == [("CeraVe cream", SkipReason.GATED)]
    assert result.skipped[0].detail == f"pets: '狗狗粮' in the answer at {end}"
    assert result.verdicts[0].term == "re:狗+粮"


def test_gate_terms_are_folded_like_keywords() -> None:
    gate = Gate("x", terms=("OINTMENT",))
    assert not shoplink.Linker(catalog(), gates=[gate]).link("面膜", query="Ｏｉｎｔｍｅｎｔ?").links
    # whole words for Latin script: "cure" is not in "secure"
    assert shoplink.Linker(catalog()).link("面膜", query="secure checkout").links


def test_bad_gate_configuration() -> None:
    with pytest.raises(shoplink.ConfigError):
        Gate("x", terms=(" + a",))
    with pytest.raises(shoplink.ConfigError):
        Gate("x", patterns=("(",))
    with pytest.raises(shoplink.ConfigError):
        Gate("x", scope="everywhere")
    with pytest.raises(shoplink.ConfigError):
        shoplink.Linker(catalog(), gates=[42])  # type: ignore[list-item]
    with pytest.raises(shoplink.ConfigError):
        shoplink.Linker(catalog(), gates=["/no/such/file.txt"])
    with pytest.raises(shoplink.ConfigError):
        shoplink.Linker(catalog(), min_gap=-1)


def test_links_too_close_are_skipped() -> None:
    cat = catalog_from_rows([product_row("a", ["产品甲"]), product_row("b", ["产品乙"]), product_row("c", ["产品丙"])])
    answer = "产品甲、产品乙，以及再往后十多个字的地方说到产品丙。"
    result = shoplink.Linker(cat).link(answer)
    assert [lk.product_id for lk in result.links] == ["a", "c"]
    (skip,) = result.skipped
    assert skip.reason is SkipReason.TOO_CLOSE and "min_gap=10" in skip.detail
    assert result.to_dict()["skipped"][0]["reason"] == "too_close"
    assert len(shoplink.Linker(cat, min_gap=0).link(answer).links) == 3


# --- the term lookup against a straightforward reference --------------------


def _reference_trips(gates: GateSet, text: str, source: str) -> list[GateTrip]:
    """``GateSet._trips`` as first written: every term of every gate looked at."""
    # Every occurrence of every part (no gate here has exceptions), by the
    # original end of its first one.
    firsts: dict[str, int] = {}
    for _start, end, key in gates._occurrences(text):
        part = gates._matcher.keywords[key] if gates._matcher else ""
        if part not in firsts or end < firsts[part]:
            firsts[part] = end
    view = view_of(text)
    folded = fold(view.text)
    out = []
    for gate in gates.gates:
        if gate.scope not in (source, "both"):
            continue
        best: tuple[int, str, str] | None = None
        for term in gate.terms:
            ends = [firsts.get(fold(part).text) for part in term.split(" + ")]
            if all(e is not None for e in ends):
                end = max(e for e in ends if e is not None)
                if best is None or end < best[0]:
                    best = (end, term, "")
        for pattern in gate.patterns:
            m = re.search(pattern, folded.text)
            if m is None:
                continue
            start, end = m.start(), m.end()
            if folded.origin is not None:
                start = folded.origin[start] if start < len(folded.origin) else len(view.text)
                end = folded.origin[end - 1] + 1 if end > 0 else 0
            start, end = view.start_in_original(start), view.end_in_original(end)
            if best is None or end < best[0]:
                best = (end, text[start:end], "re:" + pattern)
        if best is not None:
            out.append(GateTrip(gate.name, best[1], source, best[0], rule=best[2]))
    out.sort(key=lambda t: t.end)
    return out


_GATE_WORDS = ["湿疹", "治疗", "药膏", "eczema", "Cure", "pain", "自杀", "ß", "ss"]
_gate_terms = st.lists(
    st.lists(st.sampled_from(_GATE_WORDS), min_size=1, max_size=3).map(" + ".join), max_size=6
)


@settings(max_examples=300, deadline=None)
@given(
    spec=st.lists(
        st.tuples(
            _gate_terms,
            st.lists(st.sampled_from(["治疗", "pa+in", "(?:ss|药)膏"]), max_size=2),
            st.sampled_from(GATE_SCOPES),
        ),
        max_size=4,
    ),
    text=st.lists(
        st.sampled_from([*_GATE_WORDS, "，", " ", "\n\n", "Eczema", "ｃｕｒｅ", "\u2019", "面膜"]),
        max_size=20,
    ).map("".join),
)
def test_trips_agree_with_looking_at_every_term(
    spec: list[tuple[list[str], list[str], str]], text: str
) -> None:
    # _trips looks only at the terms holding a part found, and folds the
    # text only for a gate with patterns in scope.
    gates = GateSet([Gate(f"g{i}", tuple(t), tuple(p), scope) for i, (t, p, scope) in enumerate(spec)])
    for source in ("query", "answer"):
        assert gates._trips(text, source) == _reference_trips(gates, text, source)


_GROWING = GateSet(
    [
        Gate(
            "medical",
            terms=("eczema", "药膏", "cure + eczema", "ointment", "死"),
            scope="answer",
            exceptions=("uv cure", "笑死", "死贵了吧", "ointment tube holder"),
        ),
        Gate("refusal", terms=("i can't help", "抱歉，我无法"), patterns=("狗+粮",), scope="both"),
        Gate("minors", terms=("面膜",), scope="query"),
    ]
)
_FRAGMENTS = [
    "eczema", "ecz", "ema", "cure", "s", "x", " ", "\n", "ointment", "ﬀ", "ＥＣＺＥＭＡ", "İ",
    "i can", "'t help", "\u2019t help", "药膏", "药", "膏", "抱歉，", "我无法", "狗", "粮", "面膜",
    "uv ", "笑", "死", "贵了吧", " tube holder", "  ", "藥膏", "w a n t", "  d i e", "笑 死",
]


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(_FRAGMENTS), max_size=30),
    cuts=st.lists(st.integers(0, 200), max_size=12),
)
def test_growing_answer_checks_each_prefix_like_check_answer(
    pieces: list[str], cuts: list[int]
) -> None:
    # A stream checks its buffer at every re-link, scanning only the new text.
    text = "".join(pieces)
    growing = _GROWING.growing_answer()
    for end in [*sorted({min(c, len(text)) for c in cuts}), len(text)]:
        assert growing.check(text[:end]) == _GROWING.check_answer(text[:end]), text[:end]


def test_growing_answer_starts_over_on_another_text() -> None:
    growing = _GROWING.growing_answer()
    assert [t.gate for t in growing.check("eczema and more")] == ["medical"]
    assert growing.check("plain words") == []
    assert growing.check("plain words, then ointment") == _GROWING.check_answer(
        "plain words, then ointment"
    )
    # a whole-word part at the end of the text stops being one
    assert [t.gate for t in growing.check("plain words, then ointment")] == ["medical"]
    assert growing.check("plain words, then ointments") == []


def test_query_checks_are_remembered_within_a_bound() -> None:
    gates = GateSet(shoplink.default_gates())
    fresh = GateSet(shoplink.default_gates())
    queries = [f"第{i}个问题：湿疹怎么治疗" if i % 3 == 0 else f"question {i}" for i in range(600)]
    for query in queries + queries[:50]:
        trips = fresh._trips(query, "query")
        assert gates.check_query(query) == (trips[0] if trips else None), query
    assert len(gates._queries) <= 256
    assert any(gates.check_query(q) for q in queries)
