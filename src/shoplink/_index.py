"""The keyword index: every product's keywords in one Aho-Corasick matcher.

Built once per catalog and shared read-only by every call and thread; it
can be written to a file once (:meth:`ProductIndex.save`, ``shoplink index
build``) and loaded many times (:meth:`ProductIndex.load`).

The index file (format 2)::

    b"SHOPLINK-INDEX\\n"                       magic
    one line of JSON + b"\\n"                  the header:
        format       FORMAT_VERSION; any other number is refused
        byteorder    of the machine that wrote it (numbers are native)
        keywords     the number of distinct folded keywords
        products     the number of products
        fingerprint  sha256 of the catalog's product ids and keywords
        automaton    null, or the pyahocorasick build that dumped the node
                     tables and the automaton's five numbers
        sections     [name, size, sha256] of each section, in file order
        sha256       of the other header fields (sorted-key JSON)
    sections, back to back, raw:
        keywords         the folded keywords, UTF-8, concatenated
        keyword_ends     int64 byte offsets into it, one more than keywords
        keyword_lengths  int64 lengths in code points
        keyword_edges    one byte of word-boundary flags per keyword
        owner_offsets    int64: key k's products are owner_members[o[k]:o[k+1]]
        owner_members    int64 catalog positions
        automaton        pyahocorasick's node tables (``Automaton.__reduce__``),
                         one section per table (each at most 16 MiB)

Nothing in it is a pickle, and nothing is decoded per keyword on load: the
arrays are used in place and the node tables go to pyahocorasick's
constructor, which allocates the nodes and links them without building the
trie again. The file holds a pyahocorasick automaton whichever backend
built the index: the Rust automaton of ``ahocorasick_rs`` cannot be
serialized, and loading onto it means building it again.

Loading checks, in this order, the magic, the header (format version first,
then its checksum and byte order), the file's size against the sections
(files on disk), the fingerprint against the catalog it is loaded for, and
each section's checksum, and only then decodes anything. A file on disk is
read and checked on two threads while the calling thread computes the
fingerprint (see ``_read_at``); other file objects are read in turn. The
checksums catch truncated and corrupted files: the node tables are raw C
structs and pyahocorasick's constructor does not check every link, so
unverified bytes never reach it. They cannot make an untrusted file safe,
since whoever writes a file can also write its checksums: load only index
files you built.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import sys
import threading
import time
import warnings
from array import array
from collections.abc import Callable, Sequence
from itertools import accumulate, count
from typing import IO, Any, Final

from ._catalog import Catalog
from ._exceptions import IndexFileError
from ._log import index_log
from ._matcher import Hit, KeywordMatcher, int64_bytes, stored_automaton_usable
from ._model import Product, RelevanceProfile

__all__ = ["FORMAT_VERSION", "ProductIndex", "Progress", "catalog_fingerprint"]

FORMAT_VERSION: Final = 2
"""The index file format this version of shoplink writes and reads.

1: a pickle of the matcher (shoplink before the raw sections).
"""

_MAGIC: Final = b"SHOPLINK-INDEX\n"
# Room for the section list of a catalog of tens of millions of keywords
# (one entry per 16 MiB node table).
_MAX_HEADER: Final = 1 << 20

_REBUILD: Final = "rebuild it with `shoplink index build`"

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
    source order or merchant can sneak a preference in.  Its matcher reads
    ``_`` runs that could be Markdown emphasis as word boundaries
    (``KeywordMatcher(emphasis=True)``): ``_Anker 737_`` names the Anker 737.

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
        started = time.perf_counter()
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
        # Answers are Markdown (or HTML from the same models): an ``_`` run
        # that could be emphasis ends a word (``_Anker 737_``).
        matcher = KeywordMatcher._of_folded(ids, backend, emphasis=True)
        if progress is not None:
            progress("automaton", 1, 1)
        self._setup(catalog, matcher, _owners(pairs, len(ids), products))
        index_log.info(
            "built index of %s: %d keyword(s), %d product(s), %s, %.3f s",
            catalog.source,
            len(matcher),
            total,
            matcher.backend,
            time.perf_counter() - started,
        )

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
        return self.matcher.keyword(key)

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
        :func:`catalog_fingerprint`), to :data:`FORMAT_VERSION` and to the
        byte order of this machine. It always holds a pyahocorasick
        automaton: if this index is on ``ahocorasick_rs``, one is built here
        (several seconds per million keywords), so that loading is fast.

        Raises:
            OSError: the file cannot be written.
        """
        fields, sections = self.matcher.dump()
        sections[4:4] = [
            ("owner_offsets", int64_bytes(self._owners.offsets)),
            ("owner_members", int64_bytes(self._owners.members)),
        ]
        header: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "byteorder": sys.byteorder,
            "products": len(self.catalog.products),
            "fingerprint": catalog_fingerprint(self.catalog),
            **fields,
            "sections": [
                [name, memoryview(data).nbytes, hashlib.sha256(data).hexdigest()]
                for name, data in sections
            ],
        }
        header["sha256"] = _header_checksum(header)
        head = _MAGIC + json.dumps(header, sort_keys=True).encode("ascii") + b"\n"
        if isinstance(file, (str, os.PathLike)):
            # Write next to the target, then rename: a reader never sees half a file.
            tmp = f"{os.fspath(file)}.tmp{os.getpid()}"
            try:
                with open(tmp, "wb") as handle:
                    _write(handle, head, sections)
                os.replace(tmp, file)
            except BaseException:
                if os.path.exists(tmp):
                    os.remove(tmp)
                raise
        else:
            _write(file, head, sections)

    @classmethod
    def load(
        cls, file: str | os.PathLike[str] | IO[bytes], catalog: Catalog, *, backend: str = "auto"
    ) -> ProductIndex:
        """Read an index written by :meth:`save`, for ``catalog``.

        Only load index files you built: checksums catch damage, not malice
        (see the module docstring). Loading costs about a tenth of building
        at 1M keywords and a seventh at 100k (``docs/performance.md`` has
        the parts); nothing is left for the first :meth:`find`. A file on
        disk is read and checked on two threads while the catalog is
        fingerprinted.

        Args:
            file: a path or a binary file object.
            catalog: the catalog the index was built from (same product ids
                and keywords, in the same order). Its fingerprint is computed
                on every load (about 0.17 s per million keywords, while the
                file is read).
            backend: ``"auto"`` (default) or ``"pyahocorasick"`` restores the
                pyahocorasick automaton stored in the file, whichever backend
                built the index: the fast way. ``"ahocorasick_rs"`` builds
                the Rust automaton from the stored keywords: that skips
                folding and grouping, the small part, so it is about as slow
                as building; its scans are faster, which matters little next
                to the rest of ``Linker.link``. A file whose automaton was
                dumped by another build of pyahocorasick (after an upgrade,
                or from another platform) loads by rebuilding it, with a
                ``RuntimeWarning``.

        Raises:
            IndexFileError: the file is not a shoplink index, is of another
                format version or byte order, was built from another catalog,
                is truncated or corrupt. Never a wrong index.
            OSError: the file cannot be read.
            ValueError: ``backend`` is unknown or not installed.
        """
        if backend != "auto":
            KeywordMatcher([], backend=backend)  # unknown or missing: say so before reading
        if isinstance(file, (str, os.PathLike)):
            with open(file, "rb") as handle:
                return cls._read(handle, os.fspath(file), catalog, backend)
        return cls._read(file, repr(file), catalog, backend)

    @classmethod
    def _read(cls, handle: IO[bytes], name: str, catalog: Catalog, backend: str) -> ProductIndex:
        header = _read_header(handle, name)
        sections = header["sections"]
        restore = backend != "ahocorasick_rs" and stored_automaton_usable(header)
        keep = [section != "automaton" or restore for section, _, _ in sections]

        def check_catalog() -> None:
            if catalog_fingerprint(catalog) != header["fingerprint"]:
                raise IndexFileError(
                    f"built from another catalog (product ids or keywords differ); {_REBUILD}",
                    path=name,
                )

        size = sum(size for _, size, _ in sections)
        place = _on_disk(handle, size, name)
        if place is None:
            check_catalog()
            data = _read_in_turn(handle, sections, keep, name)
        else:
            data = _read_at(place[0], place[1], sections, keep, name, meanwhile=check_catalog)
            handle.seek(place[1] + size)  # where reading the sections in turn leaves it
        if backend != "ahocorasick_rs" and not restore and header["keywords"]:
            warnings.warn(
                f"{name}: its automaton was saved by another build of pyahocorasick, "
                f"rebuilding it from the keywords (slow); {_REBUILD} to load fast",
                RuntimeWarning,
                stacklevel=3,
            )
        try:
            matcher = KeywordMatcher.restore(header, data, backend, emphasis=True)
            owners = _Owners.restore(data["owner_offsets"], data["owner_members"])
        except (KeyError, ValueError, TypeError, OverflowError) as exc:
            # Checksummed sections that still do not decode: say so plainly.
            raise IndexFileError(f"corrupt payload ({exc})", path=name) from None
        if (
            len(matcher) != header["keywords"]
            or len(owners) != len(matcher)
            or len(catalog.products) != header["products"]
        ):
            raise IndexFileError("corrupt payload (inconsistent)", path=name)
        index = cls.__new__(cls)
        index._setup(catalog, matcher, owners)
        index_log.info(
            "loaded index %s for %s: %d keyword(s), %s",
            name,
            catalog.source,
            len(matcher),
            matcher.backend,
        )
        return index


class _Owners:
    """For each key, the catalog positions of its products (CSR layout)."""

    __slots__ = ("members", "offsets")

    def __init__(self, offsets: Sequence[int], members: Sequence[int]) -> None:
        self.offsets = offsets
        self.members = members

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def of(self, key: int) -> Sequence[int]:
        return self.members[self.offsets[key] : self.offsets[key + 1]]

    @classmethod
    def restore(cls, offsets: list[bytes], members: list[bytes]) -> _Owners:
        """The owner table from its two sections (int64s, used in place)."""
        (raw_offsets,) = offsets
        (raw_members,) = members
        if len(raw_offsets) % 8 or len(raw_members) % 8:
            raise ValueError("owner sections are not int64 arrays")
        table = cls(memoryview(raw_offsets).cast("q"), memoryview(raw_members).cast("q"))
        if not table.offsets or table.offsets[0] != 0 or table.offsets[-1] != len(table.members):
            raise ValueError("bad owner table")
        return table


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


def _write(handle: IO[bytes], head: bytes, sections: list[tuple[str, Any]]) -> None:
    handle.write(head)
    for _, data in sections:
        handle.write(data)


def _header_checksum(header: dict[str, Any]) -> str:
    """sha256 of the header's fields but ``sha256`` itself, as sorted-key JSON."""
    fields = {k: v for k, v in header.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode("ascii")).hexdigest()


_FIELDS: Final = (
    ("byteorder", str),
    ("keywords", int),
    ("products", int),
    ("fingerprint", str),
    ("sections", list),
    ("sha256", str),
)
_SECTIONS: Final = (
    "keywords",
    "keyword_ends",
    "keyword_lengths",
    "keyword_edges",
    "owner_offsets",
    "owner_members",
)


def _read_header(handle: IO[bytes], name: str) -> dict[str, Any]:
    """Read and check the magic and the header; the file is then at the first section."""
    if handle.read(len(_MAGIC)) != _MAGIC:
        raise IndexFileError("not a shoplink index file", path=name)
    line = handle.readline(_MAX_HEADER)
    if not line.endswith(b"\n"):
        raise IndexFileError("corrupt: no header", path=name)
    try:
        header = json.loads(line)
    except ValueError:
        raise IndexFileError("corrupt: unreadable header", path=name) from None
    if not isinstance(header, dict) or type(header.get("format")) is not int:
        raise IndexFileError("corrupt: unreadable header", path=name)
    if header["format"] != FORMAT_VERSION:
        raise IndexFileError(
            f"index format {header['format']}, this shoplink reads format {FORMAT_VERSION}; "
            f"{_REBUILD}",
            path=name,
        )
    for field, kind in _FIELDS:
        if type(header.get(field)) is not kind:
            raise IndexFileError(f"corrupt: header lacks {field}", path=name)
    if _header_checksum(header) != header["sha256"]:
        raise IndexFileError("corrupt: header checksum mismatch", path=name)
    if header["byteorder"] != sys.byteorder:
        raise IndexFileError(
            f"written on a {header['byteorder']}-endian machine, this one is "
            f"{sys.byteorder}-endian; {_REBUILD}",
            path=name,
        )
    sections = header["sections"]
    well_formed = all(
        isinstance(s, list)
        and len(s) == 3
        and type(s[1]) is int
        and s[1] >= 0
        and isinstance(s[2], str)
        for s in sections
    )
    names = tuple(s[0] for s in sections) if well_formed else ()
    if (
        not well_formed
        or names[: len(_SECTIONS)] != _SECTIONS
        or any(n != "automaton" for n in names[len(_SECTIONS) :])
        or not isinstance(header.get("automaton"), (dict, type(None)))
    ):
        raise IndexFileError("corrupt: bad section list in the header", path=name)
    tables = len(names) - len(_SECTIONS)
    if (header["automaton"] is None) != (tables == 0) or (header["keywords"] > 0) != (tables > 0):
        raise IndexFileError("corrupt: the header's automaton and keywords disagree", path=name)
    return header


def _on_disk(handle: IO[bytes], size: int, name: str) -> tuple[int, int] | None:
    """``(descriptor, offset of the first section)`` of a file on disk, else None.

    The file's size is compared with the ``size`` of the sections the
    header gives, before anything is read. Pipes, devices and file objects
    without a descriptor give None: they are read in turn, and a short or
    long one is found while reading.
    """
    # Only a plain file's descriptor and position match what it reads: a
    # gzip.GzipFile, say, gives the descriptor of the compressed file.
    if not isinstance(getattr(handle, "raw", handle), io.FileIO):
        return None
    try:
        descriptor = handle.fileno()
        status = os.fstat(descriptor)
        start = handle.tell()
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return None
    if not stat.S_ISREG(status.st_mode):
        return None
    left = status.st_size - start
    if left < size:
        raise IndexFileError(f"truncated: {left} bytes of sections, header says {size}", path=name)
    if left > size:
        raise IndexFileError(f"corrupt: {left - size} bytes after the last section", path=name)
    return (descriptor, start) if hasattr(os, "pread") else None


def _truncated(number: int, section: str, got: int, size: int) -> str:
    return f"truncated: section {number} ({section}) has {got} of its {size} bytes"


def _corrupt(number: int, section: str) -> str:
    return f"corrupt: section {number} ({section}) fails its checksum"


def _read_in_turn(
    handle: IO[bytes], sections: list[list[Any]], keep: list[bool], name: str
) -> dict[str, list[bytes]]:
    """Read and check the sections one after another, from where ``handle`` is."""
    data: dict[str, list[bytes]] = {}
    for number, (section, size, digest) in enumerate(sections):
        chunk = handle.read(size)
        if len(chunk) != size:
            raise IndexFileError(_truncated(number, section, len(chunk), size), path=name)
        if hashlib.sha256(chunk).hexdigest() != digest:
            raise IndexFileError(_corrupt(number, section), path=name)
        if keep[number]:
            data.setdefault(section, []).append(chunk)
        del chunk
    if handle.read(1):
        raise IndexFileError("corrupt: data after the last section", path=name)
    return data


# Below this many bytes of sections, a file is read and checked on the
# calling thread alone: starting a thread would cost more than it saves.
_THREADED_FROM: Final = 4 << 20


def _read_at(
    descriptor: int,
    start: int,
    sections: list[list[Any]],
    keep: list[bool],
    name: str,
    *,
    meanwhile: Callable[[], None],
) -> dict[str, list[bytes]]:
    """Read and check the sections of a file on disk, on two threads.

    ``meanwhile()`` (the catalog's fingerprint) runs on the calling thread
    while a worker reads and checks sections; then the calling thread takes
    sections too. Reading (``os.pread``) and sha256 release the GIL, so on
    two cores the sections cost about half their time, and the fingerprint
    hides behind them. Every section is checked before any is returned, so
    pyahocorasick still sees only checked bytes; a damaged file names its
    first bad section in file order, as reading in turn does.
    """
    offsets = list(accumulate((size for _, size, _ in sections), initial=start))
    chunks: list[bytes | None] = [None] * len(sections)
    faults: list[str | None] = [None] * len(sections)
    claims = count()  # next() on it is atomic: each section is taken once
    stop = threading.Event()
    failure: list[BaseException] = []

    def work() -> None:
        for number in claims:
            if number >= len(sections) or stop.is_set():
                return
            section, size, digest = sections[number]
            chunk = _pread(descriptor, size, offsets[number])
            if len(chunk) != size:
                faults[number] = _truncated(number, section, len(chunk), size)
            elif hashlib.sha256(chunk).hexdigest() != digest:
                faults[number] = _corrupt(number, section)
            elif keep[number]:
                chunks[number] = chunk
            del chunk

    def guarded() -> None:
        try:
            work()
        except BaseException as exc:  # raised again on the calling thread
            failure.append(exc)

    worker = None
    if offsets[-1] - start >= _THREADED_FROM:
        worker = threading.Thread(target=guarded, name="shoplink-index-load", daemon=True)
        worker.start()
    try:
        meanwhile()
        work()
    finally:
        stop.set()  # only sections already taken are finished
        if worker is not None:
            worker.join()
    if failure:
        raise failure[0]
    for fault in faults:
        if fault is not None:
            raise IndexFileError(fault, path=name)
    data: dict[str, list[bytes]] = {}
    for (section, _, _), chunk in zip(sections, chunks, strict=True):
        if chunk is not None:
            data.setdefault(section, []).append(chunk)
    return data


def _pread(descriptor: int, size: int, offset: int) -> bytes:
    """``size`` bytes at ``offset``, fewer only at the end of the file."""
    chunk = os.pread(descriptor, size, offset)
    if len(chunk) == size or not chunk:
        return chunk
    # Linux reads at most 2 GiB a call: a huge section comes in parts.
    parts = [chunk]
    got = len(chunk)
    while got < size:
        part = os.pread(descriptor, size - got, offset + got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)
