"""The ledger's RFC 9162 Merkle tree: hashes, proofs and their verification, in pure code.

Nothing here imports Django, so a custody receipt can be checked offline (``mailwarden ledger
check-receipt``) and the hashing can be tested and benchmarked alone.

* A leaf is an entry's canonical body (UTF-8); its hash is ``SHA-256(0x00 || body)``.
* An interior node is ``SHA-256(0x01 || left || right)``; a tree of ``n`` leaves splits at the
  largest power of two below ``n`` (RFC 9162 §2.1.1).
* Inclusion and consistency proofs are generated and checked as RFC 9162 §2.1.3 and §2.1.4 say.

Proofs are generated over a :class:`Tree`, which answers the hash of any range of leaves from
*tiles*: the leaf hashes in groups of 256, then the hashes of each complete 256-leaf subtree in
groups of 256, and so on (as C2SP tlog-tiles stores a log). A tree of a million leaves is 3,922
tiles; any subtree hash, and so any root or proof, costs at most a few thousand hash calls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, MutableMapping, Sequence

HASH_SIZE = 32
TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` > 1): where a tree of n leaves splits."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(hashes: Sequence[bytes]) -> bytes:
    """MTH of the leaves whose hashes these are (RFC 9162 §2.1.1)."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = split(len(hashes))
    return node_hash(root_of(hashes[:k]), root_of(hashes[k:]))


def _perfect_root(hashes: Sequence[bytes]) -> bytes:
    """The root over a power-of-two number of hashes, level by level (no recursion)."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def _split_tile(tile: bytes) -> list[bytes]:
    return [tile[i : i + HASH_SIZE] for i in range(0, len(tile), HASH_SIZE)]


def tile_roots(leaves: Sequence[bytes]) -> list[bytes]:
    """The root of each complete group of 256 leaf hashes, in order."""
    return [
        _perfect_root(leaves[i : i + TILE_WIDTH])
        for i in range(0, len(leaves) - TILE_WIDTH + 1, TILE_WIDTH)
    ]


class Frontier:
    """The roots of the perfect subtrees a growing tree is made of: a root for any size so far.

    Appending is amortised one node hash per leaf; :meth:`root` folds at most log2(n) hashes.
    """

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[bytes] = []

    def append(self, leaf: bytes) -> None:
        node, size = leaf, self.size
        while size & 1:
            node = node_hash(self._stack.pop(), node)
            size >>= 1
        self._stack.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node


# ----------------------------------------------------------------------------- tiles

# (level, index) -> up to 256 concatenated hashes. Level 0 holds leaf hashes; level L holds the
# roots of the complete subtrees of 256**L leaves, in order.
TileStore = MutableMapping[tuple[int, int], bytes]


class Tree:
    """A tree of ``size`` leaves whose hashes are kept in tiles (see the module's docstring).

    ``tiles`` may be a dict or anything mapping ``(level, index)`` to a tile's bytes; a database
    cache implements the mapping to keep a long ledger's tree between checkpoints.
    """

    def __init__(self, tiles: TileStore | None = None, size: int = 0) -> None:
        self.tiles: TileStore = tiles if tiles is not None else {}
        self.size = size
        self.changed: set[tuple[int, int]] = set()

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append leaf hashes; the tiles they complete are hashed into the level above."""
        pending, first = list(leaves), self.size
        self.size += len(pending)
        self._extend(0, first, pending)

    def extend_with_roots(self, leaves: bytes, roots: bytes) -> None:
        """Append concatenated leaf hashes, given the roots of the complete 256-leaf tiles they
        make (worker processes compute both while rebuilding a long tree). The tree's size must
        be a multiple of 256 before."""
        first, count = self.size, len(leaves) // HASH_SIZE
        if first % TILE_WIDTH or len(leaves) % HASH_SIZE or len(roots) % HASH_SIZE:
            raise ValueError("leaves join a tree only at a tile boundary, in whole hashes")
        if len(roots) // HASH_SIZE != count // TILE_WIDTH:
            raise ValueError("one root is needed for each complete tile of leaves")
        step = TILE_WIDTH * HASH_SIZE
        for start in range(0, len(leaves), step):
            key = (0, (first + start // HASH_SIZE) // TILE_WIDTH)
            self.tiles[key] = leaves[start : start + step]
            self.changed.add(key)
        self.size += count
        self._extend(1, first // TILE_WIDTH, _split_tile(roots))

    def _extend(self, level: int, first: int, pending: list[bytes]) -> None:
        while pending:
            completed: list[bytes] = []
            done, index = 0, first
            while done < len(pending):
                key, offset = (level, index // TILE_WIDTH), index % TILE_WIDTH
                take = min(TILE_WIDTH - offset, len(pending) - done)
                tile = self.tiles.get(key, b"")
                if len(tile) != offset * HASH_SIZE:
                    raise ValueError(
                        f"tile {key} holds {len(tile) // HASH_SIZE} hashes, not {offset}"
                    )
                tile += b"".join(pending[done : done + take])
                self.tiles[key] = tile
                self.changed.add(key)
                if offset + take == TILE_WIDTH:
                    completed.append(_perfect_root(_split_tile(tile)))
                done, index = done + take, index + take
            pending, level, first = completed, level + 1, first // TILE_WIDTH

    def _hashes(self, level: int, first: int, count: int) -> list[bytes]:
        """``count`` stored hashes of ``level`` from index ``first`` (never across a tile)."""
        tile = self.tiles[(level, first // TILE_WIDTH)]
        start = (first % TILE_WIDTH) * HASH_SIZE
        end = start + count * HASH_SIZE
        if len(tile) < end:
            raise ValueError(f"tile {(level, first // TILE_WIDTH)} is shorter than recorded")
        return [tile[i : i + HASH_SIZE] for i in range(start, end, HASH_SIZE)]

    def leaf(self, index: int) -> bytes:
        return self._hashes(0, index, 1)[0]

    def subtree(self, lo: int, hi: int) -> bytes:
        """MTH of leaves ``lo``..``hi - 1``."""
        if not 0 <= lo <= hi <= self.size:
            raise ValueError(f"leaves {lo}..{hi} are not within a tree of {self.size}")
        n = hi - lo
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and lo % n == 0:
            height = n.bit_length() - 1
            level = height // TILE_HEIGHT
            step = level * TILE_HEIGHT
            return _perfect_root(self._hashes(level, lo >> step, n >> step))
        k = split(n)
        return node_hash(self.subtree(lo, lo + k), self.subtree(lo + k, hi))

    def root(self, size: int | None = None) -> bytes:
        return self.subtree(0, self.size if size is None else size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 §2.1.3.1."""
        if not 0 <= index < size <= self.size:
            raise ValueError(f"no leaf {index} in a tree of {size}")
        return self._path(index, 0, size)

    def _path(self, m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = split(n)
        if m < k:
            return [*self._path(m, lo, lo + k), self.subtree(lo + k, hi)]
        return [*self._path(m - k, lo + k, hi), self.subtree(lo, lo + k)]

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """PROOF(old, D[new]) of RFC 9162 §2.1.4.1 (empty when old is 0 or equals new)."""
        if not 0 <= old <= new <= self.size:
            raise ValueError(f"no consistency proof from {old} to {new} in a tree of {self.size}")
        if old in (0, new):
            return []
        return self._subproof(old, 0, new, True)

    def _subproof(self, m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if complete else [self.subtree(lo, hi)]
        k = split(n)
        if m <= k:
            return [*self._subproof(m, lo, lo + k, complete), self.subtree(lo + k, hi)]
        return [*self._subproof(m - k, lo + k, hi, False), self.subtree(lo, lo + k)]


def tree_of(leaves: Iterable[bytes]) -> Tree:
    """A tree held in memory over these leaf hashes."""
    tree = Tree()
    tree.extend(leaves)
    return tree


# ----------------------------------------------------------------------------- verification


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show ``leaf`` at ``index`` in the tree ``root``?"""
    if not 0 <= index < size or any(len(p) != HASH_SIZE for p in proof):
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does ``proof`` show tree ``old_root`` is a prefix of ``new_root``?"""
    if not 0 <= old <= new or any(len(p) != HASH_SIZE for p in proof):
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


def first_difference(
    trusted: Tree, live: Tree, size: int, root: bytes
) -> tuple[int, int] | tuple[int, None]:
    """Where the first ``size`` leaves of ``live`` first differ from the tree signed as ``root``.

    ``trusted`` is a tree whose hashes are not trusted by themselves (a cache an intruder may
    have edited): each of its hashes is used only once it is proven to hash up to ``root``. The
    walk goes down the leftmost differing branch. Returns ``(index, None)`` when it reaches the
    leaf, or ``(lo, hi)``, the narrowest range of leaves known to hold the first difference,
    when ``trusted`` cannot prove its hashes further down.
    """
    lo, hi, expected = 0, size, root
    while hi - lo > 1:
        k = split(hi - lo)
        try:
            left, right = trusted.subtree(lo, lo + k), trusted.subtree(lo + k, hi)
        except (KeyError, ValueError):
            return lo, hi
        if node_hash(left, right) != expected:
            return lo, hi
        if live.subtree(lo, lo + k) != left:
            hi, expected = lo + k, left
        else:
            lo, expected = lo + k, right
    return lo, None


def proof_to_text(proof: Sequence[bytes]) -> list[str]:
    import base64

    return [base64.b64encode(p).decode() for p in proof]


def proof_from_text(items: Sequence[object]) -> list[bytes]:
    import base64
    import binascii

    out = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError("a proof is a list of base64 hashes")
        try:
            out.append(base64.b64decode(item, validate=True))
        except binascii.Error:
            raise ValueError(f"{item!r} is not base64") from None
    return out
