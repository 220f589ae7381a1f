//! FP-growth (Han, Pei & Yin 2000): frequent itemsets without candidate generation.
//!
//! Transactions are lists of item ids; items are re-ranked by descending frequency (ties by
//! id), each transaction is inserted into a prefix tree along that order, and itemsets are
//! mined from conditional trees built from each item's prefix paths.

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
pub(crate) fn fp_growth<T: AsRef<[u32]>>(
    transactions: &[T],
    n_items: usize,
    min_count: u64,
    max_len: usize,
    max_itemsets: usize,
) -> Result<Vec<Itemset>, usize> {
    let mut counts = vec![0u64; n_items];
    for t in transactions {
        for &item in t.as_ref() {
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
    let mut tree = Tree::new(frequent.len());
    let mut ranks = Vec::new();
    for t in transactions {
        ranks.clear();
        ranks.extend(t.as_ref().iter().map(|&i| rank_of[i as usize]).filter(|&r| r != u32::MAX));
        ranks.sort_unstable();
        tree.insert(&ranks, 1);
    }
    let mut out = Vec::new();
    let mut miner = Miner { min_count: min_count.max(1), max_len, max_itemsets, out: &mut out };
    miner.mine(&tree, &frequent, &mut Vec::new())?;
    for itemset in &mut out {
        itemset.items.sort_unstable();
    }
    Ok(out)
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
            if self.out.len() >= self.max_itemsets {
                return Err(self.out.len());
            }
            self.out.push(Itemset { items: suffix.clone(), count });
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
        let mut paths: Vec<(Vec<u32>, u64)> = Vec::with_capacity(tree.header[local].len());
        let mut counts = vec![0u64; local];
        for &node in &tree.header[local] {
            let weight = tree.nodes[node as usize].count;
            let mut path = Vec::new();
            let mut parent = tree.nodes[node as usize].parent;
            while parent != 0 {
                let item = tree.nodes[parent as usize].item;
                counts[item as usize] += weight;
                path.push(item);
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
        for min_count in 1..=5 {
            let mut ours: Vec<(Vec<u32>, u64)> = fp_growth(&transactions, 5, min_count, usize::MAX, 1_000)
                .expect("itemsets")
                .into_iter()
                .map(|s| (s.items, s.count))
                .collect();
            ours.sort();
            assert_eq!(ours, brute_force(&transactions, 5, min_count), "min_count {min_count}");
        }
    }

    #[test]
    fn max_len_and_the_output_cap() {
        let transactions = vec![vec![0, 1, 2], vec![0, 1, 2]];
        let sets = fp_growth(&transactions, 3, 1, 2, 100).expect("itemsets");
        assert_eq!(sets.len(), 6);
        assert!(sets.iter().all(|s| s.items.len() <= 2));
        assert_eq!(fp_growth(&transactions, 3, 1, usize::MAX, 5), Err(5));
    }
}
