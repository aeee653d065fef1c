//! The audit log's Merkle tree: RFC 6962 / RFC 9162 hashing over SHA-256, with inclusion
//! and consistency proofs and an incremental accumulator.
//!
//! Leaves are hashed `SHA-256(0x00 || data)` and interior nodes `SHA-256(0x01 || l || r)`,
//! so that a leaf can never pass for a node (second-preimage resistance). The audit log's
//! leaf for an entry is [`audit_leaf`]: the leaf hash of the raw 32 bytes of its
//! `entry_hash`. A checkpoint's root is [`root`] over the first `tree_size` such leaves; an
//! auditor holding an old checkpoint checks that the log only grew with
//! [`verify_consistency`], and that an entry is in it with [`verify_inclusion`].
//!
//! Everything here works on slices of leaf hashes without copying them: computing a root
//! or a proof over `n` leaves takes O(n) time and O(log n) stack and extra memory.

use sha2::{Digest, Sha256};

use crate::audit::chain::hex_lower;
use crate::error::{Error, Result};

/// A SHA-256 digest: a leaf hash, a node hash or a root.
pub type Hash = [u8; 32];

/// `SHA-256(0x00 || data)`: the hash of a leaf holding `data`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || l || r)`: the hash of an interior node.
pub fn node_hash(l: &Hash, r: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The Merkle tree hash (RFC 9162 section 2.1.1) over `leaves`, which are LEAF hashes
/// (see [`leaf_hash`]), not raw data.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        _ => mth(leaves),
    }
}

/// MTH over a non-empty slice of leaf hashes.
fn mth(leaves: &[Hash]) -> Hash {
    if leaves.len() == 1 {
        return leaves[0];
    }
    let k = split(leaves.len() as u64) as usize;
    node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
}

/// The largest power of two smaller than `n` (`n >= 2`).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The audit path of leaf `index` in the tree over `leaves` (RFC 9162 section 2.1.3.1),
/// from the leaf's sibling up to the root's child. `InvalidInput` if `index` is not a leaf.
pub fn inclusion_proof(index: u64, leaves: &[Hash]) -> Result<Vec<Hash>> {
    if index >= leaves.len() as u64 {
        return Err(Error::invalid_input(
            "index",
            format!(
                "leaf index {index} is outside a tree of {} leaves",
                leaves.len()
            ),
        ));
    }
    let mut proof = Vec::new();
    path(index as usize, leaves, &mut proof);
    Ok(proof)
}

/// PATH(m, D[n]), appending bottom-up.
fn path(m: usize, leaves: &[Hash], out: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split(leaves.len() as u64) as usize;
    if m < k {
        path(m, &leaves[..k], out);
        out.push(mth(&leaves[k..]));
    } else {
        path(m - k, &leaves[k..], out);
        out.push(mth(&leaves[..k]));
    }
}

/// Whether `proof` shows that `leaf` (a leaf hash) is leaf `index` of the tree of
/// `tree_size` leaves whose root is `root` (RFC 9162 section 2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    tree_size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> bool {
    if index >= tree_size {
        return false;
    }
    let (mut fnode, mut snode) = (index, tree_size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

/// The proof that the tree over the first `old_size` of `leaves` is a prefix of the tree
/// over all of them (RFC 9162 section 2.1.4.1). Empty when `old_size` is 0 or the whole
/// tree; `InvalidInput` if `old_size` exceeds the number of leaves.
pub fn consistency_proof(old_size: u64, leaves: &[Hash]) -> Result<Vec<Hash>> {
    let n = leaves.len() as u64;
    if old_size > n {
        return Err(Error::invalid_input(
            "old_size",
            format!("old tree size {old_size} exceeds the tree's {n} leaves"),
        ));
    }
    let mut proof = Vec::new();
    if old_size > 0 && old_size < n {
        subproof(old_size as usize, leaves, true, &mut proof);
    }
    Ok(proof)
}

/// SUBPROOF(m, D[n], b), appending bottom-up.
fn subproof(m: usize, leaves: &[Hash], complete: bool, out: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !complete {
            out.push(mth(leaves));
        }
        return;
    }
    let k = split(n as u64) as usize;
    if m <= k {
        subproof(m, &leaves[..k], complete, out);
        out.push(mth(&leaves[k..]));
    } else {
        subproof(m - k, &leaves[k..], false, out);
        out.push(mth(&leaves[..k]));
    }
}

/// Whether `proof` shows that the tree of `old_size` leaves with root `old_root` is a
/// prefix of the tree of `new_size` leaves with root `new_root` (RFC 9162 section
/// 2.1.4.2). Equal sizes need an empty proof and equal roots; an empty old tree needs an
/// empty proof and the empty root.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        return proof.is_empty() && *old_root == empty_root();
    }
    if proof.is_empty() {
        return false;
    }
    // A power-of-two old tree is itself a node of the new tree, so the proof omits it.
    let prefixed;
    let path: &[Hash] = if old_size.is_power_of_two() {
        prefixed = std::iter::once(*old_root)
            .chain(proof.iter().copied())
            .collect::<Vec<_>>();
        &prefixed
    } else {
        proof
    };
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    fr == *old_root && sr == *new_root && snode == 0
}

/// Lowercase hex of a hash.
pub fn to_hex(hash: &Hash) -> String {
    hex_lower(hash)
}

/// Parses 64 hex digits (either case) into a hash; `InvalidInput` on anything else.
pub fn from_hex(s: &str) -> Result<Hash> {
    let bytes = s.as_bytes();
    if bytes.len() != 64 {
        return Err(Error::invalid_input(
            "hash",
            format!(
                "must be 64 hex digits, got {} characters",
                s.chars().count()
            ),
        ));
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => out[i] = hi << 4 | lo,
            _ => return Err(Error::invalid_input("hash", "must be 64 hex digits")),
        }
    }
    Ok(out)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The Merkle leaf of an audit entry: [`leaf_hash`] of the 32 raw bytes of its hex
/// `entry_hash`. `InvalidInput` if `entry_hash_hex` is not 64 hex digits.
pub fn audit_leaf(entry_hash_hex: &str) -> Result<Hash> {
    Ok(leaf_hash(&from_hex(entry_hash_hex)?))
}

/// A Merkle tree that grows one leaf at a time and knows its root, keeping only the roots
/// of its perfect subtrees (the "frontier" or compact range: one hash per set bit of the
/// size, so at most 64), so that the log can be checkpointed without re-reading it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MerkleAccumulator {
    size: u64,
    /// Roots of the perfect subtrees, largest (leftmost) first.
    frontier: Vec<Hash>,
}

impl MerkleAccumulator {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes from a saved [`Self::size`] and [`Self::frontier`]; `InvalidInput` unless
    /// the frontier has one hash per set bit of `size`.
    pub fn from_frontier(size: u64, frontier: Vec<Hash>) -> Result<Self> {
        if frontier.len() != size.count_ones() as usize {
            return Err(Error::invalid_input(
                "frontier",
                format!(
                    "a tree of {size} leaves has {} frontier hashes, got {}",
                    size.count_ones(),
                    frontier.len()
                ),
            ));
        }
        Ok(Self { size, frontier })
    }

    /// Appends a leaf hash (see [`leaf_hash`] and [`audit_leaf`]).
    pub fn push(&mut self, leaf: Hash) {
        let mut node = leaf;
        // Each trailing one bit of the old size is a perfect subtree the new leaf completes.
        let mut size = self.size;
        while size & 1 == 1 {
            // The frontier has one hash per set bit of `size`, so it is not empty here.
            let Some(left) = self.frontier.pop() else {
                break;
            };
            node = node_hash(&left, &node);
            size >>= 1;
        }
        self.frontier.push(node);
        self.size += 1;
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The roots of the perfect subtrees, largest first (what [`Self::from_frontier`]
    /// takes back).
    pub fn frontier(&self) -> &[Hash] {
        &self.frontier
    }

    /// The root over every leaf pushed so far (equal to [`root`] over them).
    pub fn root(&self) -> Hash {
        let mut it = self.frontier.iter().rev();
        match it.next() {
            None => empty_root(),
            Some(last) => it.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The certificate-transparency test leaves (RFC 6962 reference implementation).
    fn ct_leaves() -> Vec<Hash> {
        let data: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        data.iter().map(|d| leaf_hash(d)).collect()
    }

    fn h(s: &str) -> Hash {
        from_hex(s).expect("test vector is hex")
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n as u64).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn reproduces_the_rfc6962_roots_for_sizes_1_to_8() {
        let expected = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let l = ct_leaves();
        for (i, want) in expected.iter().enumerate() {
            assert_eq!(to_hex(&root(&l[..=i])), *want, "size {}", i + 1);
        }
    }

    #[test]
    fn empty_tree_root_is_the_hash_of_nothing() {
        assert_eq!(
            to_hex(&root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn reproduces_the_rfc6962_inclusion_proof_of_leaf_0_in_8() {
        let proof = inclusion_proof(0, &ct_leaves()).expect("index in range");
        let want = [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ];
        assert_eq!(proof, want.map(h).to_vec());
    }

    #[test]
    fn reproduces_the_rfc6962_consistency_proofs() {
        let l = ct_leaves();
        let p = consistency_proof(6, &l).expect("6 <= 8");
        let want = [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ];
        assert_eq!(p, want.map(h).to_vec());
        let p = consistency_proof(2, &l[..5]).expect("2 <= 5");
        let want = [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ];
        assert_eq!(p, want.map(h).to_vec());
    }

    #[test]
    fn proofs_outside_the_tree_are_invalid_input() {
        let l = leaves(5);
        assert_eq!(
            inclusion_proof(5, &l).map_err(|e| e.kind()),
            Err("invalid_input")
        );
        assert_eq!(
            consistency_proof(6, &l).map_err(|e| e.kind()),
            Err("invalid_input")
        );
        assert!(!verify_inclusion(5, 5, &l[0], &[], &root(&l)));
    }

    #[test]
    fn trivial_consistency_needs_an_empty_proof_and_matching_roots() {
        let l = leaves(5);
        let r = root(&l);
        assert_eq!(
            consistency_proof(5, &l).expect("equal sizes"),
            Vec::<Hash>::new()
        );
        assert_eq!(
            consistency_proof(0, &l).expect("empty old tree"),
            Vec::<Hash>::new()
        );
        assert!(verify_consistency(5, 5, &r, &r, &[]));
        assert!(!verify_consistency(5, 5, &r, &root(&l[..4]), &[]));
        assert!(!verify_consistency(5, 5, &r, &r, &[r]));
        assert!(verify_consistency(0, 5, &empty_root(), &r, &[]));
        assert!(!verify_consistency(0, 5, &r, &r, &[]));
        assert!(!verify_consistency(5, 4, &r, &r, &[]));
        assert!(!verify_consistency(3, 5, &root(&l[..3]), &r, &[]));
    }

    #[test]
    fn single_leaf_tree_is_its_leaf() {
        let l = leaves(1);
        assert_eq!(root(&l), l[0]);
        assert_eq!(
            inclusion_proof(0, &l).expect("in range"),
            Vec::<Hash>::new()
        );
        assert!(verify_inclusion(0, 1, &l[0], &[], &l[0]));
    }

    #[test]
    fn accumulator_matches_root_for_every_size_up_to_200() {
        let l = leaves(200);
        let mut acc = MerkleAccumulator::new();
        assert_eq!(acc.root(), root(&[]));
        for (i, leaf) in l.iter().enumerate() {
            acc.push(*leaf);
            assert_eq!(acc.size(), i as u64 + 1);
            assert_eq!(acc.frontier().len(), (i + 1).count_ones() as usize);
            assert_eq!(acc.root(), root(&l[..=i]), "size {}", i + 1);
        }
    }

    #[test]
    fn accumulator_resumes_from_its_frontier() {
        let l = leaves(77);
        let mut acc = MerkleAccumulator::new();
        l[..50].iter().for_each(|x| acc.push(*x));
        let mut resumed =
            MerkleAccumulator::from_frontier(acc.size(), acc.frontier().to_vec()).expect("valid");
        l[50..].iter().for_each(|x| resumed.push(*x));
        assert_eq!(resumed.root(), root(&l));
        assert!(MerkleAccumulator::from_frontier(50, vec![]).is_err());
    }

    #[test]
    fn accumulator_matches_root_on_a_large_tree() {
        let l = leaves(70_001);
        let mut acc = MerkleAccumulator::new();
        l.iter().for_each(|x| acc.push(*x));
        assert_eq!(acc.root(), root(&l));
        let proof = inclusion_proof(65_536, &l).expect("in range");
        assert!(verify_inclusion(
            65_536,
            70_001,
            &l[65_536],
            &proof,
            &acc.root()
        ));
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let x = leaf_hash(b"x");
        assert_eq!(from_hex(&to_hex(&x)).expect("own hex"), x);
        assert_eq!(from_hex(&to_hex(&x).to_uppercase()).expect("upper"), x);
        assert!(from_hex("ab").is_err());
        assert!(from_hex(&"g".repeat(64)).is_err());
        assert!(from_hex(&"é".repeat(32)).is_err());
    }

    #[test]
    fn audit_leaf_hashes_the_raw_entry_hash_bytes() {
        let raw = [7u8; 32];
        assert_eq!(audit_leaf(&to_hex(&raw)).expect("hex"), leaf_hash(&raw));
        assert!(audit_leaf("not hex").is_err());
    }

    fn flip(h: &Hash) -> Hash {
        let mut x = *h;
        x[0] ^= 1;
        x
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn every_inclusion_proof_verifies_and_any_tampering_fails(n in 1usize..70) {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..n {
                let p = inclusion_proof(i as u64, &l).expect("in range");
                prop_assert!(verify_inclusion(i as u64, n as u64, &l[i], &p, &r));
                prop_assert!(!verify_inclusion(i as u64, n as u64, &flip(&l[i]), &p, &r));
                prop_assert!(!verify_inclusion(i as u64, n as u64, &l[i], &p, &flip(&r)));
                for j in 0..p.len() {
                    let mut bad = p.clone();
                    bad[j] = flip(&bad[j]);
                    prop_assert!(!verify_inclusion(i as u64, n as u64, &l[i], &bad, &r));
                }
                if n > 1 {
                    let other = (i + 1) % n;
                    prop_assert!(!verify_inclusion(other as u64, n as u64, &l[i], &p, &r));
                }
                let mut longer = p.clone();
                longer.push(r);
                prop_assert!(!verify_inclusion(i as u64, n as u64, &l[i], &longer, &r));
                if !p.is_empty() {
                    prop_assert!(!verify_inclusion(i as u64, n as u64, &l[i], &p[1..], &r));
                }
            }
        }

        #[test]
        fn every_consistency_proof_verifies_and_any_tampering_fails(n in 1usize..40) {
            let l = leaves(n);
            let new_root = root(&l);
            for m in 1..=n {
                let old_root = root(&l[..m]);
                let p = consistency_proof(m as u64, &l).expect("m <= n");
                let (m, n64) = (m as u64, n as u64);
                prop_assert!(verify_consistency(m, n64, &old_root, &new_root, &p));
                prop_assert!(!verify_consistency(m, n64, &flip(&old_root), &new_root, &p));
                prop_assert!(!verify_consistency(m, n64, &old_root, &flip(&new_root), &p));
                for j in 0..p.len() {
                    let mut bad = p.clone();
                    bad[j] = flip(&bad[j]);
                    prop_assert!(!verify_consistency(m, n64, &old_root, &new_root, &bad));
                }
                if !p.is_empty() {
                    prop_assert!(!verify_consistency(m, n64, &old_root, &new_root, &p[1..]));
                    let mut longer = p.clone();
                    longer.push(new_root);
                    prop_assert!(!verify_consistency(m, n64, &old_root, &new_root, &longer));
                }
            }
        }
    }
}
