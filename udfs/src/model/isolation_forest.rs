//! Isolation forests (Liu, Ting & Zhou 2008): the per-tree samples a fit keeps, the random trees
//! and the path-length score, shared by `isolation_forest_fit` and `isolation_forest_score`.
//!
//! Tree t is grown on a uniform sample without replacement of ψ rows: the ψ rows with the
//! smallest key_t(row) = SplitMix64(h(row) + (t + 1)·γ), h a hash of the row's values and the
//! seed — a bottom-k sample, so the same rows are drawn whatever the order or partitioning of the
//! input (rows with equal values are interchangeable). A node splits on a feature drawn uniformly
//! among those not constant in it, at min + u·(max − min) with u uniform in [0, 1) (rows with
//! x <= threshold go left), until the node holds one row, its rows are all equal, or it reaches
//! the height limit ceil(log2 ψ). The score of x is s = 2^(−E[h(x)] / c(ψ)), h(x) = the depth
//! of x's leaf + c(size of the leaf), c(n) = 2 (ln(n − 1) + γ_Euler) − 2 (n − 1) / n for n > 2,
//! c(2) = 1, c(n ≤ 1) = 0 — scikit-learn's `score_samples` is −s.

use std::collections::BinaryHeap;

/// Euler's constant, as scikit-learn's `_average_path_length` uses it.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The hash of a row's values for `seed` (−0.0 and 0.0 are one value).
pub(super) fn row_hash(seed: u64, values: &[f64]) -> u64 {
    values.iter().fold(splitmix(seed.wrapping_add(GOLDEN)), |h, &v| {
        let bits = if v == 0.0 { 0 } else { v.to_bits() };
        splitmix(h ^ bits.wrapping_add(GOLDEN))
    })
}

/// The key of a row (by its hash) in tree t's sample.
pub(super) fn tree_key(hash: u64, tree: usize) -> u64 {
    splitmix(hash.wrapping_add((tree as u64 + 1).wrapping_mul(GOLDEN)))
}

/// One sampled row: its key, then its values (the order of a max-heap on the key).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sampled {
    pub(super) key: u64,
    pub(super) values: Vec<f64>,
}

impl Eq for Sampled {}

impl Ord for Sampled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key).then_with(|| {
            self.values
                .iter()
                .zip(&other.values)
                .map(|(a, b)| a.total_cmp(b))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    }
}

impl PartialOrd for Sampled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Offers a row to a tree's sample of at most `size` rows (the smallest keys); the values are
/// copied only when the row is taken.
pub(super) fn offer(sample: &mut BinaryHeap<Sampled>, size: usize, key: u64, values: &[f64]) {
    if sample.len() < size {
        sample.push(Sampled { key, values: values.to_vec() });
        return;
    }
    let Some(largest) = sample.peek() else { return };
    if key > largest.key {
        return;
    }
    let row = Sampled { key, values: values.to_vec() };
    if row < *largest {
        sample.pop();
        sample.push(row);
    }
}

/// A node: a split (feature from 0, threshold, left, right) or a leaf with its size.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum INode {
    Split { feature: usize, threshold: f64, left: usize, right: usize },
    Leaf { size: usize },
}

/// c(n), the average path length of an unsuccessful search in a binary search tree of n rows.
pub(super) fn average_path_length(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

/// Grows tree `tree` on its sample (rows sorted by key, so the growth does not depend on the
/// heap's order) with a SplitMix64 stream seeded by (seed, tree).
pub(super) fn grow(mut rows: Vec<Sampled>, dim: usize, seed: u64, tree: usize) -> Vec<INode> {
    rows.sort();
    let limit = (rows.len().max(2) as f64).log2().ceil() as usize;
    let mut state = splitmix(seed ^ (tree as u64 + 1).wrapping_mul(GOLDEN));
    let mut next = move || {
        state = state.wrapping_add(GOLDEN);
        splitmix(state)
    };
    let mut nodes = Vec::new();
    let mut refs: Vec<&[f64]> = rows.iter().map(|r| r.values.as_slice()).collect();
    grow_node(&mut refs, dim, 0, limit, &mut next, &mut nodes);
    nodes
}

fn grow_node(
    rows: &mut [&[f64]],
    dim: usize,
    depth: usize,
    limit: usize,
    next: &mut impl FnMut() -> u64,
    nodes: &mut Vec<INode>,
) -> usize {
    let id = nodes.len();
    nodes.push(INode::Leaf { size: rows.len() });
    if rows.len() <= 1 || depth >= limit {
        return id;
    }
    let ranges: Vec<(usize, f64, f64)> = (0..dim)
        .filter_map(|f| {
            let (lo, hi) =
                rows.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| (lo.min(r[f]), hi.max(r[f])));
            (hi > lo).then_some((f, lo, hi))
        })
        .collect();
    if ranges.is_empty() {
        return id;
    }
    let (feature, lo, hi) = ranges[(next() % ranges.len() as u64) as usize];
    let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
    let mut threshold = lo + u * (hi - lo);
    if threshold >= hi {
        threshold = lo;
    }
    rows.sort_by(|a, b| a[feature].total_cmp(&b[feature]));
    let cut = rows.partition_point(|r| r[feature] <= threshold);
    let (left_rows, right_rows) = rows.split_at_mut(cut);
    let left = grow_node(left_rows, dim, depth + 1, limit, next, nodes);
    let right = grow_node(right_rows, dim, depth + 1, limit, next, nodes);
    nodes[id] = INode::Split { feature, threshold, left, right };
    id
}

/// h(x) in one tree: the depth of x's leaf plus c(its size); `None` when a feature on the path is NaN.
pub(super) fn path_length(nodes: &[INode], x: &[f64]) -> Option<f64> {
    let (mut at, mut depth) = (0, 0.0);
    loop {
        match nodes.get(at)? {
            INode::Leaf { size } => return Some(depth + average_path_length(*size)),
            INode::Split { feature, threshold, left, right } => {
                let v = *x.get(*feature)?;
                if v.is_nan() {
                    return None;
                }
                at = if v <= *threshold { *left } else { *right };
                depth += 1.0;
            }
        }
    }
}

/// s(x) = 2^(−mean h(x) / c(ψ)) over the trees; `None` as for [`path_length`].
pub(super) fn score(trees: &[Vec<INode>], sample_size: usize, x: &[f64]) -> Option<f64> {
    let mut total = 0.0;
    for tree in trees {
        total += path_length(tree, x)?;
    }
    let c = average_path_length(sample_size);
    if trees.is_empty() || c == 0.0 {
        return Some(0.5); // a forest of one-row samples knows nothing
    }
    Some(2f64.powf(-(total / trees.len() as f64) / c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_of_n_is_scikit_learns() {
        assert_eq!(average_path_length(1), 0.0);
        assert_eq!(average_path_length(2), 1.0);
        // 2 (ln 255 + γ) − 2 · 255 / 256, as scikit-learn 1.9.1 _average_path_length([256])
        assert!((average_path_length(256) - 10.244_770_920_119_917).abs() < 1e-12);
    }

    #[test]
    fn an_outlier_is_isolated_sooner() {
        let mut rows = Vec::new();
        for i in 0..64 {
            let values = vec![f64::from(i % 8), f64::from(i / 8)];
            rows.push(Sampled { key: tree_key(row_hash(1, &values), 0), values });
        }
        rows.push(Sampled { key: 0, values: vec![100.0, 100.0] });
        let trees: Vec<Vec<INode>> = (0..50).map(|t| grow(rows.clone(), 2, 9, t)).collect();
        let outlier = score(&trees, rows.len(), &[100.0, 100.0]).expect("score");
        let inlier = score(&trees, rows.len(), &[4.0, 4.0]).expect("score");
        assert!(outlier > 0.6 && inlier < 0.5, "{outlier} {inlier}");
    }
}
