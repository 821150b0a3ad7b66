"""Advice against a product: the answer names it to steer the reader away.

``别买X``, ``X踩雷了``, "skip the X", "X is a waste of money": a link on X
would sell what the answer warns against.  This module finds, for each
mention in one block (paragraph, list item, table row), the cue that
advises against it, if any.  The linker then links no mention of that
product from that block on (``docs/safety.md``).

How a cue finds its mention, in a text folded for the purpose (traditional
Chinese to simplified, lower case) with the mentions masked out so that
no product name reads as a cue:

* first, positive idioms that hold a negative word are blanked:
  ``不要错过``, ``不踩雷``, "can't recommend ... enough", "never had a
  better", "don't forget", "not cheap, but", "no complaints";
* a cue *before* a mention (``别买``, ``不推荐``, "avoid", "skip",
  "instead of") takes the mention that follows it in its clause, past
  filler words (``这款``, "the", "buying") and at most a few other
  characters, but not past a word that turns to another choice (``选``,
  ``不如``, "go for", "and"); then the mentions listed right after it
  (``别买A、B``);
* a cue *after* a mention (``踩雷``, ``智商税``, "is a waste of money",
  "returned it") takes the nearest mention before it in its clause, or,
  when its clause names none, the last one in the sentence; a cue that
  opens its sentence ("X? Hard pass.") reaches back one sentence.

Only the block is read, never text after it, so a stream decides as
``link()`` does.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from .._matcher import LiteralSet
from ._view import _t2s

__all__ = ["advice_in_block"]

_MASK = "\ue000"

_BEFORE_ZH = (
    "千万别买|千万不要买|千万别|千万不要|别买|不要买|别再买|不要再买|不推荐|不太推荐|不建议|"
    "不太建议|慎买|慎入|慎选|谨慎购买|避开|避雷|避坑|劝退|远离|别入|不要入|别碰|别选|不要选|"
    "不值得买|不值得入|别考虑|与其|少买|暂停|停用|避免|pass掉|放弃|别踩|绕开|绕道|"
    "不必买|没必要买|不用买|劝你别|劝你唔好|拉黑|真心不推|不推|别被|别指望|唔好买|❌|👎|⛔|🚫"
)
_BEFORE_EN = (
    r"(?<!no-)(?<!non-)(?<!no )skip|skipping|stay away from|steer clear of|"
    r"steer (?:you )?away from|avoid|avoiding|"
    r"don'?t buy|do not buy|wouldn'?t buy|would not buy|wouldn'?t get|would not get|"
    r"wouldn'?t recommend|would not recommend|can'?t recommend|cannot recommend|"
    r"don'?t recommend|do not recommend|not recommend|pass on|instead of|rather than|"
    r"don'?t bother with|never buy|won'?t buy|hard pass on|say no to|beware of|be wary of|"
    r"don'?t waste (?:your )?(?:money|time) (?:on|with)|think twice before|don'?t get|"
    r"do not get|don'?t go for|not a fan of|ditch|forget about|hard no on|don'?t fall for|"
    r"wouldn'?t touch|would not touch"
)
_AFTER_ZH = (
    "踩雷|踩坑|踩过雷|雷品|大雷|有点雷|很雷|超雷|太雷|好雷|智商税|不值这个价|不值|性价比低|"
    "性价比太低|就算了|算了吧|别买了|别买|不推荐|不太推荐|不建议|不太建议|劝退|翻车|鸡肋|后悔|"
    "退货|退了|坑人|坑钱|垃圾(?![桶袋箱])|难用|不好用|质量差|太差|很差|慎入|慎买|避雷|避开|"
    "吃灰|积灰|割韭菜|过誉|名不副实|不耐用|就坏|差评|黑名单|不划算|划不来|别入|千万别|千万不要|"
    "不要买|别碰|别考虑|别冒险|躲远|召回|没必要|不推|婉拒|母汤|唔好买|唔好(?:喇|啦|了)?(?=[，。！!,.\\s]|$)|唔抵|中伏|好伏|"
    "不太推|溢价|营销出来的|纯营销|这款不行|这个不行|那款不行|先不要|真的不要|我觉得不要|建议不要|"
    "可以不买|不如|pass掉|持保留意见|❌|👎"
)
_AFTER_EN = (
    r"(?:a |total |complete )?waste of (?:money|time)|not worth (?:it|the money|the price)|"
    r"isn'?t worth|is not worth|wasn'?t worth|overpriced|over-priced|rip-?off|scam|"
    r"junk(?! drawer| food)|garbage(?! ?(?:can|bag|bin|disposal))|trash(?! ?(?:can|bag|bin))|"
    r"broke (?:after|within|in)|fell apart|stopped working|die[sd]? (?:after|within)|"
    r"returned it|return(?:ed)? (?:mine|them)|sent it back|hard pass|avoid it|skip it|"
    r"skip this|skip them|avoid them|not recommended|don'?t bother|do not bother|"
    r"wouldn'?t bother|wouldn'?t buy it|would not buy it|"
    r"disappointing|disappointed|a letdown|let me down|regret (?:buying|it)|overhyped|"
    r"over-hyped|all hype|not great|a dud|avoid at all costs|stay away|steer clear|no thanks|"
    r"avoid if|the wrong (?:tool|choice|pick)|isn'?t the best (?:pick|choice|option)|"
    r"not the best (?:pick|choice|option)|overkill|tough sell|no-?go|buyer beware|nope|"
    r"(?:can'?t|cannot|don'?t|do not|wouldn'?t|would not|not) recommend "
    r"(?:it|them|this one|that one)|"
    r"a miss\b|is mid\b(?!-)|mid at this point|nothing but trouble|hard skip|falls short|"
    r"the one to avoid|(?:a )?(?:known )?lemon\b|(?:would be )?a mistake|didn'?t live up|nah\b|"
    r"money pit|ain'?t worth|a downgrade|a no from me|aged badly|just don'?t|a trap\b|"
    r"isn'?t the move|won'?t cut it|more hassle than|a flop\b|isn'?t it\b|\? no\b|"
    r"steer (?:him|her|them|you) away|avoid(?=\s*(?:\||$|\.|!))|"
    r"pass\b|👎|❌"
)
_POSITIVE = re.compile(
    "|".join(
        [
            # zh (simplified; traditional text is folded first)
            r"不要错过|别错过|不容错过|错过就|不得不说|不得不提|不得不推荐?|没有比.{0,16}?更|"
            r"再也不用|无可挑剔|不踩雷|零踩雷|没踩雷|从不踩雷|没踩过雷|闭眼入|不贵|不算贵|并不贵|"
            r"怎么夸都不为过|不为过|不后悔|没后悔|零差评|没有差评|不输|毫不逊色|没有之一|"
            r"谁说.{0,30}?(?:智商税|不值|踩雷|鸡肋|难用)|翻车率(?:很|较|比较)?低|不会翻车|不会踩雷|"
            r"没.{0,6}后悔|不买(?:会)?后悔|"
            r"不二之选|不可或缺|别犹豫|不用犹豫|放心买|没得说|不会失望|没让我失望|不吃灰|"
            r"不翻车|没翻车|从不翻车|不坑|不是智商税|绝不是智商税|并非智商税|不算智商税|不鸡肋|"
            r"不难用|不差|不会后悔|不心疼|没毛病|不出错|不退|没退|不劝退|不是垃圾|不值得犹豫|"
            r"避免.{0,8}?(?:踩雷|踩坑|翻车|浪费|麻烦)|避开.{0,6}?(?:高峰|人群|拥堵)|"
            r"不建议.{0,6}?(?:错过|犹豫)|避雷指南|避雷贴|不要忘|别忘",
            # en
            r"can'?t recommend .{0,80}? enough|cannot recommend .{0,80}? enough|"
            r"never (?:had|found|owned|used|tried) a better|never disappoints?|"
            r"never (?:lets?|let) (?:me|you|us) down|never fails?|can'?t go wrong|cannot go wrong|"
            r"won'?t go wrong|don'?t forget|do not forget|don'?t sleep on|no complaints|"
            r"(?:not|isn'?t|wasn'?t|aren'?t) (?:exactly )?(?:cheap|the cheapest|inexpensive),? but|"
            r"worth every (?:penny|cent|dollar)|no regrets|never regret|won'?t regret|"
            r"(?:not|isn'?t|wasn'?t) (?:a )?"
            r"(?:waste|overpriced|a scam|junk|disappointing|overhyped)|"
            r"no joke|don'?t hesitate|no-brainer|no brainer|hard to beat|can'?t beat|"
            r"cannot beat|nothing beats|(?:not|never|wasn'?t|never been) disappointed|"
            r"who says .{0,40}?(?:waste|overpriced|overhyped|not worth)|"
            r"don'?t miss|do not miss|don'?t skip|can'?t live without|"
            r"(?:skip|avoid) (?:the |a )?(?:line|lines|queue|hassle|stress|crowds?|guesswork|"
            r"mess|headache|wait)|never (?:looked|went) back|avoid (?:wasting|overpaying)",
        ]
    )
)
def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regular expression's source."""
    out, depth, start, i = [], 0, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            i = pattern.index("]", i + 2) + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
        i += 1
    out.append(pattern[start:])
    return out


_LOOKAROUND = re.compile(r"\(\?<?[=!][^()]*(?:\([^()]*\)[^()]*)*\)")
_OPTIONAL = re.compile(r"\((?:[^()]|\([^()]*\))*\)[?*]|\\.[?*]|[^()\[\]\\][?*]")
_BREAK = re.compile(
    r"\((?:[^()]|\([^()]*\))*\)[+]?|\[[^\]]*\][?*+]?|\\[bBsSwWdD]|\.\{[^}]*\}|[.^$]|\{[^}]*\}"
)


def _anchor(alternative: str) -> str:
    """A literal every match of ``alternative`` holds: its longest fixed run.

    "" when none can be read off (then the prefilter lets every text through).
    """
    text = _LOOKAROUND.sub("\x00", alternative)
    text = _OPTIONAL.sub("\x00", text)
    text = _BREAK.sub("\x00", text)
    if any(ch in re.sub(r"\\.", "", text) for ch in "()[]|?*+{}"):
        return ""  # a construct this reading does not know
    return max(re.sub(r"\\(.)", r"\1", text).split("\x00"), key=len)


def _anchors(*patterns: str) -> tuple[str, ...] | None:
    """One anchor per alternative of ``patterns``; None if one has none."""
    out = []
    for pattern in patterns:
        for alternative in _alternatives(pattern):
            anchor = _anchor(alternative)
            if not anchor.strip():
                return None
            out.append(anchor)
    return tuple(out)


_BEFORE = re.compile(f"(?:{_BEFORE_ZH})|\\b(?:{_BEFORE_EN})\\b")
_AFTER = re.compile(f"(?:{_AFTER_ZH})|\\b(?:{_AFTER_EN})")
_ANY = re.compile(f"{_BEFORE.pattern}|{_AFTER.pattern}")
# Every cue holds one of these literals: one Aho-Corasick pass tells the
# usual block (no cue) from the rest, where the regular expressions run.
_CUE_ANCHORS = _anchors(_BEFORE_ZH, _BEFORE_EN, _AFTER_ZH, _AFTER_EN)
_PREFILTER = LiteralSet(_CUE_ANCHORS) if _CUE_ANCHORS is not None else None
# What may stand between a cue and the mention it takes, whatever the
# words: articles, demonstratives, 买 / 入手.
_FILLER = re.compile(
    r"(?:\s|\*|_|~|`|买|购买|入手|入|选|用|使用|这款|那款|这个|那个|这种|那种|这些|那些|任何|的|了|啊|吧|"
    r"大家|你|各位|新手|直接|\b(?:the|a|an|this|that|these|those|any|your|my|buying|getting|"
    r"using|cheap|cheaper|original|older|old|new|base|basic)\b)*"
)
# Words after which a following mention is another choice, not the one
# advised against ("skip the blue one and go for X", "别买A，选B").
_SWITCH = re.compile(
    r"换|选|买|而是|不如|改|还是|和|或|推荐|\b(?:go for|get|buy|choose|pick|opt for|try|grab|"
    r"instead|rather|and|or|but|prefer|recommend)\b"
)
# Between two mentions of one list (``别买A、B``, "skip A and B").
_LIST_JOIN = re.compile(r"\s*(?:、|/|和|或|及|以及|跟|与|,\s*and|,\s*or|,|and|or|&)\s*(?:the\s+)?")
_CLAUSE = re.compile(
    r"[，,；;：:!?！？。\n|（）()]|\.(?:\s|$)|—|\s-\s|\bbut\b|\bhowever\b|\bwhereas\b|但是|但|不过|可是"
)
_SENTENCE = re.compile(r"[。！？!?；;\n]|\.(?:\s|$)")
_GAP_BEFORE = 24  # characters of other words a cue before a mention reaches over
_GAP_AFTER = 40  # and a cue after one, in its clause
_GAP_EXAMPLE = 48  # "stay away from the generic ones like the X"
_LONGEST_CUE = 40  # no cue is longer (an after-cue inside a taken one starts within it)
_GAP_FAR = 160  # past this, no filler reaches: the mention is not read at all
_LEAD_MAX = 60  # a cue further into its sentence does not open it
_EXAMPLE_START = re.compile(r"\s*(?:比如|例如|像是?|such as|like|e\.g\.)")
_EXAMPLE = re.compile(r"(?:\blike|\bsuch as|比如|例如|像是?|e\.g\.)(?:\s+the)?\s*$")
# A cue's own subject, just before it: copies and knock-offs of a product
# the answer recommends ("认准正品X，几十块的高仿别碰", "avoid the knockoffs").
_OWN_SUBJECT = re.compile(
    r"(?:高仿|山寨|假货|杂牌|盗版|仿品|翻新机|水货|knock-?offs?|fakes?|counterfeits?|clones?|"
    r"dupes?|cheap ones|generic ones|no-name ones)\W{0,3}$"
)
# "No need" cues that, with words after them, are about those words:
# 薄膜键盘就够用，没必要为了游戏参数多花钱.
_GOVERNS = re.compile("没必要|没有必要|不必|不用")
# A word after a cue that starts its object (not "给新手", "for beginners", "了").
_OBJECT = re.compile(
    r"(?!给|对|了|啊|吧|的|呢|哦|喔|啦|来|去|回|\b(?:for|to|if|unless|because|since|either|too|though|"
    r"here|anymore|now|yet|at all)\b)[^\W\d_\ue000]"
)
# What may come before a cue that still opens its sentence ("所以我不推荐").
_LEAD = re.compile(
    r"[\s*_~>#\"'“”「」,，:：-]|所以|总之|因此|不过|但是|但|另外|还有|说实话|老实说|说真的|我|就|"
    r"真的|个人|\b(?:so|overall|honestly|also|and|but|i|i'd|personally|really|just)\b"
)
_REACH_BACK = 240  # how far back such a cue reaches, in characters
# A cue pointing back at what was just named: "这台不值得", "it's a no-go".
_POINTER = re.compile(
    r"(?:这台|这款|这个|这支|这双|这件|这种|这只|这瓶|它|那款|那台|呢款|呢部|\bit'?s\b|"
    r"\bit is\b|\bthis one\b|\bthat one\b|\bthey'?re\b)[^\ue000]{0,12}$"
)


def _has_object(masked: str, at: int, end: int) -> bool:
    """Whether a cue ending at ``at`` is followed, in its clause, by words it governs."""
    filler = _FILLER.match(masked, at)
    rest = masked[filler.end() if filler else at : end]
    return bool(_OBJECT.match(rest))


def _has_mention(starts: list[int], lo: int, hi: int) -> bool:
    i = bisect.bisect_left(starts, lo)
    return i < len(starts) and starts[i] < hi


def _fold(text: str) -> str:
    """Lower case and simplified characters, one code point for one."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return _t2s(low) if not low.isascii() else low


def advice_in_block(
    text: str, block: tuple[int, int], mentions: Sequence[tuple[int, int]]
) -> list[str | None]:
    """For each mention in ``block`` of ``text``, the cue advising against it, or None.

    Args:
        text: the answer.
        block: the block's span in ``text``.
        mentions: the mentions' spans, in order, inside ``block``.

    Returns:
        One entry per mention: the cue as the answer writes it, or None.
    """
    out: list[str | None] = [None] * len(mentions)
    lo, hi = block
    if not mentions or hi <= lo:
        return out
    raw = text[lo:hi]
    folded = _fold(raw)
    if _PREFILTER is not None and not _PREFILTER.found_in(folded):
        return out  # the usual block: no cue at all
    if _ANY.search(folded) is None:
        return out
    spans = [(max(0, s - lo), min(hi, e) - lo) for s, e in mentions]
    chars = list(folded)
    for s, e in spans:
        chars[s:e] = _MASK * (e - s)
    # Blank positive idioms, masks kept (one pass: a long block may hold many).
    for m in _POSITIVE.finditer("".join(chars)):
        for k in range(m.start(), m.end()):
            if chars[k] != _MASK:
                chars[k] = " "
    masked = "".join(chars)
    if _ANY.search(masked) is None:
        return out
    starts = [s for s, _ in spans]
    clause_breaks = [m.end() for m in _CLAUSE.finditer(masked)]
    sentence_breaks = [m.end() for m in _SENTENCE.finditer(masked)]

    def region(breaks: list[int], at: int) -> tuple[int, int]:
        i = bisect.bisect_right(breaks, at)
        return (breaks[i - 1] if i else 0), (breaks[i] if i < len(breaks) else len(masked))

    def mark(i: int, cue: re.Match[str]) -> None:
        if out[i] is None:
            out[i] = raw[cue.start() : cue.end()]

    used: dict[int, int] = {}  # the cues that took a mention after them: start -> end

    def follow_list(i: int, step: int, cue: re.Match[str], limit: tuple[int, int]) -> None:
        # Mentions joined to mention i by a list separator share its advice.
        j = i + step
        while 0 <= j < len(spans):
            a, b = (spans[i][1], spans[j][0]) if step > 0 else (spans[j][1], spans[i][0])
            if (
                not (limit[0] <= spans[j][0] < limit[1])
                or _LIST_JOIN.fullmatch(masked[a:b]) is None
            ):
                return
            mark(j, cue)
            i, j = j, j + step

    for cue in _BEFORE.finditer(masked):
        c1 = cue.end()
        clause = region(clause_breaks, cue.start())
        end = clause[1]
        if masked[end - 1 : end] in (":", "：") and not _has_mention(starts, c1, end):
            end = region(clause_breaks, end)[1]  # "劝退一款：X", "Avoid: X"
        elif _EXAMPLE_START.match(masked, end):
            end = region(clause_breaks, end)[1]  # "避开杂牌套装，比如X"
        j = bisect.bisect_left(starts, c1)
        if j >= len(spans) or spans[j][0] >= end or spans[j][0] - c1 > _GAP_FAR:
            continue
        filler = _FILLER.match(masked, c1)
        gap = masked[filler.end() if filler else c1 : spans[j][0]].rstrip(" *_~`")
        if ":" in gap or "：" in gap:
            gap = gap.rsplit(":", 1)[-1].rsplit("：", 1)[-1]
        example = _EXAMPLE.search(gap) is not None and len(gap) <= _GAP_EXAMPLE
        if (len(gap) <= _GAP_BEFORE or example) and _SWITCH.search(gap) is None:
            mark(j, cue)
            used[cue.start()] = cue.end()
            follow_list(j, 1, cue, (clause[0], end))
    for cue in _AFTER.finditer(masked):
        c0 = cue.start()
        if any(used.get(c0 - k, -1) > c0 for k in range(_LONGEST_CUE)):
            continue  # the same words already took the mention after them
        clause = region(clause_breaks, c0)
        if (
            cue.group().isalpha()  # a word, not a mark like 👎
            and (_BEFORE.fullmatch(masked, c0, cue.end()) or _GOVERNS.fullmatch(cue.group()))
            and _has_object(masked, cue.end(), clause[1])
        ):
            continue  # "尽量避开高浓度美白": the cue has its own object
        # The nearest mention before the cue ...
        j = bisect.bisect_left(starts, c0) - 1
        while j >= 0 and spans[j][1] > c0:
            j -= 1
        if j < 0:
            continue
        if spans[j][0] >= clause[0]:
            # ... in its clause,
            if c0 - spans[j][1] <= _GAP_AFTER:
                mark(j, cue)
                follow_list(j, -1, cue, clause)
            continue
        sentence = region(sentence_breaks, c0)
        lead = masked[sentence[0] : c0] if c0 - sentence[0] <= _LEAD_MAX else "x"
        if _OWN_SUBJECT.search(masked, clause[0], c0):
            continue  # "…，几十块的高仿别碰": the knock-offs, not the product
        if spans[j][0] >= sentence[0]:
            # ... or in its sentence,
            mark(j, cue)
            follow_list(j, -1, cue, (sentence[0], clause[1]))
        elif (
            not _LEAD.sub("", lead) or _POINTER.search(masked, max(clause[0], c0 - 40), c0)
        ) and c0 - spans[j][1] <= _REACH_BACK:
            # ... or, for a cue that opens its sentence or points back
            # ("这台不值得", "it's a no-go"), the last one before it.
            mark(j, cue)
    return out
