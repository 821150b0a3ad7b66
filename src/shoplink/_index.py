"""The keyword index: every product's keywords in one Aho-Corasick matcher.

Built once per catalog and shared read-only by every call and thread.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._catalog import Catalog
from ._matcher import Hit, KeywordMatcher
from ._model import Product, RelevanceProfile

__all__ = ["ProductIndex"]


class ProductIndex:
    """Maps keyword occurrences in text to the products they may name.

    Args:
        catalog: the products to index.

    Every distinct folded keyword is one matcher key; several products may
    share a key (``面膜``).  Their order under a key is by product id, so no
    source order or merchant can sneak a preference in.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        keywords: list[str] = []
        owners: list[Product] = []
        for product in catalog.products:
            for keyword in product.keywords:
                keywords.append(keyword)
                owners.append(product)
        self.matcher = KeywordMatcher(keywords)
        by_key: list[dict[str, Product]] = [{} for _ in range(len(self.matcher))]
        for keyword, product in zip(keywords, owners, strict=True):
            key = self.matcher.key_of(keyword)
            assert key is not None
            by_key[key][product.id] = product
        self._products: list[tuple[Product, ...]] = [
            tuple(group[pid] for pid in sorted(group)) for group in by_key
        ]
        self._profiles: list[tuple[RelevanceProfile, ...]] = [
            tuple(p.profile() for p in group) for group in self._products
        ]
        # A keyword is specific when every product it names is the same item
        # (one product, or offers of one item at several shops): such a name
        # is decided before generic ones in the same block.
        item_of = {p.id: min(o.id for o in catalog.offers(p.id)) for p in catalog.products}
        self._specific: list[bool] = [
            len({item_of[p.id] for p in group}) <= 1 for group in self._products
        ]

    def find(self, text: str) -> list[Hit]:
        """Leftmost-longest keyword occurrences in ``text`` (see ``KeywordMatcher``)."""
        return self.matcher.find(text)

    def keyword(self, key: int) -> str:
        """The folded keyword of matcher key ``key``."""
        return self.matcher.keywords[key]

    def products(self, key: int) -> Sequence[Product]:
        """The products that have the keyword ``key``, by product id."""
        return self._products[key]

    def is_specific(self, key: int) -> bool:
        """True if every product with keyword ``key`` is the same item."""
        return self._specific[key]

    def profiles(self, key: int) -> Sequence[RelevanceProfile]:
        """The ranking views of ``products(key)``, in the same order."""
        return self._profiles[key]
