//! RFC 6962 Merkle tree hashing (SHA-256 with domain separation): leaves are `H(0x00 ‖ data)`, interior nodes
//! `H(0x01 ‖ left ‖ right)`, and a tree of `n` leaves splits at the largest power of two below `n`.
//! Used twice: over the records of a block (the block root) and over the blocks of a tenant log (the log root).

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The leaf hash of data given in parts (avoids concatenating a block header and its root).
pub fn leaf_hash_parts(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    for part in parts {
        h.update(part);
    }
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of an empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// The incremental right edge of a tree: the roots of its perfect subtrees, largest first. Appending is amortized
/// O(1), the root at the current size O(log n). Lets the writer and the verifier recompute the root at every
/// checkpoint size without keeping all leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    /// (height, root) with strictly decreasing heights.
    nodes: Vec<(u32, Hash)>,
    size: u64,
}

impl Frontier {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn push(&mut self, leaf: Hash) {
        let mut node = (0u32, leaf);
        while let Some(&(height, left)) = self.nodes.last() {
            if height != node.0 {
                break;
            }
            self.nodes.pop();
            node = (height + 1, node_hash(&left, &node.1));
        }
        self.nodes.push(node);
        self.size += 1;
    }

    pub fn root(&self) -> Hash {
        let mut iter = self.nodes.iter().rev();
        let Some(&(_, mut acc)) = iter.next() else {
            return empty_root();
        };
        for (_, left) in iter {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

impl Frontier {
    /// A frontier from its subtree roots, largest first: one per set bit of `size`. `None` when the count differs.
    pub fn from_hashes(size: u64, hashes: &[Hash]) -> Option<Self> {
        if hashes.len() != size.count_ones() as usize {
            return None;
        }
        let heights = (0..64u32).rev().filter(|h| size & (1 << h) != 0);
        Some(Self {
            nodes: heights.zip(hashes.iter().copied()).collect(),
            size,
        })
    }

    /// The subtree roots, largest first (what [`Frontier::from_hashes`] takes back).
    pub fn hashes(&self) -> Vec<Hash> {
        self.nodes.iter().map(|(_, h)| *h).collect()
    }

    /// The root of the perfect subtree over leaves `start..end` when it is one of the frontier's nodes.
    fn node(&self, start: u64, end: u64) -> Option<Hash> {
        let mut at = 0u64;
        for (height, hash) in &self.nodes {
            let len = 1u64 << height;
            if at == start && at + len == end {
                return Some(*hash);
            }
            at += len;
        }
        None
    }
}

/// A log tree whose first `prefix.size()` leaves are gone (their segments expired) and known only by the
/// frontier kept in the last tombstone, followed by the leaves still held. Every subtree an audit path of a held
/// leaf needs on the expired side is one of the frontier's nodes: the left siblings on a path are aligned perfect
/// subtrees, and one lying inside a larger frontier node would put the leaf itself inside the expired prefix.
pub struct PrunedTree<'a> {
    pub prefix: &'a Frontier,
    /// Leaves `prefix.size()..` of the tree.
    pub leaves: &'a [Hash],
}

impl PrunedTree<'_> {
    pub fn size(&self) -> u64 {
        self.prefix.size() + self.leaves.len() as u64
    }

    pub fn root(&self) -> Hash {
        let mut frontier = self.prefix.clone();
        for leaf in self.leaves {
            frontier.push(*leaf);
        }
        frontier.root()
    }

    /// The audit path of leaf `index` (at or after the prefix), bottom first; `None` for an expired leaf.
    pub fn audit_path(&self, index: u64) -> Option<Vec<Hash>> {
        if index < self.prefix.size() || index >= self.size() {
            return None;
        }
        let mut path = Vec::new();
        self.path_into(0, self.size(), index, &mut path)?;
        Some(path)
    }

    fn path_into(&self, start: u64, end: u64, index: u64, path: &mut Vec<Hash>) -> Option<()> {
        if end - start <= 1 {
            return Some(());
        }
        let k = split_point((end - start) as usize) as u64;
        if index < start + k {
            self.path_into(start, start + k, index, path)?;
            path.push(self.range_root(start + k, end)?);
        } else {
            self.path_into(start + k, end, index, path)?;
            path.push(self.range_root(start, start + k)?);
        }
        Some(())
    }

    fn range_root(&self, start: u64, end: u64) -> Option<Hash> {
        let held = self.prefix.size();
        if end <= held {
            return self.prefix.node(start, end);
        }
        if start >= held {
            let from = usize::try_from(start - held).ok()?;
            let to = usize::try_from(end - held).ok()?;
            return Some(root(self.leaves.get(from..to)?));
        }
        let k = split_point((end - start) as usize) as u64;
        Some(node_hash(
            &self.range_root(start, start + k)?,
            &self.range_root(start + k, end)?,
        ))
    }
}

/// The root over `leaves` (already leaf-hashed).
pub fn root(leaves: &[Hash]) -> Hash {
    let mut frontier = Frontier::new();
    for leaf in leaves {
        frontier.push(*leaf);
    }
    frontier.root()
}

fn split_point(n: usize) -> usize {
    // Largest power of two strictly below n (n ≥ 2).
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The audit path of leaf `index` in the tree over `leaves` (RFC 6962 §2.1.1), bottom first.
pub fn audit_path(leaves: &[Hash], index: usize) -> Vec<Hash> {
    let mut path = Vec::new();
    audit_path_into(leaves, index, &mut path);
    path
}

fn audit_path_into(leaves: &[Hash], index: usize, path: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split_point(leaves.len());
    if index < k {
        audit_path_into(&leaves[..k], index, path);
        path.push(root(&leaves[k..]));
    } else {
        audit_path_into(&leaves[k..], index - k, path);
        path.push(root(&leaves[..k]));
    }
}

/// Recomputes the root from a leaf hash, its index, the tree size and its audit path (RFC 9162 §2.1.3.2).
/// `None` when the path has the wrong length for the index and size.
pub fn root_from_path(leaf: Hash, index: u64, size: u64, path: &[Hash]) -> Option<Hash> {
    if index >= size {
        return None;
    }
    let mut fn_ = index;
    let mut sn = size - 1;
    let mut r = leaf;
    for p in path {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return None;
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The recursive definition straight from RFC 6962, as the reference.
    fn naive_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n);
                node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
            }
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&(i as u64).to_le_bytes()))
            .collect()
    }

    #[test]
    fn known_answer_for_empty_and_single_leaf() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // RFC 6962 test vector: leaf hash of the empty string.
        assert_eq!(
            hex::encode(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    proptest! {
        #[test]
        fn frontier_root_matches_naive(n in 0usize..300) {
            let l = leaves(n);
            prop_assert_eq!(root(&l), naive_root(&l));
        }

        #[test]
        fn a_pruned_tree_gives_the_same_roots_and_paths(kept in 0usize..200, more in 1usize..200, seed: usize) {
            let all = leaves(kept + more);
            let mut prefix = Frontier::new();
            for leaf in &all[..kept] {
                prefix.push(*leaf);
            }
            let prefix = Frontier::from_hashes(kept as u64, &prefix.hashes()).unwrap();
            let tree = PrunedTree { prefix: &prefix, leaves: &all[kept..] };
            prop_assert_eq!(tree.root(), naive_root(&all));
            let index = kept + seed % more;
            prop_assert_eq!(tree.audit_path(index as u64), Some(audit_path(&all, index)));
            if kept > 0 {
                prop_assert_eq!(tree.audit_path((seed % kept) as u64), None);
            }
        }

        #[test]
        fn a_frontier_needs_one_hash_per_set_bit(size in 0u64..1_000_000, extra in 0usize..3) {
            let hashes = vec![[7u8; 32]; size.count_ones() as usize + extra];
            prop_assert_eq!(Frontier::from_hashes(size, &hashes).is_some(), extra == 0);
        }

        #[test]
        fn audit_paths_verify_and_bind_the_index(n in 1usize..200, seed: usize) {
            let l = leaves(n);
            let index = seed % n;
            let path = audit_path(&l, index);
            let expected = naive_root(&l);
            prop_assert_eq!(root_from_path(l[index], index as u64, n as u64, &path), Some(expected));
            if n > 1 {
                let other = (index + 1) % n;
                prop_assert_ne!(root_from_path(l[index], other as u64, n as u64, &path), Some(expected));
                let mut bad = path.clone();
                bad[0][0] ^= 1;
                prop_assert_ne!(root_from_path(l[index], index as u64, n as u64, &bad), Some(expected));
            }
        }
    }
}
