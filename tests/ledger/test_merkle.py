"""The Merkle tree against the Certificate Transparency test vectors, and its proofs' properties."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwarden.core import merkle
from mailwarden.core.merkle import (
    EMPTY_ROOT,
    Frontier,
    leaf_hash,
    root_of,
    tree_of,
    verify_consistency,
    verify_inclusion,
)

# The reference leaves and tree heads of RFC 6962's Certificate Transparency test data
# (RFC 9162 keeps the same hashing).
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
CONSISTENCY = [
    (
        2,
        8,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
HASHES = [leaf_hash(d) for d in LEAVES]


def test_the_hashes_use_the_rfc_prefixes():
    assert EMPTY_ROOT.hex() == ROOTS[0]
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert merkle.node_hash(b"l", b"r") == hashlib.sha256(b"\x01lr").digest()


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_reference_tree_heads(size):
    assert root_of(HASHES[:size]).hex() == ROOTS[size]
    assert tree_of(HASHES).root(size).hex() == ROOTS[size]
    frontier = Frontier()
    for h in HASHES[:size]:
        frontier.append(h)
    assert frontier.root().hex() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_reference(index, size, proof):
    got = tree_of(HASHES).inclusion_proof(index, size)
    assert [p.hex() for p in got] == proof
    root = bytes.fromhex(ROOTS[size])
    assert verify_inclusion(HASHES[index], index, size, got, root)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_reference(old, new, proof):
    got = tree_of(HASHES).consistency_proof(old, new)
    assert [p.hex() for p in got] == proof
    old_root, new_root = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    assert verify_consistency(old, new, old_root, new_root, got)


def test_the_degenerate_consistency_cases():
    r4, r5 = root_of(HASHES[:4]), root_of(HASHES[:5])
    assert verify_consistency(4, 4, r4, r4, [])
    assert not verify_consistency(4, 4, r4, r5, [])
    assert not verify_consistency(4, 4, r4, r4, [r4])
    assert verify_consistency(0, 8, EMPTY_ROOT, root_of(HASHES), [])
    assert not verify_consistency(0, 8, r4, root_of(HASHES), [])
    assert not verify_consistency(4, 8, r4, root_of(HASHES), [])
    assert not verify_consistency(8, 4, root_of(HASHES), r4, [])


def _leaves(n: int, salt: int = 0) -> list[bytes]:
    return [leaf_hash(f"{salt}:{i}".encode()) for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 700).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_every_inclusion_proof_verifies_and_a_wrong_one_does_not(case):
    size, index = case
    leaves = _leaves(size)
    tree = tree_of(leaves)
    root = tree.root()
    assert root == root_of(leaves)
    proof = tree.inclusion_proof(index, size)
    assert verify_inclusion(leaves[index], index, size, proof, root)
    assert not verify_inclusion(leaf_hash(b"forged"), index, size, proof, root)
    if size > 1:
        assert not verify_inclusion(leaves[index], (index + 1) % size, size, proof, root)
        assert not verify_inclusion(leaves[index], index, size, proof[:-1], root)
        assert not verify_inclusion(leaves[index], index, size, [*proof, root], root)
        bent = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
        assert not verify_inclusion(leaves[index], index, size, bent, root)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 700).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))))
def test_every_consistency_proof_verifies_and_a_wrong_one_does_not(case):
    old, new = case
    leaves = _leaves(new)
    tree = tree_of(leaves)
    old_root, new_root = tree.root(old), tree.root(new)
    proof = tree.consistency_proof(old, new)
    assert verify_consistency(old, new, old_root, new_root, proof)
    if old < new:
        # A history rewritten in its first `old` leaves is not consistent with the old root.
        forked = tree_of([leaf_hash(b"rewritten"), *leaves[1:]])
        assert not verify_consistency(
            old, new, old_root, forked.root(), forked.consistency_proof(old, new)
        )
        assert not verify_consistency(old, new, old_root, new_root, proof[:-1])
        bent = [*proof[:-1], bytes([proof[-1][0] ^ 1]) + proof[-1][1:]]
        assert not verify_consistency(old, new, old_root, new_root, bent)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 1500).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_the_first_difference_is_found_by_descending_from_the_signed_root(case):
    size, changed = case
    leaves = _leaves(size)
    signed = tree_of(leaves)
    live = tree_of([*leaves[:changed], leaf_hash(b"edited"), *leaves[changed + 1 :]])
    assert merkle.first_difference(signed, live, size, signed.root()) == (changed, None)


def test_a_cache_that_does_not_hash_up_to_the_signed_root_is_not_believed():
    leaves = _leaves(600)
    signed = tree_of(leaves)
    forged_cache = tree_of([*leaves[:10], leaf_hash(b"edited"), *leaves[11:]])
    assert merkle.first_difference(forged_cache, forged_cache, 600, signed.root()) == (0, 600)


def test_tiles_grow_in_steps_as_in_one_go():
    leaves = _leaves(70_000)
    stepwise = merkle.Tree()
    for start in range(0, len(leaves), 9_999):
        stepwise.extend(leaves[start : start + 9_999])
        assert stepwise.root() == root_of(leaves[: stepwise.size])
    assert stepwise.tiles == tree_of(leaves).tiles
    assert (2, 0) in stepwise.tiles  # a 65,536-leaf subtree's root, two levels up


@pytest.mark.parametrize("sizes", [(256, 512, 5), (768,), (256, 256, 256, 256, 1), (0, 300)])
def test_leaves_added_with_their_tile_roots_make_the_same_tree(sizes):
    leaves = _leaves(sum(sizes))
    tree, start = merkle.Tree(), 0
    for n in sizes:
        part = leaves[start : start + n]
        tree.extend_with_roots(b"".join(part), b"".join(merkle.tile_roots(part)))
        start += n
    assert tree.tiles == tree_of(leaves).tiles
    assert tree.root() == root_of(leaves)
    with pytest.raises(ValueError, match="tile boundary"):
        tree.extend_with_roots(leaves[0], b"") if tree.size % 256 else tree.extend_with_roots(
            b"x", b""
        )
