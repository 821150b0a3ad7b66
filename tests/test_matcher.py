"""Tests for the matching core: folding, script classes, KeywordMatcher."""

from __future__ import annotations

import itertools
import pickle
import random
import string
import sys
import threading
import unicodedata
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoplink._matcher import (
    BACKENDS,
    UNDERSCORE_RUN_MAX,
    GrowingCandidates,
    Hit,
    KeywordMatcher,
    available_backends,
    default_backend,
    select_leftmost_longest,
)
from shoplink._text import (
    _CJK_BOUNDS,
    Folded,
    fold,
    fold_char,
    fold_text,
    is_cjk,
    is_word_char,
    origin_map,
)
from tests.strategies import CJK_ALPHABET, answers, keyword_sets, variant_of, words

# Every backend installed here runs the same tests: they must agree with the
# reference, hence with each other.
ALL_BACKENDS = available_backends()
each_backend = pytest.mark.parametrize("backend", ALL_BACKENDS)

# --------------------------------------------------------------------------
# Reference implementation: slow, obvious, independent of the automaton.


def _ref_fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", ch).casefold() for ch in text)


def _ref_md_space(ch: str) -> bool:
    # CommonMark's Unicode whitespace: Zs, tab, line feed, form feed, CR
    # (markdown-it adds the vertical tab).
    return ch in "\t\n\x0b\x0c\r" or unicodedata.category(ch) == "Zs"


def _ref_md_punct(ch: str) -> bool:
    # CommonMark 0.31: ASCII punctuation, or Unicode P or S.
    return ch in string.punctuation or unicodedata.category(ch)[0] in "PS"


def _ref_underscore_run(text: str, start: int, end: int) -> tuple[bool, bool]:
    """(can open, can close) of the ``_`` run ``text[start:end]``, read from the spec."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    left = not _ref_md_space(after) and (
        not _ref_md_punct(after) or _ref_md_space(before) or _ref_md_punct(before)
    )
    right = not _ref_md_space(before) and (
        not _ref_md_punct(before) or _ref_md_space(after) or _ref_md_punct(after)
    )
    return (
        left and (not right or _ref_md_punct(before)),
        right and (not left or _ref_md_punct(after)),
    )


def _ref_boundary(text: str, inside: int, outside: int, emphasis: bool) -> bool:
    """Whether ``text[outside]``, next to the hit's edge ``text[inside]``, is a boundary."""
    if not 0 <= outside < len(text) or not is_word_char(text[outside]):
        return True
    if not emphasis or text[outside] != "_" or text[inside] == "_":
        return False
    step = outside - inside
    far = outside
    while 0 <= far + step < len(text) and text[far + step] == "_":
        far += step
    lo, hi = (far, inside) if step < 0 else (inside + 1, far + 1)
    if hi - lo > UNDERSCORE_RUN_MAX:
        return False
    opens, closes = _ref_underscore_run(text, lo, hi)
    return opens if step < 0 else closes


def reference_candidates(
    keywords: Iterable[str], text: str, emphasis: bool = False
) -> list[Hit]:
    """Every boundary-valid occurrence, by trying each original slice."""
    ids: dict[str, int] = {}
    for keyword in keywords:
        ids.setdefault(_ref_fold(keyword), len(ids))
    # Each code point folds to at least one, so no match spans more original
    # code points than the longest folded keyword has.
    longest = max(map(len, ids), default=0)
    hits = []
    for i in range(len(text)):
        folded = ""
        for j in range(i + 1, min(len(text), i + longest) + 1):
            folded += _ref_fold(text[j - 1])
            key = ids.get(folded)
            if key is None:
                continue
            if is_word_char(folded[0]) and not _ref_boundary(text, i, i - 1, emphasis):
                continue
            if is_word_char(folded[-1]) and not _ref_boundary(text, j - 1, j, emphasis):
                continue
            hits.append(Hit(i, j, key))
    return sorted(hits, key=lambda h: (h.start, -h.end, h.key))


def reference_find(keywords: Iterable[str], text: str, emphasis: bool = False) -> list[Hit]:
    """Leftmost-longest, by repeatedly taking the best remaining candidate."""
    candidates = reference_candidates(keywords, text, emphasis)
    chosen: list[Hit] = []
    position = 0
    while True:
        rest = [h for h in candidates if h.start >= position]
        if not rest:
            return chosen
        best = min(rest, key=lambda h: (h.start, -(h.end - h.start)))
        chosen.append(best)
        position = best.end


def spans(matcher: KeywordMatcher, text: str) -> list[str]:
    return [text[h.start : h.end] for h in matcher.find(text)]


# --------------------------------------------------------------------------
# Folding


@pytest.mark.parametrize(
    ("ch", "folded"),
    [("A", "a"), ("ß", "ss"), ("ﬁ", "fi"), ("İ", "i̇"), ("Ｉ", "i"), ("…", "..."), ("面", "面")],
)
def test_fold_char(ch: str, folded: str) -> None:
    assert fold_char(ch) == folded


def test_fold_char_rejects_strings() -> None:
    with pytest.raises(TypeError):
        fold_char("ab")


def test_fold_ascii_and_same_length_need_no_origin() -> None:
    assert fold("iPhone 16") == Folded("iphone 16", None)
    assert fold("ＩＰＨＯＮＥ") == Folded("iphone", None)
    assert fold("") == Folded("", None)


def test_fold_origin_maps_back() -> None:
    text = "Straße ﬁx İn"
    folded = fold(text)
    assert folded.text == "strasse fix i̇n"
    assert folded.origin is not None
    assert list(folded.origin) == [0, 1, 2, 3, 4, 4, 5, 6, 7, 7, 8, 9, 10, 10, 11]
    assert folded.to_original(0, 6) == (0, 5)  # "strass" -> "Straß"
    assert folded.to_original(4, 5) is None  # half of ß
    assert folded.to_original(8, 9) is None  # "f" of ﬁ
    assert folded.to_original(8, 11) == (7, 9)  # "fix" -> "ﬁx"
    assert folded.to_original(12, 13) is None  # "i" of İ
    assert folded.to_original(12, 15) == (10, 12)  # "i̇n" -> "İn"


@settings(max_examples=300, deadline=None)
@given(st.text(st.one_of(st.characters(), st.sampled_from("ßﬁİ…ﬀ™㎡ΐ")), max_size=40))
def test_fold_agrees_with_per_code_point_folding(text: str) -> None:
    folded = fold(text)
    assert folded.text == fold_text(text) == _ref_fold(text)
    naive = [i for i, ch in enumerate(text) for _ in _ref_fold(ch)]
    origin = list(range(len(text))) if folded.origin is None else list(folded.origin)
    assert origin == naive
    assert list(origin_map(text)) == naive
    assert origin_map(text)[::-1] == tuple(reversed(naive))


def test_offset_map_is_a_sequence() -> None:
    origin = origin_map("aß…b")  # folded "ass...b"
    assert len(origin) == 7
    assert list(origin) == [0, 1, 1, 2, 2, 2, 3]
    assert origin[-1] == 3
    assert origin[1:4] == (1, 1, 2)
    with pytest.raises(IndexError):
        origin[7]
    assert origin == origin_map("aß…b")
    assert hash(fold("aß…b")) == hash(fold("aß…b"))


def test_folding_is_idempotent_for_every_code_point() -> None:
    # Keywords are folded once and texts once; that only lines up if folding a
    # folded string changes nothing.
    for code in range(0, sys.maxunicode + 1, 7):
        folded = fold_char(chr(code))
        assert fold_text(folded) == folded


def test_fold_text_equals_fold_char_for_every_code_point_in_context() -> None:
    # fold_text takes C-speed shortcuts (casefold the whole string, replace
    # only what NFKC changes); each code point must still fold alone.
    for code in range(0x80, sys.maxunicode + 1):
        ch = chr(code)
        assert fold_text(f"面{ch}a") == f"面{fold_char(ch)}a", hex(code)
        assert list(origin_map(f"面{ch}")) == [0] + [1] * len(fold_char(ch)), hex(code)


# --------------------------------------------------------------------------
# Script classes


@pytest.mark.parametrize(
    "ch",
    ["面", "㐀", "\U00020000", "\U00030000", "豈", "あ", "カ", "ｶ", "한", "ㄅ", "ก", "ກ", "ក", "က"],
)
def test_is_cjk(ch: str) -> None:
    assert is_cjk(ch)
    assert not is_word_char(ch)


@pytest.mark.parametrize("ch", ["a", "Z", "5", "é", "ß", "Ω", "я", "，", " ", "\u3000", "_"])
def test_is_not_cjk(ch: str) -> None:
    assert not is_cjk(ch)


@pytest.mark.parametrize("ch", ["a", "Z", "5", "_", "é", "Ω", "я", "Ａ", "\u0301", "٣"])
def test_word_chars(ch: str) -> None:
    assert is_word_char(ch)


@pytest.mark.parametrize("ch", [" ", "-", "+", "，", "。", "\x00", "\ud800", "面", "\u0e31"])
def test_not_word_chars(ch: str) -> None:
    assert not is_word_char(ch)


def test_cjk_bounds_are_sorted() -> None:
    assert list(_CJK_BOUNDS) == sorted(_CJK_BOUNDS)


# --------------------------------------------------------------------------
# KeywordMatcher: construction


def test_keywords_are_folded_and_deduplicated_in_first_seen_order() -> None:
    matcher = KeywordMatcher(["iPhone", "面膜", "IPHONE", "ｉｐｈｏｎｅ", "Straße", "STRASSE"])
    assert matcher.keywords == ("iphone", "面膜", "strasse")
    assert len(matcher) == 3
    assert matcher.key_of("ＩＰｈｏｎｅ") == 0
    assert matcher.key_of("straße") == 2
    assert matcher.key_of("android") is None


@pytest.mark.parametrize("bad", ["", " ", "\t\n", "\u3000", "\u00a0"])
def test_blank_keyword_is_rejected_by_name(bad: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        KeywordMatcher(["ok", bad])
    assert repr(bad) in str(excinfo.value)


def test_non_str_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        KeywordMatcher(["ok", 5])  # type: ignore[list-item]


@each_backend
def test_no_keywords_finds_nothing(backend: str) -> None:
    matcher = KeywordMatcher([], backend=backend)
    assert len(matcher) == 0
    assert matcher.find("anything at all") == []
    assert matcher.find_candidates("") == []


# --------------------------------------------------------------------------
# KeywordMatcher: the documented examples


@each_backend
def test_case_and_width_insensitive_with_original_offsets(backend: str) -> None:
    for keyword in ["ＩＰＨＯＮＥ", "iphone", "IPhone"]:
        matcher = KeywordMatcher([keyword], backend=backend)
        assert matcher.find("I love my iPhone.") == [Hit(10, 16, 0)]
    assert spans(KeywordMatcher(["iphone"], backend=backend), "买ＩＰＨＯＮＥ了") == [
        "ＩＰＨＯＮＥ"
    ]


@each_backend
@pytest.mark.parametrize(
    ("keyword", "text"),
    [
        ("cream", "screaming"),
        ("pen", "pencil"),
        ("foo", "foo_bar"),
        ("iPhone 16", "iPhone 16x"),
        ("B5面膜", "AB5面膜"),
        ("s", "ß"),
        ("ss", "aß"),
        ("i", "İ"),
        ("f", "ﬁ"),
        ("cafe", "cafe\u0301"),  # a combining mark continues the word
        ("ab", "5ab"),
    ],
)
def test_no_match(keyword: str, text: str, backend: str) -> None:
    assert KeywordMatcher([keyword], backend=backend).find(text) == []


@each_backend
@pytest.mark.parametrize(
    ("keywords", "text", "expected"),
    [
        (["面膜"], "敏感肌面膜推荐", ["面膜"]),
        (["iPhone", "iPhone 16"], "iPhone 16x", ["iPhone"]),
        (["B5面膜"], "推荐B5面膜", ["B5面膜"]),
        (["C++"], "I like C++11 and C++.", ["C++", "C++"]),
        (["理肤泉B5修复面膜", "面膜"], "推荐理肤泉B5修复面膜和面膜", ["理肤泉B5修复面膜", "面膜"]),
        (["cream"], "cream, Cream; CREAM!", ["cream", "Cream", "CREAM"]),
        (["ss"], "ß and SS", ["ß", "SS"]),
        (["strasse"], "die Straße", ["Straße"]),
        (["fish"], "ﬁsh ﬁshy", ["ﬁsh"]),
        (["i̇stanbul"], "İstanbul", ["İstanbul"]),
        (["istanbul"], "ISTANBUL İstanbul", ["ISTANBUL"]),
        (["tm"], "Brand™ x", []),  # ™ folds to "tm" but "d" before it is a word char
        (["..."], "好……", ["…", "…"]),
        (["小米"], "小米小米", ["小米", "小米"]),
    ],
)
def test_find_examples(keywords: list[str], text: str, expected: list[str], backend: str) -> None:
    assert spans(KeywordMatcher(keywords, backend=backend), text) == expected


@each_backend
def test_longer_keyword_failing_its_boundary_does_not_hide_shorter(backend: str) -> None:
    matcher = KeywordMatcher(["iphone", "iphone 16"], backend=backend)
    assert spans(matcher, "iPhone 16x and iPhone 16") == ["iPhone", "iPhone 16"]
    matcher = KeywordMatcher(["b5", "b5x"], backend=backend)
    assert spans(matcher, "b5xy b5") == ["b5"]


@each_backend
def test_leftmost_wins_over_longer_later(backend: str) -> None:
    matcher = KeywordMatcher(["小米手机", "手机壳套装"], backend=backend)
    assert spans(matcher, "小米手机壳套装") == ["小米手机"]


@each_backend
def test_iter_long_failure_cases(backend: str) -> None:
    matcher = KeywordMatcher(["手机", "米手机壳套", "小米手机壳"], backend=backend)
    assert matcher.find("我买了小米手机很好用") == [Hit(5, 7, 0)]
    matcher = KeywordMatcher(["小米手机壳", "手机"], backend=backend)
    assert matcher.find("小米手机") == [Hit(2, 4, 1)]


@each_backend
def test_find_candidates_keeps_overlaps_sorted(backend: str) -> None:
    matcher = KeywordMatcher(["面膜", "修复面膜", "理肤泉", "理肤泉B5修复面膜"], backend=backend)
    text = "理肤泉B5修复面膜"
    assert matcher.find_candidates(text) == [
        Hit(0, 9, 3),
        Hit(0, 3, 2),
        Hit(5, 9, 1),
        Hit(7, 9, 0),
    ]
    assert matcher.find(text) == [Hit(0, 9, 3)]


def test_select_leftmost_longest() -> None:
    candidates = [Hit(0, 5, 1), Hit(0, 2, 0), Hit(3, 8, 2), Hit(5, 6, 3), Hit(6, 9, 4)]
    assert select_leftmost_longest(candidates) == [Hit(0, 5, 1), Hit(5, 6, 3), Hit(6, 9, 4)]
    assert select_leftmost_longest([]) == []


# --------------------------------------------------------------------------
# Odd input


@each_backend
def test_empty_text(backend: str) -> None:
    assert KeywordMatcher(["a"], backend=backend).find("") == []


@each_backend
def test_nul_and_lone_surrogates(backend: str) -> None:
    matcher = KeywordMatcher(["iphone", "a\x00b", "\ud800x"], backend=backend)
    text = "\x00iPhone\x00 a\x00b \ud800x \udfffIPHONE\ud800"
    assert spans(matcher, text) == ["iPhone", "a\x00b", "\ud800x", "IPHONE"]
    assert matcher.find("\ud800\udc00\udfff") == []


def test_non_str_text_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        KeywordMatcher(["a"]).find(b"a")  # type: ignore[arg-type]


@each_backend
def test_five_megabyte_text(backend: str) -> None:
    unit = "我买了小米手机很好用，iPhone 16 也不错……Straße ﬁsh! "
    repeats = 5_000_000 // len(unit) + 1
    text = unit * repeats
    matcher = KeywordMatcher(
        ["小米手机", "手机", "iphone 16", "strasse", "fish", "..."], backend=backend
    )
    hits = matcher.find(text)
    # Per unit: 小米手机, iPhone 16, "……" is two "…" each "...", Straße, ﬁsh.
    assert len(hits) == 6 * repeats
    assert [text[h.start : h.end] for h in hits[-6:]] == [
        "小米手机",
        "iPhone 16",
        "…",
        "…",
        "Straße",
        "ﬁsh",
    ]


# --------------------------------------------------------------------------
# Sharing: pickling and threads


@each_backend
def test_pickle_round_trip(backend: str) -> None:
    matcher = KeywordMatcher(["小米手机", "iPhone", "Straße"], backend=backend)
    clone = pickle.loads(pickle.dumps(matcher))
    text = "小米手机 and IPHONE in der Strasse"
    assert clone.keywords == matcher.keywords
    assert clone.find(text) == matcher.find(text)
    assert clone.key_of("straße") == 2


@each_backend
def test_shared_between_threads(backend: str) -> None:
    rng = random.Random(7)
    keywords = ["".join(rng.choices(CJK_ALPHABET, k=rng.randint(2, 4))) for _ in range(300)]
    matcher = KeywordMatcher(keywords, backend=backend)
    texts = ["".join(rng.choices(CJK_ALPHABET + " ßa", k=2000)) for _ in range(8)]
    expected = [matcher.find(t) for t in texts]
    results: dict[int, list[list[Hit]]] = {}

    def work(n: int) -> None:
        results[n] = [matcher.find(t) for t in texts for _ in range(5)][::5]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[n] == expected for n in range(8))


# --------------------------------------------------------------------------
# Properties against the reference


@each_backend
@settings(max_examples=400, deadline=None)
@given(st.data())
def test_find_equals_reference(backend: str, data: st.DataObject) -> None:
    keywords = data.draw(keyword_sets())
    text = data.draw(answers(keywords))
    matcher = KeywordMatcher(keywords, backend=backend)
    assert matcher.find_candidates(text) == reference_candidates(keywords, text)
    assert matcher.find(text) == reference_find(keywords, text)


@st.composite
def underscored(draw: st.DrawFn, text: str) -> str:
    """``text`` with runs of ``_`` put in at random places (now and then a long one)."""
    runs = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(text)),
                st.sampled_from([1, 1, 1, 2, 2, 3, UNDERSCORE_RUN_MAX, UNDERSCORE_RUN_MAX + 1]),
            ),
            max_size=6,
        )
    )
    for at, length in sorted(runs, reverse=True):
        text = text[:at] + "_" * length + text[at:]
    return text


@each_backend
@settings(max_examples=400, deadline=None)
@given(st.data())
def test_find_with_emphasis_equals_reference(backend: str, data: st.DataObject) -> None:
    keywords = data.draw(keyword_sets())
    text = data.draw(answers(keywords).flatmap(underscored))
    matcher = KeywordMatcher(keywords, backend=backend, emphasis=True)
    assert matcher.emphasis
    assert matcher.find_candidates(text) == reference_candidates(keywords, text, emphasis=True)
    assert matcher.find(text) == reference_find(keywords, text, emphasis=True)
    # The default reads every ``_`` as a word character, as before.
    plain = KeywordMatcher(keywords, backend=backend)
    assert plain.find_candidates(text) == reference_candidates(keywords, text)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("try _anker 737_ now", ["anker 737"]),
        ("try __anker 737__ now", ["anker 737"]),
        ("try ___anker 737___ now", ["anker 737"]),
        ("_**anker 737**_ and **_anker 737_**", ["anker 737", "anker 737"]),
        ("_anker 737_", ["anker 737"]),
        ("(_anker 737_).", ["anker 737"]),
        ("推荐：_anker 737_。", ["anker 737"]),
        ("「__anker 737__」", ["anker 737"]),
        ("_anker 737 opens, nothing closes", ["anker 737"]),
        # intraword: CommonMark reads none of these as emphasis
        ("a_anker 737_b", []),
        ("foo_anker 737", []),
        ("anker 737_bar", []),
        ("_anker 737_b", []),
        ("推荐_anker 737_吧", []),
        ("_anker 737_和_anker 737_", []),
        ("x" + "_" * (UNDERSCORE_RUN_MAX + 1) + "anker 737", []),
        (" " + "_" * UNDERSCORE_RUN_MAX + "anker 737", ["anker 737"]),
    ],
)
def test_underscore_runs_that_may_be_emphasis_end_a_word(text: str, found: list[str]) -> None:
    matcher = KeywordMatcher(["Anker 737"], emphasis=True)
    assert spans(matcher, text) == found


def test_emphasis_survives_pickling_backends_and_index_files() -> None:
    matcher = KeywordMatcher(["Anker 737"], emphasis=True)
    assert pickle.loads(pickle.dumps(matcher)).emphasis
    for backend in ALL_BACKENDS:
        assert matcher.with_backend(backend).emphasis
    fields, sections = matcher.dump()
    grouped: dict[str, list[bytes]] = {}
    for name, content in sections:
        grouped.setdefault(name, []).append(bytes(content))
    assert KeywordMatcher.restore(fields, grouped, emphasis=True).find("_anker 737_")
    assert not KeywordMatcher.restore(fields, grouped).find("_anker 737_")


@each_backend
@settings(max_examples=200, deadline=None)
@given(st.data())
def test_hits_fold_to_their_keyword_and_do_not_overlap(backend: str, data: st.DataObject) -> None:
    keywords = data.draw(keyword_sets())
    text = data.draw(answers(keywords))
    matcher = KeywordMatcher(keywords, backend=backend)
    hits = matcher.find(text)
    for hit in hits:
        assert fold(text[hit.start : hit.end]).text == matcher.keywords[hit.key]
    for before, after in itertools.pairwise(hits):
        assert before.end <= after.start


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_every_variant_of_a_keyword_is_found(data: st.DataObject) -> None:
    keyword = data.draw(words())
    mention = data.draw(variant_of(keyword))
    text = f"（{mention}）"
    assert KeywordMatcher([keyword]).find(text) == [Hit(1, 1 + len(mention), 0)]


def _random_keyword(rng: random.Random, han: str) -> str:
    kind = rng.random()
    latin = "abcdefghijklmnopqrstuvwxyz0123456789"
    if kind < 0.5:
        return "".join(rng.choices(han, k=rng.randint(2, 6)))
    if kind < 0.8:
        return "".join(rng.choices(latin, k=rng.randint(3, 8)))
    word = "".join(rng.choices(latin, k=rng.randint(1, 4)))
    return word + rng.choice(["", " "]) + "".join(rng.choices(han, k=rng.randint(1, 3)))


@each_backend
def test_large_keyword_set_against_reference(backend: str) -> None:
    rng = random.Random(20251)
    han = "".join(chr(c) for c in rng.sample(range(0x4E00, 0x9FA6), 150))
    keywords = [_random_keyword(rng, han) for _ in range(20_000)]
    matcher = KeywordMatcher(keywords, backend=backend)
    for _ in range(3):
        pieces = []
        for _ in range(400):
            roll = rng.random()
            if roll < 0.3:
                word = rng.choice(keywords)
                pieces.append(word.upper() if rng.random() < 0.3 else word)
            elif roll < 0.6:
                pieces.append("".join(rng.choices(han, k=rng.randint(1, 4))))
            else:
                pieces.append(rng.choice(["", " ", "，", "ß", "ﬁ", "…", "a", "5", "İ"]))
        text = "".join(pieces)
        expected = reference_find(keywords, text)
        assert expected  # the text does mention keywords
        assert matcher.find(text) == expected


def test_backends_are_known_and_auto_prefers_the_fast_one() -> None:
    assert ALL_BACKENDS[0] == "pyahocorasick"
    assert set(ALL_BACKENDS) <= set(BACKENDS)
    assert default_backend() == ALL_BACKENDS[-1]
    assert KeywordMatcher(["a"]).backend == default_backend()
    with pytest.raises(ValueError, match="unknown matcher backend"):
        KeywordMatcher(["a"], backend="hyperscan")


@pytest.mark.skipif(len(ALL_BACKENDS) < 2, reason="needs ahocorasick_rs")
@settings(max_examples=300, deadline=None)
@given(st.data())
def test_backends_give_identical_output(data: st.DataObject) -> None:
    keywords = data.draw(keyword_sets(max_size=20))
    text = data.draw(answers(keywords, max_pieces=30))
    results = [KeywordMatcher(keywords, backend=b) for b in ALL_BACKENDS]
    assert len({tuple(m.find_candidates(text)) for m in results}) == 1
    assert len({tuple(m.find(text)) for m in results}) == 1


@pytest.mark.skipif(len(ALL_BACKENDS) < 2, reason="needs ahocorasick_rs")
@pytest.mark.parametrize("script", ["han", "latin", "mixed"])
def test_backends_agree_on_large_random_catalogs(script: str) -> None:
    rng = random.Random(script)
    han = "".join(chr(c) for c in rng.sample(range(0x4E00, 0x9FA6), 400))
    latin = "abcdefghijklmnopqrstuvwxyz0123456789"
    pool = {"han": han, "latin": latin + " ", "mixed": han + latin + " ßﬁİ…"}[script]
    keywords = [
        "".join(rng.choices(pool, k=rng.randint(2, 7))).strip() or "x" for _ in range(20_000)
    ]
    text = "".join(
        rng.choice(keywords) if rng.random() < 0.3 else "".join(rng.choices(pool, k=3))
        for _ in range(3_000)
    )
    found = [KeywordMatcher(keywords, backend=b).find(text) for b in ALL_BACKENDS]
    assert found[0]
    assert all(f == found[0] for f in found)


# --------------------------------------------------------------------------
# Index files: the matcher as raw sections (KeywordMatcher.dump / restore)


def _restored(matcher: KeywordMatcher, backend: str = "auto") -> KeywordMatcher:
    fields, sections = matcher.dump()
    grouped: dict[str, list[bytes]] = {}
    for name, data in sections:
        grouped.setdefault(name, []).append(bytes(data))
    return KeywordMatcher.restore(fields, grouped, backend)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_dump_and_restore_find_the_same(data: st.DataObject) -> None:
    keywords = data.draw(keyword_sets(max_size=20))
    text = data.draw(answers(keywords, max_pieces=30))
    built = data.draw(st.sampled_from(ALL_BACKENDS))
    onto = data.draw(st.sampled_from(("auto", *ALL_BACKENDS)))
    matcher = KeywordMatcher(keywords, backend=built)
    clone = _restored(matcher, onto)
    assert clone.backend == ("pyahocorasick" if onto == "auto" else onto)
    assert [clone.keyword(k) for k in range(len(clone))] == list(matcher.keywords)
    assert clone.longest == matcher.longest
    assert clone.find_candidates(text) == matcher.find_candidates(text)
    assert clone.find(text) == matcher.find(text)
    assert clone.keywords == matcher.keywords


def test_restored_keywords_keep_lone_surrogates_and_astral_characters() -> None:
    keywords = ["\ud83d", "\ude00x", "😀面膜", "a\udc80b", "ß"]
    matcher = KeywordMatcher(keywords, backend="pyahocorasick")
    clone = _restored(matcher)
    assert clone._keywords is None
    assert [clone.keyword(k) for k in range(len(clone))] == list(matcher.keywords)
    assert clone.keywords == matcher.keywords
    assert clone.longest == matcher.longest == 3
    text = "\ud83d \ude00x😀面膜 a\udc80b"
    assert clone.find(text) == matcher.find(text)
    assert clone.find(text)


@settings(max_examples=100, deadline=None)
@given(keywords=st.lists(st.text(alphabet="ab\n>面\ud83d😀", min_size=1, max_size=4), max_size=6))
def test_holds_says_whether_a_keyword_contains_a_character(keywords: list[str]) -> None:
    keywords = [k for k in keywords if k.strip()]
    matcher = KeywordMatcher(keywords, backend="pyahocorasick")
    restored = _restored(matcher)
    assert restored._keywords is None  # answered from the UTF-8 block
    for char in "\n>面\ud83d😀a":
        expected = any(char in k for k in matcher.keywords)
        assert matcher.holds(char) == expected
        assert restored.holds(char) == expected


@each_backend
def test_keyword_and_longest(backend: str) -> None:
    matcher = KeywordMatcher(["iPhone", "面膜", "Straße"], backend=backend)
    assert [matcher.keyword(k) for k in range(3)] == ["iphone", "面膜", "strasse"]
    assert matcher.longest == 7
    for bad in (-1, 3):
        with pytest.raises(IndexError):
            matcher.keyword(bad)
    assert KeywordMatcher([], backend=backend).longest == 0


@each_backend
def test_with_backend_keeps_the_ids(backend: str) -> None:
    matcher = KeywordMatcher(["小米手机", "iPhone", "Straße", "手机"], backend=backend)
    text = "小米手机 and IPHONE in der Strasse"
    for other in ALL_BACKENDS:
        moved = matcher.with_backend(other)
        assert moved.backend == other
        assert moved.keywords == matcher.keywords
        assert moved.find(text) == matcher.find(text)
    assert matcher.with_backend(backend) is matcher


def test_restore_refuses_sections_that_disagree() -> None:
    fields, sections = KeywordMatcher(["ab", "面膜"]).dump()
    grouped: dict[str, list[bytes]] = {}
    for name, data in sections:
        grouped.setdefault(name, []).append(bytes(data))
    for name, content in [
        ("keywords", b"abc"),
        ("keyword_ends", b"\x00" * 8),
        ("keyword_lengths", b"\x00" * 7),
        ("keyword_edges", b"\x00"),
    ]:
        with pytest.raises(ValueError):
            KeywordMatcher.restore(fields, {**grouped, name: [content]})
    numbers = fields["automaton"]["numbers"]
    wrong = {**fields, "automaton": {**fields["automaton"], "numbers": [0, *numbers[1:]]}}
    with pytest.raises(ValueError, match="not a finished"):
        KeywordMatcher.restore(wrong, grouped)
    with pytest.raises(ValueError):
        KeywordMatcher.restore(fields, {**grouped, "automaton": [b"\x01" + b"\x00" * 7]})


# --------------------------------------------------------------------------
# GrowingCandidates: a stream's occurrences, found as the text grows


@each_backend
@pytest.mark.parametrize("emphasis", [False, True], ids=["plain", "emphasis"])
@settings(max_examples=300, deadline=None)
@given(st.data())
def test_growing_candidates_equal_a_scan_of_every_prefix(
    backend: str, emphasis: bool, data: st.DataObject
) -> None:
    keywords = [k for k in data.draw(keyword_sets()) if "\n" not in k]
    if not keywords:
        return
    text = data.draw(answers(keywords))
    if emphasis:
        text = data.draw(underscored(text))
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=10))
    matcher = KeywordMatcher(keywords, backend=backend, emphasis=emphasis)
    brk = data.draw(st.sampled_from(["\n", None]))
    growing = GrowingCandidates(matcher, brk)
    for end in [*sorted(set(cuts)), len(text)]:
        prefix = text[:end]
        fresh = matcher.find_candidates(prefix)
        # asked before taking the prefix: it is taken only if needed; the
        # stream asks up to the longest keyword before the end
        limit = data.draw(st.sampled_from([end + 1, max(0, end - matcher.longest)]))
        first = growing.first_before(0, limit, prefix)
        starts = [h.start for h in fresh if h.start < limit]
        assert first == (starts[0] if starts else None)
        growing.extend(prefix)
        assert growing.between(0, end + 1) == [(h.start, -h.end, h.key) for h in fresh]
        # One said to stay is still there in the whole text.
        whole_starts = {h.start for h in matcher.find_candidates(text)}
        for h in fresh:
            if growing.lasting_in(h.start, h.start):
                assert h.start in whole_starts, (prefix, h)
        lo = data.draw(st.integers(0, end))
        assert growing.between(lo, end) == [
            (h.start, -h.end, h.key) for h in fresh if lo <= h.start < end
        ]
        if brk is not None and "\n" in prefix:
            # before a line break, the hits are final: find()'s
            upto = prefix.rfind("\n") + 1
            expected = [h for h in matcher.find(prefix) if h.start < upto]
            # asked from anywhere first (the stream asks for the hits after
            # what it released), then from the start
            assert growing.hits_between(lo, upto) == [h for h in expected if h.start >= lo]
            assert growing.hits_before(upto) == expected
    assert growing.hits_before(len(text)) == matcher.find(text)


def test_growing_candidates_find_a_longer_name_completed_around_a_shorter_one() -> None:
    matcher = KeywordMatcher(["手机", "小米手机壳"])
    growing = GrowingCandidates(matcher)
    assert growing.first_before(0, 7, "买了小米手机") == 4  # 手机, not final yet
    text = "买了小米手机壳真好用啊啊啊啊"
    assert growing.first_before(0, len(text), text) == 2  # 小米手机壳 starts first
    assert growing.lasting_in(0, 2)
    assert growing.hits_before(len(text)) == matcher.find(text)
