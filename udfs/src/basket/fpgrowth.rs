//! FP-growth (Han, Pei & Yin 2000): frequent itemsets without candidate generation.
//!
//! Transactions are lists of item ids; items are re-ranked by descending frequency (ties by
//! id), each transaction is inserted into a prefix tree along that order, and itemsets are
//! mined from conditional trees built from each item's prefix paths.
//!
//! Two shortcuts give the same itemsets and counts: with `max_len` ≤ 2 and few frequent items
//! the pairs are counted directly in a triangular matrix (no tree), and the last level of the
//! recursion (an itemset one item short of `max_len`) reads its extensions from the prefix-path
//! counts instead of building a conditional tree that would only be summed.

use datafusion::common::HashMap;

/// A frequent itemset: item ids (ascending) and the number of transactions holding them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Itemset {
    pub items: Vec<u32>,
    pub count: u64,
}

/// Every itemset of at most `max_len` items contained in at least `min_count` of the
/// `transactions` (each a list of distinct item ids below `n_items`). Fails when more than
/// `max_itemsets` itemsets would be produced.
pub(crate) fn fp_growth<'t>(
    transactions: impl Iterator<Item = &'t [u32]> + Clone,
    n_items: usize,
    min_count: u64,
    max_len: usize,
    max_itemsets: usize,
) -> Result<Vec<Itemset>, usize> {
    if counts_every_pair(n_items, max_len) {
        return every_pair(transactions, n_items, min_count.max(1), max_len, max_itemsets);
    }
    let mut counts = vec![0u64; n_items];
    for t in transactions.clone() {
        for &item in t {
            counts[item as usize] += 1;
        }
    }
    // ranks: frequent items by descending count, ties by id
    let mut frequent: Vec<u32> = (0..n_items as u32).filter(|&i| counts[i as usize] >= min_count.max(1)).collect();
    frequent.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
    let mut rank_of = vec![u32::MAX; n_items];
    for (rank, &item) in frequent.iter().enumerate() {
        rank_of[item as usize] = rank as u32;
    }
    let mut out = Vec::new();
    let n_pairs = frequent.len() * frequent.len().saturating_sub(1) / 2;
    if max_len <= 2 && n_pairs <= MAX_PAIR_CELLS {
        pair_counts(transactions, &frequent, &rank_of, &counts, min_count.max(1), max_len, max_itemsets, &mut out)?;
    } else {
        let mut tree = Tree::new(frequent.len());
        let mut ranks = Vec::new();
        for t in transactions {
            ranks.clear();
            ranks.extend(t.iter().map(|&i| rank_of[i as usize]).filter(|&r| r != u32::MAX));
            ranks.sort_unstable();
            tree.insert(&ranks, 1);
        }
        let mut miner = Miner { min_count: min_count.max(1), max_len, max_itemsets, out: &mut out };
        miner.mine(&tree, &frequent, &mut Vec::new())?;
    }
    for itemset in &mut out {
        itemset.items.sort_unstable();
    }
    Ok(out)
}

/// Adds an itemset to `out`, or fails with the count reached when `out` already holds
/// `max_itemsets`.
fn push_capped(out: &mut Vec<Itemset>, max_itemsets: usize, items: Vec<u32>, count: u64) -> Result<(), usize> {
    if out.len() >= max_itemsets {
        return Err(out.len());
    }
    out.push(Itemset { items, count });
    Ok(())
}

/// The most cells of the pair-count matrix (8 bytes each: 16 MiB) before the tree is used.
const MAX_PAIR_CELLS: usize = 1 << 21;

/// The most cells (512 KiB) of a matrix of every pair of items, frequent or not, counted in the
/// same pass as the items ([`every_pair`]): a catalogue of up to 362 items.
const MAX_SMALL_CATALOGUE_CELLS: usize = 1 << 16;

/// Counts of the unordered pairs of `n` indices, a triangle of cells: row a (a < b) starts at
/// a·n − a(a+1)/2 and holds the cells of b = a+1 .. n.
struct Triangle {
    n: usize,
    cells: Vec<u64>,
}

impl Triangle {
    fn new(n: usize) -> Self {
        Self { n, cells: vec![0u64; n * n.saturating_sub(1) / 2] }
    }

    fn row_start(&self, a: usize) -> usize {
        a * self.n - a * (a + 1) / 2
    }

    /// Counts each pair of the distinct `indices` once, in either order.
    fn add_pairs(&mut self, indices: &[usize]) {
        for (k, &x) in indices.iter().enumerate() {
            for &y in &indices[k + 1..] {
                let (a, b) = (x.min(y), x.max(y));
                let cell = self.row_start(a) + b - a - 1;
                self.cells[cell] += 1;
            }
        }
    }

    /// Calls `emit(a, b, count)` for each pair a < b counted at least `min_count` times.
    fn each_frequent(
        &self,
        min_count: u64,
        mut emit: impl FnMut(usize, usize, u64) -> Result<(), usize>,
    ) -> Result<(), usize> {
        for a in 0..self.n {
            for (offset, &count) in self.cells[self.row_start(a)..self.row_start(a + 1)].iter().enumerate() {
                if count >= min_count {
                    emit(a, a + 1 + offset, count)?;
                }
            }
        }
        Ok(())
    }
}

/// Itemsets of one and two items of a small catalogue in one pass over the transactions: every
/// item and every pair counted, the frequent ones kept (the same itemsets and counts as
/// ranking the frequent items first, as [`pair_counts`] does, without a second pass).
fn every_pair<'t>(
    transactions: impl Iterator<Item = &'t [u32]>,
    n_items: usize,
    min_count: u64,
    max_len: usize,
    max_itemsets: usize,
) -> Result<Vec<Itemset>, usize> {
    let mut counter = EveryPair::new(n_items, max_len);
    transactions.for_each(|t| counter.add(t));
    counter.itemsets(min_count, max_itemsets)
}

/// Whether [`fp_growth`] counts every item and pair of a catalogue of `n_items` in one pass
/// ([`EveryPair`]) rather than ranking the frequent items first: `max_len` ≤ 2 and at most 362
/// items.
pub(crate) fn counts_every_pair(n_items: usize, max_len: usize) -> bool {
    max_len <= 2 && n_items * n_items.saturating_sub(1) / 2 <= MAX_SMALL_CATALOGUE_CELLS
}

/// The one-pass count of every item and every pair of a small catalogue (see
/// [`counts_every_pair`]), fed a transaction at a time: its itemsets are those [`fp_growth`]
/// gives for the same transactions, so a caller can count baskets as it lays them out instead
/// of storing them first.
pub(crate) struct EveryPair {
    counts: Vec<u64>,
    pairs: Triangle,
    max_len: usize,
    items: Vec<usize>,
}

impl EveryPair {
    pub(crate) fn new(n_items: usize, max_len: usize) -> Self {
        let pairs = Triangle::new(if max_len >= 2 { n_items } else { 0 });
        Self { counts: vec![0u64; n_items], pairs, max_len, items: Vec::new() }
    }

    /// Counts one transaction: distinct item ids below the catalogue's size.
    pub(crate) fn add(&mut self, transaction: &[u32]) {
        self.items.clear();
        self.items.extend(transaction.iter().map(|&x| x as usize));
        for &x in &self.items {
            self.counts[x] += 1;
        }
        if self.max_len >= 2 {
            self.pairs.add_pairs(&self.items);
        }
    }

    /// Adds the counts of `other`, a counter of the same catalogue and `max_len`.
    pub(crate) fn merge(&mut self, other: &EveryPair) {
        self.counts.iter_mut().zip(&other.counts).for_each(|(a, b)| *a += b);
        self.pairs.cells.iter_mut().zip(&other.pairs.cells).for_each(|(a, b)| *a += b);
    }

    /// The items and pairs counted in at least `min_count` (at least 1) transactions; fails with
    /// the count reached when there are more than `max_itemsets`.
    pub(crate) fn itemsets(&self, min_count: u64, max_itemsets: usize) -> Result<Vec<Itemset>, usize> {
        let min_count = min_count.max(1);
        let mut out = Vec::new();
        for (item, &count) in self.counts.iter().enumerate() {
            if count >= min_count {
                push_capped(&mut out, max_itemsets, vec![item as u32], count)?;
            }
        }
        if self.max_len >= 2 {
            self.pairs.each_frequent(min_count, |a, b, count| {
                push_capped(&mut out, max_itemsets, vec![a as u32, b as u32], count)
            })?;
        }
        Ok(out)
    }
}

/// Itemsets of one and two items, counted directly: each transaction adds one to the cell of
/// every pair of its frequent items. `rank_of` maps an item to its index in `frequent` (or
/// `u32::MAX`); `counts` are the items' own counts.
#[allow(clippy::too_many_arguments)]
fn pair_counts<'t>(
    transactions: impl Iterator<Item = &'t [u32]>,
    frequent: &[u32],
    rank_of: &[u32],
    counts: &[u64],
    min_count: u64,
    max_len: usize,
    max_itemsets: usize,
    out: &mut Vec<Itemset>,
) -> Result<(), usize> {
    for &item in frequent {
        push_capped(out, max_itemsets, vec![item], counts[item as usize])?;
    }
    if max_len < 2 {
        return Ok(());
    }
    let mut pairs = Triangle::new(frequent.len());
    let mut ranks: Vec<usize> = Vec::new();
    for t in transactions {
        ranks.clear();
        ranks.extend(t.iter().map(|&i| rank_of[i as usize]).filter(|&r| r != u32::MAX).map(|r| r as usize));
        pairs.add_pairs(&ranks);
    }
    pairs.each_frequent(min_count, |a, b, count| {
        let (x, y) = (frequent[a], frequent[b]);
        push_capped(out, max_itemsets, vec![x.min(y), x.max(y)], count)
    })
}

struct Node {
    item: u32,
    count: u64,
    parent: u32,
}

/// An FP-tree over local item indices 0..n (0 = most frequent); node 0 is the root.
struct Tree {
    nodes: Vec<Node>,
    /// Nodes of each item.
    header: Vec<Vec<u32>>,
    /// The child of a node for an item, keyed by `parent << 32 | item`: one lookup per step
    /// rather than a scan of the parent's children (the root has one child per frequent item).
    children: HashMap<u64, u32>,
}

impl Tree {
    fn new(n_items: usize) -> Self {
        Self {
            nodes: vec![Node { item: u32::MAX, count: 0, parent: 0 }],
            header: vec![Vec::new(); n_items],
            children: HashMap::new(),
        }
    }

    /// Builds a tree from weighted transactions whose items are ascending local indices.
    fn build(transactions: &[(Vec<u32>, u64)], n_items: usize) -> Self {
        let mut tree = Self::new(n_items);
        for (items, weight) in transactions {
            tree.insert(items, *weight);
        }
        tree
    }

    /// Adds one transaction (ascending local indices; empty adds nothing) with its weight.
    fn insert(&mut self, items: &[u32], weight: u64) {
        let mut node = 0u32;
        for &item in items {
            let next = self.nodes.len() as u32;
            node = *self.children.entry(u64::from(node) << 32 | u64::from(item)).or_insert_with(|| {
                self.nodes.push(Node { item, count: 0, parent: node });
                self.header[item as usize].push(next);
                next
            });
            self.nodes[node as usize].count += weight;
        }
    }
}

struct Miner<'a> {
    min_count: u64,
    max_len: usize,
    max_itemsets: usize,
    out: &'a mut Vec<Itemset>,
}

impl Miner<'_> {
    /// Mines `tree`, whose local item i is the global item `items[i]`, extending `suffix`.
    fn mine(&mut self, tree: &Tree, items: &[u32], suffix: &mut Vec<u32>) -> Result<(), usize> {
        for local in (0..items.len()).rev() {
            let nodes = &tree.header[local];
            let count: u64 = nodes.iter().map(|&n| tree.nodes[n as usize].count).sum();
            if count < self.min_count {
                continue;
            }
            suffix.push(items[local]);
            push_capped(self.out, self.max_itemsets, suffix.clone(), count)?;
            if suffix.len() < self.max_len {
                self.mine_conditional(tree, items, local, suffix)?;
            }
            suffix.pop();
        }
        Ok(())
    }

    /// Builds the conditional tree of local item `local` from its prefix paths and mines it.
    fn mine_conditional(
        &mut self,
        tree: &Tree,
        items: &[u32],
        local: usize,
        suffix: &mut Vec<u32>,
    ) -> Result<(), usize> {
        // at the last level only the prefix-path counts are needed, not the paths
        let last_level = suffix.len() + 1 == self.max_len;
        let mut paths: Vec<(Vec<u32>, u64)> = Vec::with_capacity(if last_level { 0 } else { tree.header[local].len() });
        let mut counts = vec![0u64; local];
        for &node in &tree.header[local] {
            let weight = tree.nodes[node as usize].count;
            let mut path = Vec::new();
            let mut parent = tree.nodes[node as usize].parent;
            while parent != 0 {
                let item = tree.nodes[parent as usize].item;
                counts[item as usize] += weight;
                if !last_level {
                    path.push(item);
                }
                parent = tree.nodes[parent as usize].parent;
            }
            if !path.is_empty() {
                path.reverse();
                paths.push((path, weight));
            }
        }
        // keep the frequent items of the prefix paths, in the same relative order
        let kept: Vec<u32> = (0..local as u32).filter(|&i| counts[i as usize] >= self.min_count).collect();
        if kept.is_empty() {
            return Ok(());
        }
        if last_level {
            // the conditional tree would only be summed per item: its sums are `counts`
            for &i in kept.iter().rev() {
                suffix.push(items[i as usize]);
                push_capped(self.out, self.max_itemsets, suffix.clone(), counts[i as usize])?;
                suffix.pop();
            }
            return Ok(());
        }
        let mut new_index = vec![u32::MAX; local];
        for (j, &i) in kept.iter().enumerate() {
            new_index[i as usize] = j as u32;
        }
        let conditional: Vec<(Vec<u32>, u64)> = paths
            .into_iter()
            .map(|(path, w)| {
                (path.into_iter().map(|i| new_index[i as usize]).filter(|&i| i != u32::MAX).collect::<Vec<_>>(), w)
            })
            .filter(|(path, _)| !path.is_empty())
            .collect();
        let sub_items: Vec<u32> = kept.iter().map(|&i| items[i as usize]).collect();
        let sub_tree = Tree::build(&conditional, kept.len());
        self.mine(&sub_tree, &sub_items, suffix)
    }
}

#[cfg(test)]
mod tests {
    use super::fp_growth;

    /// All itemsets by brute force, for comparison.
    fn brute_force(transactions: &[Vec<u32>], n_items: u32, min_count: u64) -> Vec<(Vec<u32>, u64)> {
        let mut out = Vec::new();
        for mask in 1u32..(1 << n_items) {
            let items: Vec<u32> = (0..n_items).filter(|i| mask & (1 << i) != 0).collect();
            let count = transactions.iter().filter(|t| items.iter().all(|i| t.contains(i))).count() as u64;
            if count >= min_count {
                out.push((items, count));
            }
        }
        out.sort();
        out
    }

    #[test]
    fn equals_brute_force() {
        let transactions: Vec<Vec<u32>> = vec![
            vec![0, 1, 3],
            vec![1, 2],
            vec![0, 1, 2, 4],
            vec![0, 2],
            vec![1, 2, 3],
            vec![0, 1, 2],
            vec![3],
            vec![0, 1, 2, 3, 4],
            vec![4, 1],
            vec![2, 0],
        ];
        // max_len 1 and 2 take the small-catalogue path, 3 the tree with the last-level shortcut
        for max_len in [1, 2, 3, usize::MAX] {
            for min_count in 1..=5 {
                let mut ours: Vec<(Vec<u32>, u64)> =
                    fp_growth(transactions.iter().map(Vec::as_slice), 5, min_count, max_len, 1_000)
                        .expect("itemsets")
                        .into_iter()
                        .map(|s| (s.items, s.count))
                        .collect();
                ours.sort();
                let mut expected = brute_force(&transactions, 5, min_count);
                expected.retain(|(items, _)| items.len() <= max_len);
                assert_eq!(ours, expected, "min_count {min_count}, max_len {max_len}");
            }
        }
    }

    #[test]
    fn the_pair_paths_equal_counting_every_pair() {
        use std::collections::BTreeMap;
        // 400 items: more than a small catalogue, so fp_growth ranks the frequent items
        // (pair_counts); every_pair counts all of them; both against a map of every pair
        let mut random = super::super::test_random(0x2545_F491_4F6C_DD1D);
        let transactions: Vec<Vec<u32>> = (0..3_000)
            .map(|_| {
                let mut t: Vec<u32> = (0..1 + random(6)).map(|_| (random(20) * random(20)) as u32).collect();
                t.sort_unstable();
                t.dedup();
                t
            })
            .collect();
        let mut expected: BTreeMap<Vec<u32>, u64> = BTreeMap::new();
        for t in &transactions {
            for (k, &x) in t.iter().enumerate() {
                *expected.entry(vec![x]).or_default() += 1;
                for &y in &t[k + 1..] {
                    *expected.entry(vec![x, y]).or_default() += 1;
                }
            }
        }
        for min_count in [1, 3, 40] {
            let want: Vec<(Vec<u32>, u64)> =
                expected.iter().filter(|(_, &c)| c >= min_count).map(|(s, &c)| (s.clone(), c)).collect();
            let sorted = |sets: Vec<super::Itemset>| {
                let mut sets: Vec<(Vec<u32>, u64)> = sets.into_iter().map(|s| (s.items, s.count)).collect();
                sets.sort();
                sets
            };
            let ranked = fp_growth(transactions.iter().map(Vec::as_slice), 400, min_count, 2, 1_000_000);
            assert_eq!(sorted(ranked.expect("itemsets")), want, "ranked, min_count {min_count}");
            let every = super::every_pair(transactions.iter().map(Vec::as_slice), 400, min_count, 2, 1_000_000);
            assert_eq!(sorted(every.expect("itemsets")), want, "every pair, min_count {min_count}");
        }
    }

    #[test]
    fn max_len_and_the_output_cap() {
        let transactions = [vec![0, 1, 2], vec![0, 1, 2]];
        let sets = fp_growth(transactions.iter().map(Vec::as_slice), 3, 1, 2, 100).expect("itemsets");
        assert_eq!(sets.len(), 6);
        assert!(sets.iter().all(|s| s.items.len() <= 2));
        assert_eq!(fp_growth(transactions.iter().map(Vec::as_slice), 3, 1, usize::MAX, 5), Err(5));
        // the pair-count path caps the output the same way
        assert_eq!(fp_growth(transactions.iter().map(Vec::as_slice), 3, 1, 2, 5), Err(5));
        assert_eq!(fp_growth(transactions.iter().map(Vec::as_slice), 3, 1, 2, 6).map(|s| s.len()), Ok(6));
    }
}
