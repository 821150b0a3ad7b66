"""The Markdown layout's shortcuts give what the long way gives.

Each shortcut in ``_markdown`` (skipping text that cannot hold what is
looked for, caches) is checked against the plain computation it replaces,
kept here as the reference.
"""

from __future__ import annotations

import linkify_it
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoplink import _markdown

_LINKIFY = linkify_it.LinkifyIt()


def reference_bare_urls(src: str) -> list[tuple[int, int]]:
    """The whole-text scan ``_markdown._bare_urls`` replaces."""
    urls = []
    pos = 0
    while True:
        m = _markdown._urlish().search(src, pos)
        if m is None:
            break
        rest = _markdown._URL_REST.match(src, m.end())
        assert rest is not None
        pos = rest.end()
        tok = m.group(0)
        if (
            "//" in tok
            or "@" in tok
            or _markdown._URL_TLDISH.search(tok)
            or tok.startswith("mailto:")
        ):
            urls.append((m.start(), rest.end()))
    return urls


_PRETEST_PIECES = st.sampled_from(
    [
        "a", "S", "1", ".", ".com", ".co", ".CN", ".рф", ".museum", "xn--a", "-", "_",
        "www.", "WWW.", ".1.", "localhost", "@", ":", "/", "//", "http:", "HTTPS:",
        "ftp:", "mailto:", "<", ">", "｜", "理肤泉", "，", "。", " ", "\u3000", "\n",
        "\x00", "$", "+", "~",
    ]
)  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(st.lists(_PRETEST_PIECES, max_size=14).map("".join))
def test_linkify_pretest_is_linkify_its(src: str) -> None:
    # markdown-it runs linkify only on a block whose text passes this.
    assert _markdown._linkify_pretest(src) == _LINKIFY.pretest(src)


@settings(max_examples=2000, deadline=None)
@given(st.lists(_PRETEST_PIECES, max_size=14).map("".join))
def test_what_linkify_links_is_linkifiable(src: str) -> None:
    # A paragraph failing the pretest is refused only if an address in it
    # may be linked once our link opens it: that test must not miss one.
    for a, b in _markdown._bare_urls(src):
        if _LINKIFY.test(src[a:b]):
            assert _markdown._linkifiable(src[a:b]), src[a:b]
    if _LINKIFY.test(src):
        assert _markdown._linkifiable(src)


def test_a_file_name_in_a_paragraph_failing_the_pretest_is_no_address() -> None:
    assert not _markdown._linkify_pretest("save it in a file called taxes.txt. Let me")
    assert not _markdown._linkifiable("taxes.txt.")
    assert _markdown._linkifiable("理肤泉.com")


# pieces of addresses and of what surrounds them, glued without spaces too
_URL_PIECES = st.sampled_from(
    [
        "a", "b1", "com", "x-y", "_", "+", ".", "..", "/", "//", ":", "@", "?", "#",
        "www", "mailto:", "https:", "http://", "ftp", "80", "理肤泉", "面膜", "。",
        "，", " ", "  ", "\n", "\t", "\u3000", "<", ">", "(", ")", "*", "~", "`", "é",
    ]
)  # fmt: skip


@settings(max_examples=1000, deadline=None)
@given(st.lists(_URL_PIECES, max_size=30).map("".join))
def test_bare_urls_match_the_whole_text_scan(src: str) -> None:
    assert _markdown._bare_urls(src) == reference_bare_urls(src)


@pytest.mark.parametrize(
    "src",
    [
        "",
        "no address here",
        "easy.理肤泉面膜Battery life",
        "see https://a.test/x?y=1#z, or www.a.test.",
        "mail me: a.b+c@d-e.test or mailto:x",
        "<https://a.test> and <b>x.y</b>",
        "a." * 2000,
        "理肤泉" * 3000 + "x.test",
        "http://" * 1500,
    ],
    ids=lambda s: repr(s[:16]),
)
def test_bare_urls_examples(src: str) -> None:
    assert _markdown._bare_urls(src) == reference_bare_urls(src)


# plain text and the characters the inline parser stops at
_INLINE_PIECES = st.sampled_from(
    [
        "理肤泉", "面膜", "a", "b c", ".", ",", "，", "。", " ", "\t", "\u3000",
        "*", "**", "_", "~~", "`", "[", "]", "(", ")", "!", "<", ">", "&", "&amp;",
        "\\", ":", "//", "\n", "<b>", "</b>", "[x](y)", "a.test", "@",
    ]
)  # fmt: skip


@settings(max_examples=1000, deadline=None)
@given(st.lists(_INLINE_PIECES, max_size=20).map("".join))
def test_inline_parse_shortcut_gives_the_full_parse(src: str) -> None:
    quick = _markdown._InlineParser(src, set()).parse()
    full = _markdown._InlineParser(src, set()).parse_all()
    assert quick == full


_FLANK_CHARS = st.sampled_from(
    [" ", "\n", "\u3000", "a", "理", "*", "_", "，", "。", "(", "[", "$"]
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from("*_~"), _FLANK_CHARS, _FLANK_CHARS)
def test_flank_cache_gives_the_computed_flanking(marker: str, last: str, nxt: str) -> None:
    expected = _markdown._flank_uncached(marker, last, nxt)
    assert _markdown._flank(marker, last, nxt) == expected
    assert _markdown._flank(marker, last, nxt) == expected  # now from the cache


def test_flank_cache_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_markdown, "_FLANKS", {})
    monkeypatch.setattr(_markdown, "_FLANKS_MAX", 2)
    for ch in "abc理":
        assert _markdown._flank("*", " ", ch) == _markdown._flank_uncached("*", " ", ch)
    assert len(_markdown._FLANKS) == 2


def reference_label_of(suffix: str) -> str | None:
    """The character loop ``_markdown._label_of`` replaces."""
    m = _markdown._DESTINATION.match(suffix)
    if m is None:
        return None
    label = suffix[m.end() :]
    i = 0
    while i < len(label):
        ch = label[i]
        if ch == "\\":
            if i + 1 < len(label) and label[i + 1] in _markdown._ASCII_PUNCT:
                i += 2
                continue
            return None
        if ch in _markdown._LABEL_FORBIDDEN or ch in "\n\r" or ord(ch) < 0x20:
            return None
        i += 1
    return label


_SUFFIX_PIECES = st.sampled_from(
    [
        "](", ")", "(", "https://a.test/p", "\\", "\\)", "\\(", "\\a", "\\\\", " ", "x",
        "（广告）", "(Ad)", "\\[", "]", "[", "`", "<", ">", "*", "_", "&", "|", "!", ":",
        "@", "/", ".", "\n", "\r", "\x01", "\x7f", "'", '"', "-", "?", "é",
    ]
)  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(st.lists(_SUFFIX_PIECES, max_size=12).map("".join))
def test_label_of_matches_the_character_loop(suffix: str) -> None:
    assert _markdown._label_of(suffix) == reference_label_of(suffix)


@pytest.mark.parametrize(
    "suffix",
    [
        "](https://a.test/p)",
        "](https://a.test/p) (Sponsored)",
        "](https://a.test/p)（广告）",
        "](https://a.test/p\\)x) \\(Ad \\*\\[x\\]\\(y\\)\\*\\)",
        "](https://a.test/p) x\\",
        "](https://a.test/p) a_b",
        "](https://a.test/(p))",
        "](<https://a.test/p>)",
        # long runs that fail at their end (no backtracking blow-up)
        "](" + "a\\)" * 3000 + "x",
        "](https://a.test/p)" + "\\(a" * 3000 + "_",
    ],
    ids=lambda s: repr(s[:24]),
)
def test_label_of_examples(suffix: str) -> None:
    assert _markdown._label_of(suffix) == reference_label_of(suffix)


def direct_pair_ends(scope: list[_markdown._PairInput]) -> tuple[int, ...]:
    delims = [_markdown._Delim(*d) for d in scope]
    _markdown._process_delimiters(delims)
    return tuple(d.end for d in delims)


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(_INLINE_PIECES, max_size=20).map("".join),
    st.lists(st.booleans(), max_size=40),
    st.integers(0, 50),
)
def test_pair_ends_match_the_delimiter_pass(src: str, flips: list[bool], shift: int) -> None:
    parsed = _markdown._InlineParser(src, set()).parse_all()
    scope = [d[:6] for d in parsed.top_delims]
    ends = _markdown._pair_ends(scope)
    assert ends == direct_pair_ends(scope)
    pairs = {(scope[k][0], scope[j][0]) for k, j in enumerate(ends) if j >= 0}
    assert pairs == parsed.top_pairs
    # other flanking (what an insertion changes), at other positions and tokens:
    # a kept result must not answer for a different input
    changed = [
        (p + shift, m, n, t + shift, op != flip, cl)
        for (p, m, n, t, op, cl), flip in zip(scope, flips + [False] * len(scope), strict=False)
    ]
    assert _markdown._pair_ends(changed) == direct_pair_ends(changed)
    assert _markdown._pair_ends(changed) == direct_pair_ends(changed)  # kept


def test_pair_ends_are_kept_per_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_markdown, "_PAIRINGS", {})

    def scope(src: str) -> list[_markdown._PairInput]:
        return [d[:6] for d in _markdown._InlineParser(src, set()).parse_all().top_delims]

    bold = scope("**ab**")
    assert _markdown._pair_ends(bold) == (3, 2, -1, -1)
    assert len(_markdown._PAIRINGS) == 1
    # the same runs, the closer unable to close: not the kept result
    stuck = [*bold[:2], *((p, m, n, t, op, False) for p, m, n, t, op, _cl in bold[2:])]
    assert _markdown._pair_ends(stuck) == (-1, -1, -1, -1)
    # the same shape later in a longer text: the kept result, rightly
    later = scope("x y **cd**")
    assert [d[0] for d in later] != [d[0] for d in bold]
    assert _markdown._pair_ends(later) == (3, 2, -1, -1)
    assert len(_markdown._PAIRINGS) == 2


def test_pair_ends_keep_only_short_scopes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_markdown, "_PAIRINGS", {})
    monkeypatch.setattr(_markdown, "_PAIRINGS_MAX_DELIMS", 2)
    scope = [(i, "*", 1, i + 1, True, True) for i in range(3)]
    assert _markdown._pair_ends(scope) == direct_pair_ends(scope)
    assert not _markdown._PAIRINGS
