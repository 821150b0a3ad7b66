"""Relevance: the right product for a generic mention, by relevance alone."""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shoplink
from shoplink import SkipReason, _rank
from shoplink._rank import Evidence, choose, features, sentence_span
from shoplink._text import fold_text
from tests.conftest import catalog_from_rows, product_row

CASES = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "relevance" / "cases.jsonl")
    .read_text("utf-8")
    .splitlines()
    if line.strip()
]


def masks_shoes_keyboards() -> shoplink.Catalog:
    return catalog_from_rows(
        [
            product_row("a-white", ["面膜"], title="美白提亮面膜", description="美白 提亮 淡斑 暗沉"),
            product_row("b-sens", ["面膜"], title="敏感肌修护面膜", description="敏感肌 舒缓 修护 泛红"),
            product_row("a-road", ["running shoes"], title="Road running shoes", description="cushioned shoes for pavement and road races"),
            product_row("b-trail", ["running shoes"], title="Trail running shoes", description="deep lugs for mud and muddy mountain trails"),
            product_row("c-kids", ["running shoes"], title="Kids running shoes", description="light shoes for children and school sports"),
            product_row("a-membrane", ["键盘"], title="办公薄膜键盘", description="安静的办公键盘，不是机械键盘"),
            product_row("b-mech", ["键盘", "机械键盘"], title="游戏机械键盘", description="电竞游戏用机械键盘，红轴"),
        ]
    )


@pytest.mark.parametrize(
    ("query", "answer", "expected"),
    [
        ("敏感肌适合用什么样的面膜", "可以每周敷两三次面膜。", "b-sens"),
        ("有哪些提亮肤色的美白面膜推荐？", "可以每周敷两三次面膜。", "a-white"),
        ("best shoes for muddy mountain trails", "Get running shoes with grip.", "b-trail"),
        ("shoes for my first road race", "Get cushioned running shoes.", "a-road"),
        ("想买个打游戏的键盘", "推荐一把机械键盘。", "b-mech"),
        ("想买个打游戏的键盘", "这把键盘手感好。", "b-mech"),
    ],
)
def test_required_relevance_cases_on_a_small_catalog(query: str, answer: str, expected: str) -> None:
    (link,) = shoplink.Linker(masks_shoes_keyboards()).link(answer, query=query).links
    assert link.product_id == expected
    assert link.candidates[0].product_id == expected
    assert link.policy == shoplink.POLICY_VERSION == "relevance-3"


def test_the_brief_cases_on_the_demo_catalog(demo: shoplink.Catalog) -> None:
    linker = shoplink.Linker(demo)
    first = {a.id: linker.link(a.answer, query=a.query) for a in shoplink.demo_answers()}
    qa01 = [lk for lk in first["qa-01"].links if lk.mention == "面膜"]
    sensitive = {"dy-0001", "dy-0002", "dy-0003", "tb-0001", "tb-0002", "jd-0001", "jd-0002", "jd-0003"}
    assert qa01 and qa01[0].product_id in sensitive
    trail = linker.link("Any running shoes with deep lugs will do.", query="best shoes for muddy mountain trails")
    assert trail.links[0].product_id == "tb-0009"
    kb = linker.link("打游戏建议买机械键盘。", query="游戏键盘推荐")
    assert "机械" in demo[kb.links[0].product_id].title


@pytest.mark.parametrize("case", [c for c in CASES if c["id"] in {
    "mask-sensitive", "mask-whitening", "shoes-trail-en", "shoes-trail-zh", "shoes-kids-zh",
    "kb-gaming-zh", "kb-office-zh", "apple-fruit-zh", "apple-phone-veto", "apple-no-context",
    "millet-grain", "millet-phone-veto", "mask-sentence-locality", "shoes-table-row",
}], ids=lambda c: c["id"])
def test_labelled_cases_that_must_hold(case: dict[str, object], demo: shoplink.Catalog) -> None:
    linker = shoplink.Linker(demo, gates=(), max_links=None, min_gap=0)
    answer, mention = str(case["answer"]), str(case["mention"])
    at = -1
    for _ in range(int(case.get("occurrence", 1))):  # type: ignore[call-overload]
        at = answer.index(mention, at + 1)
    result = linker.link(answer, query=str(case["query"]) or None)
    got = [lk.product_id for lk in result.links if lk.start <= at < lk.end]
    if case["expect"]:
        assert got and got[0] in case["expect"]  # type: ignore[operator]
    else:
        assert got == []
        assert any(s.reason is SkipReason.AMBIGUOUS and s.start <= at < s.end for s in result.skipped)


def test_ties_are_listed_by_a_hash_of_the_id_and_won_by_a_hash_of_the_answer() -> None:
    ids = ["z9", "a1", "m5", "dy-0001", "jd-0001", "tb-0001"]
    catalog = catalog_from_rows([product_row(pid, ["面膜"], title="面膜") for pid in ids])
    (link,) = shoplink.Linker(catalog).link("面膜").links
    expected = sorted(ids, key=lambda pid: hashlib.sha256(pid.encode()).hexdigest())
    assert list(link.tied) == expected
    pick, how = _rank.tie_pick("\x1f".join(("", "面膜", "面膜")), len(ids))
    winner = expected[pick]
    assert link.product_id == winner and how in link.tie_break
    assert link.tie_break.startswith(f"{len(ids)}-way tie at score ")
    assert [c.product_id for c in link.candidates] == [
        winner,
        *(pid for pid in expected if pid != winner),
    ]
    assert len({c.score for c in link.candidates}) == 1
    assert link.to_dict()["tied"] == expected


def test_a_clear_winner_records_no_tie() -> None:
    rows = [
        product_row("a", ["面膜"], title="面膜 敏感肌"),
        product_row("b", ["面膜"], title="面膜 美白"),
    ]
    (link,) = shoplink.Linker(catalog_from_rows(rows)).link("敏感肌用面膜").links
    assert link.product_id == "a" and link.tied == () and link.tie_break == ""


def test_tie_order_does_not_follow_merchant_prefixes() -> None:
    # With plain id order, every tie between prefixed ids goes to "dy-".
    winners = Counter(
        min((f"{shop}-{n:04d}" for shop in ("dy", "jd", "tb")), key=_rank.tie_key).split("-")[0]
        for n in range(300)
    )
    assert set(winners) == {"dy", "jd", "tb"}
    assert min(winners.values()) > 60


def test_negated_clauses_do_not_count() -> None:
    assert "机械" not in features("安静的办公键盘，不是机械键盘")
    assert "机械" in features("电竞游戏用机械键盘")
    assert "mud" not in features("great on roads, not for mud")
    assert "不错" in features("这个不错")  # a bare 不 is not a negation cue


def test_out_of_stock_never_wins_even_if_most_relevant() -> None:
    catalog = catalog_from_rows(
        [
            product_row("best", ["面膜"], title="敏感肌修护面膜", availability="out_of_stock"),
            product_row("other", ["面膜"], title="美白面膜"),
        ]
    )
    (link,) = shoplink.Linker(catalog).link("面膜", query="敏感肌修护").links
    assert link.product_id == "other"
    assert [c.product_id for c in link.candidates] == ["other"]


def test_choose_rejects_with_the_veto_term() -> None:
    p = catalog_from_rows(
        [product_row("fruit", ["苹果"], context_terms=["水果"], negative_terms=["手机"])]
    )["fruit"].profile()
    got = choose([p], query=Evidence.of("苹果手机好用吗"), context=Evidence.of("苹果"))
    assert not hasattr(got, "product_id") and "手机" in got.detail  # type: ignore[union-attr]


_SENTENCE_PIECES = st.sampled_from(
    ["面膜", "好", "a", " ", ".", ". ", "3.0", "。", "！", "?", "；", "\n", "，", "x.y"]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_SENTENCE_PIECES, min_size=1, max_size=40).map("".join), st.data())
def test_sentence_span_with_the_block_ends_is_the_search(text: str, data: st.DataObject) -> None:
    # The breaks of a block found once and bisected give what searching the
    # block for each mention gives (a "." right before the mention included).
    lo = data.draw(st.integers(0, len(text)))
    hi = data.draw(st.integers(lo, len(text) + 3))
    start = data.draw(st.integers(lo, max(lo, min(hi, len(text)) - 1)))
    end = data.draw(st.integers(start, min(hi, len(text))))
    ends = _rank.sentence_ends(text, (lo, hi))
    assert sentence_span(text, (lo, hi), start, end, ends) == sentence_span(
        text, (lo, hi), start, end
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["面膜", "修复", "不", "但", "but", "，", "。", "好", " "]), max_size=900)
    .map("".join),
    st.lists(st.sampled_from(["面膜", "膜修", "修复", "复好", "不好", "好好"]), min_size=1),
)
def test_bigrams_of_a_long_text_are_looked_up_as_in_a_short_one(
    text: str, bigrams: list[str]
) -> None:
    # Past _PAIRS_FROM characters the clauses' character pairs answer
    # instead of a substring search of the clauses: the same answers.
    evidence = Evidence(fold_text(text))
    plain = evidence._clauses()
    for bigram in bigrams:
        assert evidence.has(bigram, _rank._BIGRAM) == (bigram in plain)
    if len(plain) > _rank._PAIRS_FROM:
        assert isinstance(evidence._bigrams_in(), frozenset)


def test_a_long_paragraph_of_mentions_is_searched_for_sentences_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every mention searched its whole block for the sentence around it: a
    # paragraph of emphasis and product names without a full stop (36 KB)
    # took 40 s to link.  The block's breaks are now found once.
    scanned = 0
    original = _rank._SENTENCE_END

    class Counting:
        def finditer(self, text: str, pos: int, endpos: int) -> object:
            nonlocal scanned
            scanned += endpos - pos
            return original.finditer(text, pos, endpos)

        def search(self, text: str, pos: int, endpos: int) -> object:
            nonlocal scanned
            scanned += endpos - pos
            return original.search(text, pos, endpos)

    monkeypatch.setattr(_rank, "_SENTENCE_END", Counting())
    linker = shoplink.Linker(shoplink.demo_catalog(), max_links=None)
    counts = []
    for n in (100, 400):
        scanned = 0
        linker.link("*理肤泉* _面膜_ **玉泽** " * n)
        counts.append(scanned)
    assert counts[1] < 5 * counts[0], counts  # 4x the text: not 16x the work


def test_sentence_span_stays_inside_the_block() -> None:
    text = "第一句。第二句有面膜，还有别的。第三句"
    at = text.index("面膜")
    s, e = sentence_span(text, (0, len(text)), at, at + 2)
    assert text[s:e] == "第二句有面膜，还有别的。"
    s, e = sentence_span(text, (4, 10), at, at + 2)
    assert (s, e) == (4, 10)



_PIECES = [
    "敏感肌", "修护", "面膜", "美白", "不是", "不适合", "避免", "暂停", "好", "的", "机",
    "Trail", "running", "shoes", "not", "NO", "but", "avoid", "n't", "Ａｂｃ", "ß", "İ",
    "，", "。", "！", ". ", ".", " ", "\n", "|", "、", "-", "_", "3.0S", "ｶ", "한국",
]


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(st.sampled_from(_PIECES), max_size=25).map("".join),
    other=st.lists(st.sampled_from(_PIECES), max_size=25).map("".join),
)
def test_evidence_has_agrees_with_its_feature_set(text: str, other: str) -> None:
    # Scoring asks ``has`` (a substring search for bigrams) instead of
    # building the text's feature set; for every feature a product can have
    # (here: one titled with both texts) both must give the same answer.
    evidence = Evidence.of(text)
    profile = shoplink.RelevanceProfile(
        product_id="p",
        title=other + "\n" + text,
        keywords=(),
        brand="",
        category="",
        description=other,
        purchasable=True,
    )
    for feature, kind in _rank._profile_kinds(profile):
        assert evidence.has(feature, kind) == (feature in evidence.tokens), (feature, kind)
    # ... and so do the whole-candidate questions that choose() asks.
    prepared = _rank._prepared(profile)
    present = evidence._present(prepared)
    assert sorted(present) == sorted(prepared.features & evidence.tokens)
    assert evidence._count(prepared) == len(present)


# --- the optimised choice against a straightforward reference ----------------


def _reference_choose(
    profiles: list[shoplink.RelevanceProfile],
    query: Evidence,
    context: Evidence,
    sentence: Evidence,
    keyword: str,
    exclude: frozenset[str],
) -> _rank.Choice | _rank.Rejection:
    """``choose`` as first written: whole feature sets, one feature at a time."""

    def mentioned(terms: tuple[str, ...], haystack: str) -> str | None:
        for term in terms:
            folded = fold_text(term) if term else ""
            if folded and folded in haystack:
                return term
        return None

    def own(p: shoplink.RelevanceProfile) -> frozenset[str]:
        return features("\n".join((p.title, p.brand, p.category, p.description, "\n".join(p.keywords))))

    eligible, reasons = [], {}
    for p in profiles:
        if not p.purchasable:
            reasons.setdefault("out_of_stock", p.product_id)
            continue
        if p.product_id in exclude:
            reasons.setdefault("already_linked", p.product_id)
            continue
        veto = mentioned(p.negative_terms, query.folded) or mentioned(p.negative_terms, context.folded)
        if veto is not None:
            reasons.setdefault("ambiguous", f"{p.product_id} vetoed by {veto!r}")
            continue
        if p.context_terms and (
            mentioned(p.context_terms, query.folded) is None
            and mentioned(p.context_terms, context.folded) is None
        ):
            reasons.setdefault("ambiguous", f"{p.product_id}: no context term nearby")
            continue
        eligible.append(p)
    if not eligible:
        for reason in ("ambiguous", "already_linked", "out_of_stock"):
            if reason in reasons:
                return _rank.Rejection(
                    reason, f"{len(profiles)} candidate(s), none eligible; {reasons[reason]}"
                )
        return _rank.Rejection("ambiguous", "no candidates")
    weights: dict[str, float] = {}
    for feature in frozenset().union(*map(own, eligible)):
        weight = 0.0
        if feature in context.tokens:
            weight += _rank.BLOCK_WEIGHT
        if feature in sentence.tokens:
            weight += _rank.SENTENCE_WEIGHT
        if feature in query.tokens:
            weight += _rank.QUERY_WEIGHT
        if weight:
            weights[feature] = weight
    counts: Counter[str] = Counter(f for p in eligible for f in own(p))
    idf = {f: math.log(1.0 + len(eligible) / df) for f, df in counts.items()} if len(eligible) > 1 else None
    scored = []
    for p in eligible:
        mine = own(p)
        total = 0.0
        if mine:
            hits = 0.0
            for feature in mine & weights.keys():
                hits += weights[feature] * (1.0 if idf is None else idf.get(feature, 1.0))
            total = hits / math.sqrt(len(mine))
            if keyword and keyword in fold_text(p.title):
                total += _rank.TITLE_KEYWORD_BONUS / math.sqrt(len(mine))
            total = round(total, 6)
        scored.append((p.product_id, total))
    scored.sort(key=lambda item: (-item[1], _rank.tie_key(item[0])))
    return _rank.Choice(scored[0][0], tuple(scored))


_TERMS = ["敏感肌", "美白", "Trail", "shoes", "ß", "", " ", "手机"]
_texts = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)
_profiles = st.lists(
    st.builds(
        shoplink.RelevanceProfile,
        product_id=st.sampled_from(["a", "b", "c", "dy-1", "jd-1"]),
        title=_texts,
        keywords=st.lists(_texts, max_size=2).map(tuple),
        brand=st.sampled_from(["", "Salomon", "薇诺娜"]),
        category=st.sampled_from(["", "面膜", "running"]),
        description=_texts,
        purchasable=st.booleans(),
        context_terms=st.lists(st.sampled_from(_TERMS), max_size=2).map(tuple),
        negative_terms=st.lists(st.sampled_from(_TERMS), max_size=2).map(tuple),
    ),
    min_size=0,
    max_size=4,
)


@settings(max_examples=400, deadline=None)
@given(
    profiles=_profiles,
    query=_texts,
    block=_texts,
    sentence=_texts,
    keyword=st.sampled_from(["", "面膜", "shoes", "trail running", "敏感"]),
    exclude=st.sets(st.sampled_from(["a", "dy-1"])).map(frozenset),
    place_weights=st.sampled_from(
        [(1.0, 2.0, 3.0), (1.0, 0.0, 3.0), (1.0, 2.0, 2.0), (0.7, 2.0, 3.1), (1, 2, 3)]
    ),
)
def test_choose_agrees_with_the_straightforward_reference(
    profiles: list[shoplink.RelevanceProfile],
    query: str,
    block: str,
    sentence: str,
    keyword: str,
    exclude: frozenset[str],
    place_weights: tuple[float, float, float],
) -> None:
    # ``choose`` works on prepared candidates, counts features per place for
    # a lone candidate and asks each place once per kind of feature; the
    # reference builds every feature set and sums one feature at a time.
    # Decisions and scores must be identical, also under other place
    # weights (the ablations of benchmarks/relevance_accuracy.py).
    saved = (_rank.BLOCK_WEIGHT, _rank.SENTENCE_WEIGHT, _rank.QUERY_WEIGHT)
    _rank.BLOCK_WEIGHT, _rank.SENTENCE_WEIGHT, _rank.QUERY_WEIGHT = place_weights
    try:
        evidence = (Evidence.of(query), Evidence.of(block), Evidence.of(sentence))
        got = choose(
            profiles,
            query=evidence[0],
            context=evidence[1],
            sentence=evidence[2],
            keyword=keyword,
            exclude=exclude,
        )
        fresh = (Evidence.of(query), Evidence.of(block), Evidence.of(sentence))
        assert got == _reference_choose(profiles, *fresh, keyword, exclude)
    finally:
        _rank.BLOCK_WEIGHT, _rank.SENTENCE_WEIGHT, _rank.QUERY_WEIGHT = saved


_ANY_TEXT = st.lists(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["不是", "避免", "no", "n't", "never", "but", "İ", "ı", "ſ", "K", "_", "\u3000"]),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=_ANY_TEXT)
def test_one_pass_scans_agree_with_the_plain_ones(text: str) -> None:
    # The words of a text in one regex pass, and the hint test as one
    # alternation, give what the two-pass and per-hint versions give.
    assert _rank._WORD_OUTSIDE_CJK.findall(text) == _rank._WORD.findall(
        _rank._CJK_RUN.sub(" ", text)
    )
    assert (_rank._HINT.search(text) is not None) == any(
        hint in text for hint in _rank._NEGATION_HINTS
    )
    assert _rank._negated(text) == (_rank._NEGATION.search(text) is not None)


@settings(max_examples=300, deadline=None)
@given(
    text=_ANY_TEXT,
    cut=st.tuples(st.integers(0, 40), st.integers(0, 40)),
    other=_ANY_TEXT,
)
def test_evidence_of_a_part_of_the_last_text_is_its_own_folding(
    text: str, cut: tuple[int, int], other: str
) -> None:
    # Evidence.of slices the sentence's folded form out of its block's
    # (made just before) instead of folding it again.
    part = text[min(cut) : max(cut)]
    for first, second in ((text, part), (text, other), (other, part), (part, text)):
        Evidence.of(first)
        assert Evidence.of(second).folded == fold_text(second)
