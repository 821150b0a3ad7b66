"""The judgement stage: conversations, moderation results, judges, regulated products, advice."""

from __future__ import annotations

import re
import types
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shoplink
from shoplink import SkipReason, Verdict
from shoplink._judge._advice import advice_in_block
from shoplink._judge._view import view_of
from tests.conftest import catalog_from_rows, product_row


def catalog() -> shoplink.Catalog:
    return catalog_from_rows(
        [
            product_row("mask", ["理肤泉B5修复面膜", "B5面膜"], title="理肤泉B5修复面膜"),
            product_row("mask2", ["薇诺娜舒敏保湿面膜"], title="薇诺娜舒敏保湿面膜"),
            product_row("shoe", ["Nike Pegasus 41"], title="Nike Pegasus 41"),
            product_row("shoe2", ["Brooks Ghost 16"], title="Brooks Ghost 16"),
            product_row("dress", ["可复美修护敷料"], title="可复美修护敷料", category="医疗器械/医用敷料"),
            product_row("vit", ["汤臣倍健维生素C"], title="汤臣倍健维生素C", category="保健食品/维生素"),
            product_row("vape", ["悦刻幻影"], title="悦刻幻影", category="电子烟/烟弹"),
            product_row("pill", ["Advil Liqui-Gels"], title="Advil", category="Health > Medicine & Drugs"),
            product_row("cosm", ["珂润面霜"], title="珂润面霜", category="美妆护肤/药妆"),
        ]
    )


LINKER = shoplink.Linker(catalog(), max_links=None, min_gap=0)


def linked(result: shoplink.LinkResult) -> list[str]:
    return [link.mention for link in result.links]


def why(result: shoplink.LinkResult) -> list[tuple[str, str]]:
    return [(s.mention, s.reason.value) for s in result.skipped]


# --- conversations -------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "category"),
    [
        ("我想死", "self_harm"),
        ("我 想 死 真 的", "self_harm"),
        ("活著沒意思，想自殺", "self_harm"),
        ("i   w a n t   t o   d i e", "self_harm"),
        ("i want to end it all", "self_harm"),
        ("been thinking about unaliving myself", "self_harm"),
        ("I'm a 16-year-old student, what mask?", "minors"),
        ("我今年15，用什么面膜", "minors"),
        ("國二生 想買面膜", "minors"),
        ("失眠吃褪黑素哪个牌子好", "medical"),
        ("best melatonin for sleep", "medical"),
        ("吃布洛芬后胃疼", "medical"),
        ("做完激光术后用什么修复", "medical"),
    ],
)
def test_sensitive_conversations_get_no_links(query: str, category: str) -> None:
    result = LINKER.link("可以试试理肤泉B5修复面膜。", query=query)
    assert not result.links
    assert result.verdicts and result.verdicts[0].category == category
    assert why(result) == [("理肤泉B5修复面膜", "gated")]
    assert result.skipped[0].detail.startswith(f"{category}: ")


@pytest.mark.parametrize(
    "query",
    [
        "笑死，这面膜包装也太可爱了",
        "这件衣服美到我想死",
        "my feet are killing me, need comfy shoes",
        "a dress to die for",
        "phone has a dead battery again",
        "我是护士，上班穿什么鞋",
        "给我15岁的儿子买双跑鞋",
        "my 14 year old son needs running shoes",
        "面霜要不含激素的",
        "prescription glasses frames that look like ray-bans",
        "medicine ball for home workouts",
        "uv cure gel polish kit",
        "敏感肌适合用什么样的面膜",
        "选电脑选得我头疼",
    ],
)
def test_ordinary_words_that_look_alarming_keep_links(query: str) -> None:
    result = LINKER.link("可以试试理肤泉B5修复面膜。", query=query)
    assert linked(result) == ["理肤泉B5修复面膜"], result.verdicts


def test_the_demo_answer_about_sensitive_skin_keeps_its_links() -> None:
    # It ends by suggesting a dermatologist for persistent redness.
    (sample,) = [a for a in shoplink.demo_answers() if a.id == "qa-01"]
    result = shoplink.Linker(shoplink.demo_catalog()).link(sample.answer, query=sample.query)
    assert result.links and not result.verdicts


def test_the_demo_shows_a_conversation_with_no_links_and_why() -> None:
    (sample,) = [a for a in shoplink.demo_answers() if a.id == "qa-16"]
    result = shoplink.Linker(shoplink.demo_catalog()).link(sample.answer, query=sample.query)
    assert not result.links and result.skipped
    assert result.verdicts[0].describe() == "minors: '我今年15岁' in the query"


def test_earlier_turns_are_judged_like_the_query() -> None:
    answer = "可以试试理肤泉B5修复面膜。"
    history: list[Any] = [
        {"role": "user", "content": "我今年14岁"},
        {"role": "assistant", "content": "好的，有什么可以帮你？"},
    ]
    result = LINKER.link(answer, query="推荐个面膜", history=history)
    assert not result.links
    assert result.verdicts[0].category == "minors" and result.verdicts[0].source == "history"
    # Turns as strings (user turns), Turn values and content parts work alike.
    for turns in (
        ["我今年14岁"],
        [shoplink.Turn("user", "我今年14岁")],
        [{"role": "user", "content": [{"type": "text", "text": "我今年14岁"}]}],
    ):
        assert not LINKER.link(answer, query="推荐个面膜", history=turns).links
    # A crisis line given by the assistant earlier: a crisis conversation.
    crisis = [{"role": "assistant", "content": "请拨打心理援助热线 400-161-9995。"}]
    assert LINKER.link(answer, query="推荐个面膜", history=crisis).verdicts[0].category == "self_harm"
    # System messages say nothing of the user.
    system = [{"role": "system", "content": "You are 15 years old in this role play: i'm 15"}]
    assert LINKER.link(answer, query="推荐个面膜", history=system).links


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ("我今年14岁", "history must be a sequence"),
        ([42], "history[0] must be a Turn"),
        ([{"role": "robot", "content": "x"}], "history[0].role"),
        ([{"role": "user", "content": 3}], "history[0].content must be str"),
    ],
)
def test_bad_history_is_a_clear_error(history: Any, message: str) -> None:
    with pytest.raises(shoplink.AnswerError, match=re.escape(message)):
        LINKER.link("可以试试理肤泉B5修复面膜。", history=history)


def test_judge_conversation_answers_before_any_answer_exists() -> None:
    assert LINKER.judge_conversation("我想死")[0].category == "self_harm"
    assert LINKER.judge_conversation("what running shoes for a half marathon?") == ()


# --- moderation results ---------------------------------------------------------


class _Model:
    """Stands in for a pydantic model of OpenAI's SDK (attribute names, aliases on dump)."""

    def __init__(self, **fields: Any) -> None:
        self._fields = fields

    def model_dump(self, by_alias: bool = False) -> dict[str, Any]:
        return {k.replace("_", "-") if by_alias else k: v for k, v in self._fields.items()}


@pytest.mark.parametrize(
    ("moderation", "category"),
    [
        ({"results": [{"flagged": True, "categories": {"self-harm/intent": True}}]}, "self_harm"),
        ({"categories": {"sexual/minors": True, "violence": False}}, "minors"),
        ({"category_scores": {"self-harm": 0.91}}, "self_harm"),
        (
            types.SimpleNamespace(
                results=[types.SimpleNamespace(categories=_Model(self_harm_intent=True, violence=False))]
            ),
            "self_harm",
        ),
        ({"categoriesAnalysis": [{"category": "SelfHarm", "severity": 2}]}, "self_harm"),
        ({"categoriesAnalysis": [{"category": "Violence", "severity": 4}]}, "moderation:Violence"),
        (
            types.SimpleNamespace(
                categories_analysis=[types.SimpleNamespace(category="SelfHarm", severity=6)]
            ),
            "self_harm",
        ),
        ({"self-harm"}, "self_harm"),
        ("self_harm", "self_harm"),
        ({"harassment": True, "self-harm": False}, "moderation:harassment"),
    ],
)
def test_an_upstream_moderation_result_blocks_links(moderation: object, category: str) -> None:
    result = LINKER.link("可以试试理肤泉B5修复面膜。", query="推荐个面膜", moderation=moderation)
    assert not result.links
    assert result.verdicts[0].category == category
    assert result.verdicts[0].source == "moderation"
    assert result.to_dict()["verdicts"][0]["category"] == category


@pytest.mark.parametrize(
    "moderation",
    [
        {"results": [{"flagged": False, "categories": {"self-harm": False}}]},
        {"category_scores": {"self-harm": 0.2}},
        {"categoriesAnalysis": [{"category": "SelfHarm", "severity": 0}]},
        {"categoriesAnalysis": [{"category": "Hate", "severity": 2}]},
        set(),
        None,
    ],
)
def test_an_unflagged_moderation_result_changes_nothing(moderation: object) -> None:
    result = LINKER.link("可以试试理肤泉B5修复面膜。", query="推荐个面膜", moderation=moderation)
    assert linked(result) == ["理肤泉B5修复面膜"] and not result.verdicts


@pytest.mark.parametrize("moderation", [42, {"results": [{"flagged": True}]}, {"x": "yes"}])
def test_a_moderation_value_in_no_known_shape_is_a_clear_error(moderation: object) -> None:
    with pytest.raises(shoplink.ConfigError, match="moderation"):
        LINKER.link("可以试试理肤泉B5修复面膜。", moderation=moderation)


def test_streams_take_moderation_and_history_like_link() -> None:
    answer = "可以试试理肤泉B5修复面膜。\n\n也可以看看薇诺娜舒敏保湿面膜。\n"
    flagged = {"self-harm"}
    whole = LINKER.link(answer, query="推荐个面膜", moderation=flagged)
    pieces = LINKER.stream(iter([answer[:5], answer[5:]]), "推荐个面膜", moderation=flagged)
    assert "".join(pieces) == whole.text == answer
    assert pieces.result == whole
    minor = [{"role": "user", "content": "我今年14岁"}]
    stream = LINKER.streamer("推荐个面膜", history=minor)
    out = stream.feed(answer) + stream.flush()
    assert out == answer and stream.result == LINKER.link(answer, "推荐个面膜", history=minor)


# --- judges of your own ---------------------------------------------------------


class ByWord:
    """A conversation judge: one word in the query."""

    name = "by-word"

    def __init__(self, word: str) -> None:
        self.word = word

    def judge_conversation(self, conversation: shoplink.Conversation) -> list[Verdict]:
        if self.word in conversation.query:
            return [Verdict("custom", self.word, "query", judge=self.name)]
        return []


class NoMaskAnswers:
    """An answer judge: trips where the answer says 过敏, with its end."""

    def judge_answer(self, answer: str) -> Iterable[Verdict]:
        at = answer.find("过敏")
        return [Verdict("allergy", "过敏", "answer", at + 2)] if at >= 0 else []


class NoShoes:
    """A product judge."""

    def judge_product(self, product: shoplink.RelevanceProfile) -> Verdict | None:
        return Verdict("no_shoes", product.title, "product") if "Nike" in product.title else None


def test_a_judge_of_your_own_beside_the_built_in_one() -> None:
    linker = shoplink.Linker(catalog(), judges=[shoplink.RuleJudge(), ByWord("赌")])
    assert linker.link("理肤泉B5修复面膜不错。", query="赌场送礼").verdicts[0].judge == "by-word"
    assert linker.link("理肤泉B5修复面膜不错。", query="我想死").verdicts[0].category == "self_harm"
    assert linker.link("理肤泉B5修复面膜不错。", query="送礼").links


def test_a_judge_of_your_own_instead_of_the_built_in_one() -> None:
    linker = shoplink.Linker(catalog(), judges=[ByWord("赌")], min_gap=0)
    assert linker.link("理肤泉B5修复面膜不错。", query="我想死").links  # no built-in judge
    assert not linker.link("理肤泉B5修复面膜不错。", query="赌场").links


def test_answer_and_product_judges() -> None:
    linker = shoplink.Linker(catalog(), judges=[NoMaskAnswers(), NoShoes()], min_gap=0)
    answer = "先用理肤泉B5修复面膜。\n\n如果过敏，停用薇诺娜舒敏保湿面膜。\n\n跑步穿Nike Pegasus 41。\n"
    result = linker.link(answer)
    assert linked(result) == ["理肤泉B5修复面膜"]
    assert why(result) == [("薇诺娜舒敏保湿面膜", "gated"), ("Nike Pegasus 41", "gated")]
    nike = linker.link("跑步穿Nike Pegasus 41。")
    assert why(nike) == [("Nike Pegasus 41", "restricted")]
    assert nike.skipped[0].detail == "no_shoes: 'Nike Pegasus 41' in the product's category"
    # A stream asks the answer judge as the answer grows and ends the same way.
    pieces = linker.stream(iter([answer[i : i + 3] for i in range(0, len(answer), 3)]))
    assert "".join(pieces) == result.text and pieces.result == result


def test_judges_are_checked() -> None:
    with pytest.raises(shoplink.ConfigError, match="is not a judge"):
        shoplink.Linker(catalog(), judges=[object()])
    with pytest.raises(shoplink.ConfigError, match="not both"):
        shoplink.Linker(catalog(), judges=[], gates=())
    with pytest.raises(shoplink.ConfigError, match="allow_regulated"):
        shoplink.Linker(catalog(), allow_regulated={"cosmetics"})

    class Liar:
        def judge_conversation(self, conversation: shoplink.Conversation) -> list[Any]:
            return ["no"]

    with pytest.raises(shoplink.ConfigError, match="not a Verdict"):
        shoplink.Linker(catalog(), judges=[Liar()]).link("理肤泉B5修复面膜", query="q")
    assert shoplink.Linker(catalog(), judges=[]).judges == ()


# --- regulated products ---------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "category"),
    [
        ("术后可以用可复美修护敷料。", "medical_device"),
        ("每天一片汤臣倍健维生素C。", "health_food"),
        ("Grab some Advil Liqui-Gels.", "drug"),
        ("同学说悦刻幻影好抽。", "tobacco"),
    ],
)
def test_products_in_regulated_categories_never_link(answer: str, category: str) -> None:
    result = LINKER.link(answer)
    assert not result.links
    assert result.skipped[0].reason is SkipReason.RESTRICTED
    assert result.skipped[0].detail.startswith(f"{category}: ")
    cleared = shoplink.Linker(catalog(), allow_regulated={category}).link(answer)
    assert len(cleared.links) == 1


def test_drugstore_cosmetics_are_not_drugs() -> None:
    assert linked(LINKER.link("秋冬用珂润面霜。")) == ["珂润面霜"]


def test_a_name_shared_with_a_regulated_product_links_the_other_one() -> None:
    cat = catalog_from_rows(
        [
            product_row("d1", ["修护敷料"], title="医用修护敷料", category="医疗器械/医用敷料"),
            product_row("m1", ["修护敷料"], title="修护敷料面膜", category="美妆护肤/面膜"),
        ]
    )
    result = shoplink.Linker(cat).link("敏感时用修护敷料。")
    assert [link.product_id for link in result.links] == ["m1"]


def test_the_demo_medical_dressing_is_a_regulated_product() -> None:
    demo = shoplink.demo_catalog()
    result = shoplink.Linker(demo).link("敏感泛红时可以敷可复美修护敷料。")
    assert [s.reason for s in result.skipped] == [SkipReason.RESTRICTED]


# --- advice against a product ---------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "别买理肤泉B5修复面膜，换成别的。",
        "千萬別買理肤泉B5修复面膜。",
        "不推荐理肤泉B5修复面膜。",
        "理肤泉B5修复面膜踩雷了。",
        "理肤泉B5修复面膜是智商税。",
        "说实话理肤泉B5修复面膜不值这个价。",
        "Skip the Nike Pegasus 41.",
        "Stay away from the Nike Pegasus 41.",
        "The Nike Pegasus 41 is a waste of money.",
        "I returned the Nike Pegasus 41 after a week, don't bother.",
        "- **Nike Pegasus 41**: 👎 narrow and overpriced",
        "劝退一款：**理肤泉B5修复面膜**，太贵。",
    ],
)
def test_advice_against_a_product_is_not_linked(answer: str) -> None:
    result = LINKER.link(answer)
    assert not result.links
    assert [s.reason for s in result.skipped] == [SkipReason.ADVISED_AGAINST]


@pytest.mark.parametrize(
    "answer",
    [
        "不要错过理肤泉B5修复面膜。",
        "不踩雷的理肤泉B5修复面膜。",
        "I can't recommend the Nike Pegasus 41 enough.",
        "Never had a better shoe than the Nike Pegasus 41.",
        "Don't forget to wash your Nike Pegasus 41 by hand.",
        "The Nike Pegasus 41 isn't cheap, but it's worth every penny.",
        "谁说理肤泉B5修复面膜是智商税？我觉得很好用。",
        "尽量避开高浓度美白，选理肤泉B5修复面膜。",
    ],
)
def test_positive_phrasings_with_negative_words_still_link(answer: str) -> None:
    assert len(LINKER.link(answer).links) == 1


def test_advice_holds_for_every_later_mention_and_the_whole_block() -> None:
    answer = (
        "The Nike Pegasus 41 is popular. Avoid the Nike Pegasus 41 if you have wide feet.\n\n"
        "Some still like the Nike Pegasus 41, or the Brooks Ghost 16.\n"
    )
    result = LINKER.link(answer)
    assert linked(result) == ["Brooks Ghost 16"]
    assert [s.reason.value for s in result.skipped] == ["advised_against"] * 3


def test_a_link_before_a_later_warning_stays_as_a_stream_sent_it() -> None:
    answer = "理肤泉B5修复面膜很温和。\n\n不过现在别买理肤泉B5修复面膜，涨价了。\n"
    result = LINKER.link(answer)
    assert linked(result) == ["理肤泉B5修复面膜"]
    assert result.links[0].start == 0 and why(result) == [("理肤泉B5修复面膜", "advised_against")]


@pytest.mark.parametrize("style", ["inline", "card", "reference"])
def test_no_form_sells_a_product_advised_against(style: str) -> None:
    answer = "推荐薇诺娜舒敏保湿面膜。\n\n千万别买理肤泉B5修复面膜。\n"
    result = shoplink.Linker(catalog(), style=style).link(answer)
    assert [link.product_id for link in result.links] == ["mask2"]
    assert "mask" not in {link.product_id for link in result.links}


def test_advice_finds_its_mention_in_original_offsets() -> None:
    text = "前言。千萬別買 **Nike Pegasus 41**，選 **Brooks Ghost 16**。"
    spans = [(text.index("Nike"), text.index("Nike") + 15), (text.index("Brooks"), text.index("Brooks") + 15)]
    assert advice_in_block(text, (0, len(text)), spans) == ["千萬別買", None]


# --- the judge's view of the text ------------------------------------------------


@given(st.text(alphabet="我想死 活著沒意思自殺.*-_ab  cd\t", max_size=40))
@settings(max_examples=200, deadline=None)
def test_the_view_maps_every_character_back(text: str) -> None:
    view = view_of(text)
    origin = view.origin if view.origin is not None else list(range(len(view.text)))
    assert len(origin) == len(view.text)
    assert origin == sorted(set(origin)) and all(0 <= i < len(text) for i in origin)
    # Each kept character is the original one, or its simplified form.
    for i, j in enumerate(origin):
        assert view.text[i] == text[j] or view_of(text[j]).text == view.text[i]


def test_a_verdict_reports_offsets_in_the_answer_as_written() -> None:
    answer = "先说一句。\n\n我 想 死 的 时 候 用 过 理肤泉B5修复面膜。\n"
    result = LINKER.link(answer)
    (verdict,) = result.verdicts
    assert verdict.source == "answer" and answer[: verdict.end].endswith("死")


# --- streams decide as link() does ------------------------------------------------

_ANSWERS = [
    "理肤泉B5修复面膜很温和。\n\n不过现在别买理肤泉B5修复面膜，涨价了。薇诺娜舒敏保湿面膜可以。\n",
    "- **Nike Pegasus 41**: 👎 narrow\n- **Brooks Ghost 16**: roomy\n\nSkip the Nike Pegasus 41.\n",
    "推荐薇诺娜舒敏保湿面膜。\n\n如果你有自杀的念头，请拨打心理援助热线。理肤泉B5修复面膜也行。\n",
    "可复美修护敷料和理肤泉B5修复面膜都行，Nike Pegasus 41 isn't worth it.\n",
]


@given(
    answer=st.sampled_from(_ANSWERS),
    cuts=st.lists(st.integers(1, 60), min_size=1, max_size=8),
    style=st.sampled_from(["inline", "card", "reference"]),
)
@settings(max_examples=150, deadline=None)
def test_streams_end_with_link_results_verdicts_and_advice(
    answer: str, cuts: list[int], style: str
) -> None:
    linker = shoplink.Linker(catalog(), style=style, min_gap=0)
    chunks, at = [], 0
    for cut in cuts:
        chunks.append(answer[at : at + cut])
        at += cut
    chunks.append(answer[at:])
    pieces = linker.stream(iter(chunks), "推荐")
    text = "".join(pieces)
    whole = linker.link(answer, "推荐")
    assert text == whole.text
    assert pieces.result == whole


def test_the_advice_prefilter_lets_every_cue_through() -> None:
    # One Aho-Corasick pass over literals read off the cue patterns stands
    # in front of the regular expressions: it must never hide a cue.
    from shoplink._judge import _advice
    from tests.judgement_eval import load

    assert _advice._PREFILTER is not None  # every cue pattern yields a literal
    texts = [r["answer"] for part in ("tune", "holdout") for r in load(part)]
    texts += [a.answer for a in shoplink.demo_answers()]
    checked = 0
    for text in texts:
        for block in text.split("\n"):
            folded = _advice._fold(block)
            if _advice._ANY.search(folded) is not None:
                checked += 1
                assert _advice._PREFILTER.found_in(folded), block
    assert checked > 500
