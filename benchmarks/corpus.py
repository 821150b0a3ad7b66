"""Deterministic benchmark data: product catalogs and assistant-style answers.

Everything is drawn from ``random.Random`` with a fixed seed, so two runs (or
two machines) see the same keywords and the same answers.

Catalogs look like shop exports: keywords are product names built from a
brand, a series or model code and a product type (``薇诺娜舒敏保湿面膜``,
``理肤泉B5修复面膜``, ``Salomon Speedcross 6``), mostly Chinese with some
English. Han characters are drawn with a Zipf-like weight over a pool of
several thousand, so a large catalog has thousands of distinct first
characters (the root fan-out that makes pyahocorasick slow) and common
characters are common.

Answers look like assistant output: 0.5-4 KB of Markdown with headings,
numbered and bulleted lists, bold product names, inline code, fenced code,
links and tables, mentioning a few catalog products among filler prose.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from itertools import accumulate

SEED = 20251130
SIZES = (1_000, 10_000, 100_000, 1_000_000)

_HAN_POOL_SIZE = 7000
_LATIN = "abcdefghijklmnopqrstuvwxyz"
_TYPES_ZH = [
    "面膜",
    "精华",
    "面霜",
    "洗面奶",
    "防晒霜",
    "口红",
    "粉底液",
    "眼霜",
    "手机",
    "手机壳",
    "耳机",
    "蓝牙耳机",
    "机械键盘",
    "鼠标",
    "显示器",
    "笔记本电脑",
    "平板",
    "充电器",
    "跑鞋",
    "登山鞋",
    "运动鞋",
    "羽绒服",
    "冲锋衣",
    "背包",
    "保温杯",
    "电饭煲",
    "空气炸锅",
    "吸尘器",
    "扫地机器人",
    "净水器",
    "奶粉",
    "纸尿裤",
    "猫粮",
    "狗粮",
    "咖啡豆",
    "茶叶",
    "苹果",
    "牛奶",
    "酸奶",
    "坚果",
]
_TYPES_EN = [
    "running shoes",
    "trail shoes",
    "headphones",
    "earbuds",
    "keyboard",
    "mouse",
    "monitor",
    "laptop",
    "tablet",
    "charger",
    "backpack",
    "jacket",
    "water bottle",
    "air fryer",
    "vacuum",
    "blender",
    "coffee maker",
    "face mask",
    "serum",
    "moisturizer",
    "sunscreen",
    "lipstick",
]
_SERIES_ZH = [
    "修复",
    "舒敏",
    "保湿",
    "美白",
    "轻薄",
    "旗舰",
    "经典",
    "至尊",
    "青春",
    "专业",
    "智能",
    "无线",
    "降噪",
    "超轻",
    "防水",
]
_FILLER_ZH = [
    "这款产品在同价位里表现不错，适合日常使用。",
    "如果预算有限，可以先从入门款开始。",
    "用户评价整体比较稳定，售后也比较省心。",
    "选购时要看清规格和适用场景。",
    "换季的时候可以多关注一下成分和口碑。",
    "不同人的需求不一样，建议结合自己的情况来选。",
    "大促期间价格通常更有优势。",
    "注意保存好购买凭证，方便以后保修。",
]
_FILLER_EN = [
    "It is a solid pick in its price range.",
    "Check the size chart before you order.",
    "Reviews are consistently good, and returns are easy.",
    "If you are on a budget, start with the entry model.",
    "Battery life is fine for a full day of use.",
    "It runs a little small, so size up.",
]


def _han_pool(rng: random.Random) -> tuple[list[str], list[float]]:
    codes = rng.sample(range(0x4E00, 0x9FA6), _HAN_POOL_SIZE)
    chars = [chr(c) for c in codes]
    weights = [1.0 / (rank + 10) for rank in range(len(chars))]  # Zipf-like
    return chars, list(accumulate(weights))


class _Names:
    """Draws brand, model and product names from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.han, self.cum = _han_pool(self.rng)

    def han_word(self, low: int, high: int) -> str:
        k = self.rng.randint(low, high)
        return "".join(self.rng.choices(self.han, cum_weights=self.cum, k=k))

    def latin_word(self, low: int, high: int) -> str:
        k = self.rng.randint(low, high)
        return "".join(self.rng.choices(_LATIN, k=k)).capitalize()

    def model(self) -> str:
        rng = self.rng
        letters = "".join(rng.choices("ABCDEFGHKMNPRSTVXZ", k=rng.randint(1, 2)))
        return letters + str(rng.randint(1, 999))

    def product(self) -> list[str]:
        """The keywords of one product: full name, and one or two shorter names."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.8:
            brand = self.han_word(2, 4)
            kind = rng.choice(_TYPES_ZH)
            series = rng.choice(_SERIES_ZH) if rng.random() < 0.6 else ""
            model = self.model() if rng.random() < 0.5 else ""
            full = brand + model + series + kind
            names = [full, brand + kind]
            if model:
                names.append(brand + model)
            return names
        brand = self.latin_word(3, 9)
        model = self.latin_word(4, 10) + " " + str(rng.randint(1, 30))
        if roll < 0.9:
            return [f"{brand} {model}", model]
        kind = rng.choice(_TYPES_ZH)
        return [f"{brand} {model}", f"{brand}{kind}"]


def catalog_keywords(size: int, seed: int = SEED) -> list[list[str]]:
    """Products' keyword lists, until ``size`` distinct keywords are reached.

    Args:
        size: the number of distinct keywords wanted (exact).
        seed: the random seed (the same seed gives the same catalog).

    Returns:
        One list of keywords per product, in product order.
    """
    names = _Names(seed + size)
    seen: set[str] = set()
    products: list[list[str]] = []
    while len(seen) < size:
        fresh = [k for k in dict.fromkeys(names.product()) if k.lower() not in seen]
        fresh = fresh[: size - len(seen)]
        if not fresh:
            continue
        seen.update(k.lower() for k in fresh)
        products.append(fresh)
    return products


def _bold(rng: random.Random, name: str) -> str:
    return f"**{name}**" if rng.random() < 0.5 else name


def answer(rng: random.Random, products: list[list[str]], target: int, zh: bool) -> str:
    """One Markdown answer of about ``target`` characters' worth of UTF-8 bytes."""
    filler = _FILLER_ZH if zh else _FILLER_EN
    parts = [("## 选购建议\n\n" if zh else "## Buying guide\n\n") + rng.choice(filler) + "\n\n"]
    size = len(parts[0].encode())
    while size < target:
        roll = rng.random()
        name = rng.choice(rng.choice(products))
        if roll < 0.25:
            items = []
            for n in range(1, rng.randint(2, 4) + 1):
                item = rng.choice(rng.choice(products))
                items.append(f"{n}. {_bold(rng, item)}：{rng.choice(filler)}{rng.choice(filler)}")
            block = "\n".join(items) + "\n\n"
        elif roll < 0.40:
            block = f"- {_bold(rng, name)} {rng.choice(filler)} {rng.choice(filler)}\n\n"
        elif roll < 0.48:
            other = rng.choice(rng.choice(products))
            block = (
                "| 产品 | 特点 |\n|---|---|\n"
                f"| {name} | {rng.choice(filler)} |\n| {other} | {rng.choice(filler)} |\n\n"
            )
        elif roll < 0.53:
            block = f"```\n# {name} 配置示例\nsetting = {rng.randint(1, 99)}\n```\n\n"
        elif roll < 0.58:
            block = f"详见 [{name}](https://example.com/p/{rng.randint(1, 9999)}) 和 `{name}`。\n\n"
        elif roll < 0.80:
            block = "".join(rng.choices(filler, k=rng.randint(2, 4))) + "\n\n"
        else:
            block = f"{rng.choice(filler)}{name}{rng.choice(filler)}{rng.choice(filler)}\n\n"
        parts.append(block)
        size += len(block.encode())
    return "".join(parts)


def answers(
    products: list[list[str]], count: int, seed: int = SEED, *, low: int = 500, high: int = 4000
) -> list[str]:
    """``count`` answers of ``low``-``high`` UTF-8 bytes, 80% Chinese, mentioning ``products``."""
    rng = random.Random(seed)
    return [answer(rng, products, rng.randint(low, high), rng.random() < 0.8) for _ in range(count)]


def iter_sizes(limit: int | None = None) -> Iterator[int]:
    """The catalog sizes, up to ``limit`` keywords if given."""
    return (s for s in SIZES if limit is None or s <= limit)
