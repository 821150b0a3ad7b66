"""Reference style with separate numbering streams as it goes, equal to linking whole."""

from __future__ import annotations

import pytest

import shoplink

DEMO = shoplink.demo_catalog()
ANSWERS = shoplink.demo_answers()


def stream(linker: shoplink.Linker, answer: str, query: str, size: int) -> tuple[str, int]:
    """The joined stream and the most characters pending at once."""
    push = linker.streamer(query=query)
    out, worst = [], 0
    for i in range(0, len(answer), size):
        out.append(push.feed(answer[i : i + size]))
        worst = max(worst, push.pending)
    out.append(push.flush())
    return "".join(out), worst


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_separate_numbering_streams_equal_to_whole(fmt: str) -> None:
    linker = shoplink.Linker(DEMO, style="reference", format=fmt, reference_numbering="separate")
    for qa in ANSWERS[:6]:
        answer = qa.answer
        if fmt == "html":
            answer = "".join(f"<p>{part}</p>\n" for part in answer.split("\n\n"))
        whole = linker.link(answer, qa.query).text
        for size in (1, 3, 7):
            joined, _ = stream(linker, answer, qa.query, size)
            assert joined == whole, (qa.id, size)


def test_separate_numbering_does_not_hold_the_rest_of_the_answer() -> None:
    cont = shoplink.Linker(DEMO, style="reference")
    sep = shoplink.Linker(DEMO, style="reference", reference_numbering="separate")
    inline = shoplink.Linker(DEMO, style="inline")
    worst = {"continue": 0, "separate": 0, "inline": 0}
    for qa in ANSWERS:
        if not sep.link(qa.answer, qa.query).links:
            continue
        for name, linker in (("continue", cont), ("separate", sep), ("inline", inline)):
            worst[name] = max(worst[name], stream(linker, qa.answer, qa.query, 2)[1])
    # "continue" must wait for the end; "separate" waits no longer than an
    # inline link does, give or take the marker's own block.
    assert worst["separate"] < worst["continue"]
    assert worst["separate"] <= worst["inline"] + 100


def test_separate_numbering_starts_at_one_after_the_answers_own_list() -> None:
    answer = "推荐理肤泉B5修复面膜。\n\n## 参考资料\n\n1. [皮肤屏障](https://example.com/a)\n2. [修护](https://example.com/b)\n"
    cont = shoplink.Linker(DEMO, style="reference").link(answer)
    sep = shoplink.Linker(DEMO, style="reference", reference_numbering="separate").link(answer)
    assert [lk.number for lk in cont.links] == [3]
    assert [lk.number for lk in sep.links] == [1]
    assert sep.strip() == answer == cont.strip()


def test_bad_numbering_is_a_config_error() -> None:
    with pytest.raises(shoplink.ConfigError, match="reference_numbering"):
        shoplink.Linker(DEMO, style="reference", reference_numbering="roman")
