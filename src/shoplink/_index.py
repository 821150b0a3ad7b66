"""The keyword index: every product's keywords in one Aho-Corasick matcher.

Built once per catalog and shared read-only by every call and thread; it
can be written to a file once (:meth:`ProductIndex.save`, ``shoplink index
build``) and loaded many times (:meth:`ProductIndex.load`).

The index file::

    b"SHOPLINK-INDEX\\n"                       magic
    one line of JSON + b"\\n"                  the header:
        format       FORMAT_VERSION; any other number is refused
        backend      the matcher backend it was built for
        keywords     the number of distinct folded keywords
        fingerprint  sha256 of the catalog's product ids and keywords
        payload      sha256 and size of the rest of the file
    payload                                    a pickle (matcher and key owners)

Loading checks, in this order, the magic, the header, the format version,
the fingerprint against the catalog it is loaded for, then the payload's
size and checksum, and only then unpickles. The checksum catches truncated
and corrupted files; it cannot make an untrusted file safe, since whoever
writes a file can also write its checksum, and unpickling runs code: load
only index files you built.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from array import array
from collections.abc import Callable, Sequence
from typing import IO, Any, Final

from ._catalog import Catalog
from ._exceptions import IndexFileError
from ._matcher import Hit, KeywordMatcher
from ._model import Product, RelevanceProfile

__all__ = ["FORMAT_VERSION", "ProductIndex", "Progress", "catalog_fingerprint"]

FORMAT_VERSION: Final = 1
"""The index file format this version of shoplink writes and reads."""

_MAGIC: Final = b"SHOPLINK-INDEX\n"
_MAX_HEADER: Final = 4096

Progress = Callable[[str, int, int], None]
"""A build progress callback: ``(stage, done, total)``, called now and then."""

# How many products between two progress reports.
_REPORT_EVERY: Final = 20_000


def catalog_fingerprint(catalog: Catalog) -> str:
    """Hex sha256 of the catalog's product ids and keywords, in catalog order.

    Everything an index depends on; titles, URLs, prices and stock are read
    from the catalog at link time, so changing them keeps an index valid.
    """
    digest = hashlib.sha256()
    for product in catalog.products:
        # \x1f / \x1e separate fields / products; neither may appear in a
        # catalog's text fields, so the encoding is unambiguous.
        digest.update(
            "\x1f".join((product.id, *product.keywords)).encode("utf-8", "surrogatepass") + b"\x1e"
        )
    return digest.hexdigest()


class ProductIndex:
    """Maps keyword occurrences in text to the products they may name.

    Every distinct folded keyword is one matcher key; several products may
    share a key (``面膜``).  Their order under a key is by product id, so no
    source order or merchant can sneak a preference in.

    Args:
        catalog: the products to index.
        backend: the matcher backend (see :class:`KeywordMatcher`):
            ``"auto"``, ``"pyahocorasick"`` or ``"ahocorasick_rs"``.
        progress: called as ``progress(stage, done, total)`` while building.

    Raises:
        ValueError: a keyword is blank after folding, or the backend is
            unknown or not installed.
    """

    def __init__(
        self, catalog: Catalog, *, backend: str = "auto", progress: Progress | None = None
    ) -> None:
        products = catalog.products
        total = len(products)
        ids: dict[str, int] = {}
        # Product positions per key, as (key, position) pairs in one flat
        # array: a list of lists would cost a Python object per keyword.
        pairs = array("q")
        keywords = KeywordMatcher.fold_keywords
        for position, product in enumerate(products):
            for folded in keywords(product.keywords):
                key = ids.setdefault(folded, len(ids))
                pairs.append(key)
                pairs.append(position)
            if progress is not None and position % _REPORT_EVERY == 0:
                progress("keywords", position, total)
        if progress is not None:
            progress("keywords", total, total)
            progress("automaton", 0, 1)
        matcher = KeywordMatcher._of_folded(ids, backend)
        if progress is not None:
            progress("automaton", 1, 1)
        self._setup(catalog, matcher, _owners(pairs, len(ids), products))

    def _setup(self, catalog: Catalog, matcher: KeywordMatcher, owners: _Owners) -> None:
        self.catalog = catalog
        self.matcher = matcher
        self._owners = owners
        self._profiles: list[RelevanceProfile | None] = [None] * len(catalog.products)
        self._specific: dict[int, bool] = {}

    @property
    def backend(self) -> str:
        """The matcher backend in use."""
        return self.matcher.backend

    def find(self, text: str) -> list[Hit]:
        """Leftmost-longest keyword occurrences in ``text`` (see ``KeywordMatcher``)."""
        return self.matcher.find(text)

    def keyword(self, key: int) -> str:
        """The folded keyword of matcher key ``key``."""
        return self.matcher.keywords[key]

    def products(self, key: int) -> Sequence[Product]:
        """The products that have the keyword ``key``, by product id."""
        products = self.catalog.products
        return tuple(products[i] for i in self._owners.of(key))

    def is_specific(self, key: int) -> bool:
        """True if every product with keyword ``key`` is the same item.

        One product, or offers of one item at several shops: such a name is
        decided before generic ones in the same block.  Computed on first
        use (threads racing here compute the same value).
        """
        known = self._specific.get(key)
        if known is None:
            products = self.products(key)
            items = {min(o.id for o in self.catalog.offers(p.id)) for p in products}
            known = self._specific[key] = len(items) <= 1
        return known

    def profiles(self, key: int) -> Sequence[RelevanceProfile]:
        """The ranking views of ``products(key)``, in the same order."""
        cache = self._profiles
        out = []
        for i in self._owners.of(key):
            profile = cache[i]
            if profile is None:
                # Made on first use: loading a big index stays fast. Threads
                # racing here build equal values; either may be kept.
                profile = cache[i] = self.catalog.products[i].profile()
            out.append(profile)
        return tuple(out)

    # ------------------------------------------------------------------ files

    def save(self, file: str | os.PathLike[str] | IO[bytes]) -> None:
        """Write the index to ``file`` (a path or a binary file object).

        The file is tied to this catalog's products and keywords (see
        :func:`catalog_fingerprint`) and to :data:`FORMAT_VERSION`.

        Raises:
            OSError: the file cannot be written.
        """
        payload = pickle.dumps(
            {"matcher": self.matcher, "owners": self._owners.state()},
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        header = {
            "format": FORMAT_VERSION,
            "backend": self.backend,
            "keywords": len(self.matcher),
            "products": len(self.catalog.products),
            "fingerprint": catalog_fingerprint(self.catalog),
            "payload_sha256": hashlib.sha256(payload).hexdigest(),
            "payload_size": len(payload),
        }
        data = [_MAGIC, json.dumps(header, sort_keys=True).encode("ascii"), b"\n", payload]
        if isinstance(file, (str, os.PathLike)):
            # Write next to the target, then rename: a reader never sees half a file.
            tmp = f"{os.fspath(file)}.tmp{os.getpid()}"
            with open(tmp, "wb") as handle:
                handle.writelines(data)
            os.replace(tmp, file)
        else:
            file.writelines(data)

    @classmethod
    def load(
        cls, file: str | os.PathLike[str] | IO[bytes], catalog: Catalog, *, backend: str = "auto"
    ) -> ProductIndex:
        """Read an index written by :meth:`save`, for ``catalog``.

        Only load files you trust: the payload is a pickle (see the module
        docstring).

        Args:
            file: a path or a binary file object.
            catalog: the catalog the index was built from (same product ids
                and keywords, in the same order).
            backend: ``"auto"`` keeps the backend the file was built with if
                it is installed; a file built with ``ahocorasick_rs`` loads
                on ``pyahocorasick`` by rebuilding its automaton (slower),
                and the other way round rebuilds the Rust automaton (fast).

        Raises:
            IndexFileError: the file is not a shoplink index, is of another
                format version, was built from another catalog, is truncated
                or corrupt. Never a wrong index.
            OSError: the file cannot be read.
        """
        name = os.fspath(file) if isinstance(file, (str, os.PathLike)) else repr(file)
        if isinstance(file, (str, os.PathLike)):
            with open(file, "rb") as handle:
                data = handle.read()
        else:
            data = file.read()
        header, payload = _parse(data, name)
        fingerprint = catalog_fingerprint(catalog)
        if header["fingerprint"] != fingerprint:
            raise IndexFileError(
                "built from another catalog (product ids or keywords differ); rebuild it with "
                "`shoplink index build`",
                path=name,
            )
        if len(payload) != header["payload_size"]:
            raise IndexFileError(
                f"truncated: payload is {len(payload)} bytes, header says {header['payload_size']}",
                path=name,
            )
        if hashlib.sha256(payload).hexdigest() != header["payload_sha256"]:
            raise IndexFileError("corrupt: payload checksum mismatch", path=name)
        try:
            state = pickle.loads(payload)
            matcher = state["matcher"]
            owners = _Owners.from_state(state["owners"])
        except Exception as exc:  # a checksummed payload that still fails: say so plainly
            raise IndexFileError(f"corrupt payload ({type(exc).__name__})", path=name) from None
        if not isinstance(matcher, KeywordMatcher) or len(owners) != len(matcher):
            raise IndexFileError("corrupt payload (inconsistent)", path=name)
        if backend != "auto" and backend != matcher.backend:
            matcher = matcher.with_backend(backend)
        index = cls.__new__(cls)
        index._setup(catalog, matcher, owners)
        return index


class _Owners:
    """For each key, the catalog positions of its products (CSR layout)."""

    __slots__ = ("members", "offsets")

    def __init__(self, offsets: array[int], members: array[int]) -> None:
        self.offsets = offsets
        self.members = members

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def of(self, key: int) -> array[int]:
        return self.members[self.offsets[key] : self.offsets[key + 1]]

    def state(self) -> tuple[bytes, bytes]:
        return self.offsets.tobytes(), self.members.tobytes()

    @classmethod
    def from_state(cls, state: Any) -> _Owners:
        offsets, members = array("q"), array("q")
        offsets.frombytes(state[0])
        members.frombytes(state[1])
        if not offsets or offsets[0] != 0 or offsets[-1] != len(members):
            raise ValueError("bad owner table")
        return cls(offsets, members)


def _owners(pairs: array[int], keys: int, products: Sequence[Product]) -> _Owners:
    """Group (key, position) pairs by key; within a key, by product id, once each."""
    groups: list[list[int]] = [[] for _ in range(keys)]
    for i in range(0, len(pairs), 2):
        groups[pairs[i]].append(pairs[i + 1])
    offsets = array("q", [0])
    members = array("q")
    for group in groups:
        if len(group) > 1:
            group = sorted(set(group), key=lambda p: products[p].id)
        members.extend(group)
        offsets.append(len(members))
    return _Owners(offsets, members)


def _parse(data: bytes, name: str) -> tuple[dict[str, Any], memoryview]:
    if not data.startswith(_MAGIC):
        raise IndexFileError("not a shoplink index file", path=name)
    end = data.find(b"\n", len(_MAGIC), len(_MAGIC) + _MAX_HEADER)
    if end < 0:
        raise IndexFileError("corrupt: no header", path=name)
    try:
        header = json.loads(data[len(_MAGIC) : end])
    except ValueError:
        raise IndexFileError("corrupt: unreadable header", path=name) from None
    if not isinstance(header, dict) or not isinstance(header.get("format"), int):
        raise IndexFileError("corrupt: unreadable header", path=name)
    if header["format"] != FORMAT_VERSION:
        raise IndexFileError(
            f"index format {header['format']}, this shoplink reads format {FORMAT_VERSION}; "
            "rebuild it with `shoplink index build`",
            path=name,
        )
    for field, kind in (("fingerprint", str), ("payload_sha256", str), ("payload_size", int)):
        if not isinstance(header.get(field), kind):
            raise IndexFileError(f"corrupt: header lacks {field}", path=name)
    # A view, not a slice: a copy of a large payload would double the peak.
    return header, memoryview(data)[end + 1 :]
