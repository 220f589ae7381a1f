//! Classification trees (CART, Breiman et al. 1984) as scikit-learn's `DecisionTreeClassifier`
//! grows them with the best splitter, and the tree struct the tree functions share.
//!
//! A node becomes a leaf when it is at `max_depth`, holds fewer than 2 · `min_samples_leaf` (or
//! 2) rows, is pure (impurity ≤ machine epsilon) or has no split leaving `min_samples_leaf` rows
//! on each side. Otherwise it splits at the best threshold: over every feature in order and every
//! gap between consecutive distinct sorted values (values closer than 1e-7 count as equal), the
//! split maximising −(n_left · impurity_left + n_right · impurity_right); the threshold is the
//! midpoint x_lo / 2 + x_hi / 2 (x_lo when that rounds to x_hi), and rows with x ≤ threshold go
//! left. A tie between two splits keeps the first found (lower feature, then lower threshold);
//! scikit-learn visits features in a random order, so it may pick the other of two exactly equal
//! splits. Impurity: gini 1 − p² − (1 − p)², entropy −p log2 p − (1 − p) log2 (1 − p), p the share
//! of label 1. Nodes are numbered depth first, left before right, as scikit-learn numbers them.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, ListArray, StringArray, StructArray};
use arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{exec_err, plan_err, Result};

use super::tree_args::{NodeColumns, RowScorer, Split};
use crate::common::ListOffsets;

/// Values closer than this are one value when looking for split points (scikit-learn's
/// FEATURE_THRESHOLD).
const FEATURE_THRESHOLD: f64 = 1e-7;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Criterion {
    Gini,
    Entropy,
}

impl Criterion {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Gini => "gini",
            Self::Entropy => "entropy",
        }
    }

    /// The impurity of `positives` of `n` rows, computed as scikit-learn computes it.
    fn impurity(self, positives: f64, n: f64) -> f64 {
        let negatives = n - positives;
        match self {
            Self::Gini => 1.0 - (positives * positives + negatives * negatives) / (n * n),
            Self::Entropy => {
                let mut entropy = 0.0;
                for count in [negatives, positives] {
                    if count > 0.0 {
                        let share = count / n;
                        entropy -= share * (share.ln() / std::f64::consts::LN_2);
                    }
                }
                entropy
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Growth {
    pub(super) max_depth: usize,
    pub(super) min_samples_leaf: usize,
    pub(super) criterion: Criterion,
}

/// One node; `split` is (feature index from 0, threshold, left child, right child) or `None` for a leaf.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Node {
    pub(super) split: Option<Split>,
    pub(super) samples: usize,
    pub(super) positives: usize,
    pub(super) impurity: f64,
}

/// Grows a tree on `rows` (row-major, `dim` features then the 0/1 label).
pub(super) fn grow(rows: &[f64], dim: usize, growth: Growth) -> Vec<Node> {
    let n = if dim == 0 && rows.is_empty() { 0 } else { rows.len() / (dim + 1) };
    let mut samples: Vec<u32> = (0..n as u32).collect();
    let mut nodes = Vec::new();
    if n > 0 {
        grow_node(rows, dim, growth, &mut samples, 0, &mut nodes);
    }
    nodes
}

fn grow_node(
    rows: &[f64],
    dim: usize,
    growth: Growth,
    samples: &mut [u32],
    depth: usize,
    nodes: &mut Vec<Node>,
) -> usize {
    let label = |s: u32| rows[s as usize * (dim + 1) + dim];
    let n = samples.len();
    let positives = samples.iter().map(|&s| label(s)).sum::<f64>();
    let impurity = growth.criterion.impurity(positives, n as f64);
    let id = nodes.len();
    nodes.push(Node { split: None, samples: n, positives: positives as usize, impurity });
    let leaf = depth >= growth.max_depth || n < 2 || n < 2 * growth.min_samples_leaf || impurity <= f64::EPSILON;
    if leaf {
        return id;
    }
    let Some((feature, threshold)) = best_split(rows, dim, growth, samples) else { return id };
    // rows with x <= threshold first
    let value = |s: u32| rows[s as usize * (dim + 1) + feature];
    samples.sort_unstable_by(|&a, &b| value(a).total_cmp(&value(b)).then(a.cmp(&b)));
    let cut = samples.partition_point(|&s| value(s) <= threshold);
    let (left_samples, right_samples) = samples.split_at_mut(cut);
    let left = grow_node(rows, dim, growth, left_samples, depth + 1, nodes);
    let right = grow_node(rows, dim, growth, right_samples, depth + 1, nodes);
    nodes[id].split = Some((feature, threshold, left, right));
    id
}

/// The best (feature, threshold) of a node, if any split leaves `min_samples_leaf` rows per side.
fn best_split(rows: &[f64], dim: usize, growth: Growth, samples: &[u32]) -> Option<(usize, f64)> {
    let n = samples.len();
    let min_leaf = growth.min_samples_leaf.max(1);
    let total_positives: f64 = samples.iter().map(|&s| rows[s as usize * (dim + 1) + dim]).sum();
    let mut best: Option<(f64, usize, f64)> = None;
    let mut sorted: Vec<(f64, f64)> = Vec::with_capacity(n);
    for feature in 0..dim {
        sorted.clear();
        sorted.extend(samples.iter().map(|&s| {
            let row = &rows[s as usize * (dim + 1)..(s as usize + 1) * (dim + 1)];
            (row[feature], row[dim])
        }));
        sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        if sorted[n - 1].0 <= sorted[0].0 + FEATURE_THRESHOLD {
            continue; // constant here
        }
        let mut left_positives = 0.0;
        let mut p = 0;
        while p < n {
            while p + 1 < n && sorted[p + 1].0 <= sorted[p].0 + FEATURE_THRESHOLD {
                left_positives += sorted[p].1;
                p += 1;
            }
            left_positives += sorted[p].1;
            p += 1;
            if p >= n {
                break;
            }
            let (n_left, n_right) = (p, n - p);
            if n_left < min_leaf || n_right < min_leaf {
                continue;
            }
            let impurity_left = growth.criterion.impurity(left_positives, n_left as f64);
            let impurity_right = growth.criterion.impurity(total_positives - left_positives, n_right as f64);
            let proxy = -(n_right as f64) * impurity_right - (n_left as f64) * impurity_left;
            if best.is_none_or(|(b, _, _)| proxy > b) {
                let (lo, hi) = (sorted[p - 1].0, sorted[p].0);
                let mut threshold = lo / 2.0 + hi / 2.0;
                if threshold == hi || !threshold.is_finite() {
                    threshold = lo;
                }
                best = Some((proxy, feature, threshold));
            }
        }
    }
    best.map(|(_, feature, threshold)| (feature, threshold))
}

/// The fields of a tree node in the model struct.
pub(super) fn node_fields() -> Fields {
    Fields::from(vec![
        Field::new("feature", DataType::Int64, true),
        Field::new("threshold", DataType::Float64, true),
        Field::new("left", DataType::Int64, true),
        Field::new("right", DataType::Int64, true),
        Field::new("samples", DataType::Int64, true),
        Field::new("positives", DataType::Int64, true),
        Field::new("probability", DataType::Float64, true),
        Field::new("impurity", DataType::Float64, true),
    ])
}

/// Checks that `model` is a struct with a `nodes` list; a NULL model is typed as a tree.
pub(super) fn coerce_model(name: &str, model: &DataType) -> Result<DataType> {
    match model {
        DataType::Null => Ok(DataType::Struct(tree_fields())),
        DataType::Struct(fields) if fields.iter().any(|f| f.name() == "nodes") => Ok(model.clone()),
        other => plan_err!("{name}: the model must be a decision_tree_fit result, got {other}"),
    }
}

/// The fields of the model struct decision_tree_fit returns.
pub(super) fn tree_fields() -> Fields {
    Fields::from(vec![
        Field::new("nodes", DataType::new_list(DataType::Struct(node_fields()), true), true),
        Field::new("depth", DataType::Int64, true),
        Field::new("leaves", DataType::Int64, true),
        Field::new("criterion", DataType::Utf8, true),
        Field::new("n", DataType::Int64, true),
    ])
}

/// The trees of `groups` as the model struct column (`None`: a group without rows, NULL).
pub(super) fn tree_array(function: &'static str, trees: &[Option<(Vec<Node>, Criterion)>]) -> Result<ArrayRef> {
    let mut offsets = ListOffsets::new(function);
    let (mut feature, mut threshold, mut left, mut right) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut samples, mut positives, mut probability, mut impurity) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut depth, mut leaves, mut criterion, mut n) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for tree in trees {
        let Some((nodes, c)) = tree else {
            offsets.push(feature.len())?;
            depth.push(None);
            leaves.push(None);
            criterion.push(None);
            n.push(None);
            continue;
        };
        let mut depths = vec![0i64; nodes.len()];
        for (id, node) in nodes.iter().enumerate() {
            let split = node.split;
            if let Some((_, _, l, r)) = split {
                depths[l] = depths[id] + 1;
                depths[r] = depths[id] + 1;
            }
            feature.push(split.map(|s| s.0 as i64 + 1));
            threshold.push(split.map(|s| s.1));
            left.push(split.map(|s| s.2 as i64));
            right.push(split.map(|s| s.3 as i64));
            samples.push(Some(node.samples as i64));
            positives.push(Some(node.positives as i64));
            probability.push(Some(node.positives as f64 / node.samples as f64));
            impurity.push(Some(node.impurity));
        }
        offsets.push(feature.len())?;
        depth.push(depths.iter().max().copied());
        leaves.push(Some(nodes.iter().filter(|x| x.split.is_none()).count() as i64));
        criterion.push(Some(c.name()));
        n.push(nodes.first().map(|root| root.samples as i64));
    }
    let node_columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(feature)),
        Arc::new(Float64Array::from(threshold)),
        Arc::new(Int64Array::from(left)),
        Arc::new(Int64Array::from(right)),
        Arc::new(Int64Array::from(samples)),
        Arc::new(Int64Array::from(positives)),
        Arc::new(Float64Array::from(probability)),
        Arc::new(Float64Array::from(impurity)),
    ];
    let nodes = ListArray::try_new(
        Arc::new(Field::new_list_field(DataType::Struct(node_fields()), true)),
        offsets.finish(),
        Arc::new(StructArray::try_new(node_fields(), node_columns, None)?),
        None,
    )?;
    let nulls = arrow::buffer::NullBuffer::from(depth.iter().map(Option::is_some).collect::<Vec<_>>());
    Ok(Arc::new(StructArray::try_new(
        tree_fields(),
        vec![
            Arc::new(nodes),
            Arc::new(Int64Array::from(depth)),
            Arc::new(Int64Array::from(leaves)),
            Arc::new(StringArray::from(criterion)),
            Arc::new(Int64Array::from(n)),
        ],
        (nulls.null_count() > 0).then_some(nulls),
    )?))
}

/// A tree read back from a model struct (for prediction and rules).
#[derive(Debug)]
pub(super) struct Tree {
    pub(super) nodes: Vec<Node>,
}

impl Tree {
    /// Reads row `row` of a model column (a decision_tree_fit struct); `function` names errors.
    pub(super) fn of(models: &ArrayRef, row: usize, function: &str) -> Result<Self> {
        let Some(structs) = models.as_struct_opt() else {
            return exec_err!("{function}: the model must be a decision_tree_fit struct");
        };
        let Some(nodes) = structs.column_by_name("nodes") else {
            return exec_err!("{function}: the model has no field 'nodes'");
        };
        let nodes = NodeColumns::new(&nodes.as_list::<i32>().value(row), function)?;
        let (samples, positives) = (nodes.int("samples", function)?, nodes.int("positives", function)?);
        let mut out = Vec::with_capacity(nodes.len());
        for i in 0..nodes.len() {
            let split = nodes.split(i, function)?;
            let (s, p) =
                (samples.is_valid(i).then(|| samples.value(i)), positives.is_valid(i).then(|| positives.value(i)));
            let (Some(s), Some(p)) = (s, p) else {
                return exec_err!("{function}: node {i} of the model has no counts");
            };
            if s < 1 || p < 0 || p > s {
                return exec_err!("{function}: node {i} of the model has {p} positives of {s} samples");
            }
            out.push(Node { split, samples: s as usize, positives: p as usize, impurity: f64::NAN });
        }
        if out.is_empty() {
            return exec_err!("{function}: the model has no nodes");
        }
        Ok(Self { nodes: out })
    }

    /// The leaf `features` fall in, or `None` when a feature the path needs is missing or NaN.
    pub(super) fn leaf(&self, features: &[f64]) -> Option<&Node> {
        let mut at = 0;
        loop {
            let node = &self.nodes[at];
            match node.split {
                None => return Some(node),
                Some((f, threshold, left, right)) => {
                    let x = *features.get(f)?;
                    if x.is_nan() {
                        return None;
                    }
                    at = if x <= threshold { left } else { right };
                }
            }
        }
    }

    /// How many features the splits use (the largest feature index + 1).
    pub(super) fn features_used(&self) -> usize {
        self.nodes.iter().filter_map(|n| n.split.map(|s| s.0 + 1)).max().unwrap_or(0)
    }
}

/// decision_tree_predict: the share of label 1 in the row's leaf.
impl RowScorer for Tree {
    fn of(models: &ArrayRef, row: usize, function: &str) -> Result<Self> {
        Tree::of(models, row, function)
    }

    fn features_used(&self) -> usize {
        Tree::features_used(self)
    }

    fn score(&self, x: &[f64]) -> Option<f64> {
        self.leaf(x).map(|leaf| leaf.positives as f64 / leaf.samples as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_separates_the_labels_at_the_midpoint() {
        // x = 1, 2, 3, 10, 11, 12 with labels 0, 0, 0, 1, 1, 1: one split at 6.5, two pure leaves
        let rows = [1.0, 0.0, 2.0, 0.0, 3.0, 0.0, 10.0, 1.0, 11.0, 1.0, 12.0, 1.0];
        let growth = Growth { max_depth: 3, min_samples_leaf: 1, criterion: Criterion::Gini };
        let nodes = grow(&rows, 1, growth);
        assert_eq!(nodes.len(), 3);
        assert_eq!(nodes[0].split, Some((0, 6.5, 1, 2)));
        assert_eq!((nodes[1].samples, nodes[1].positives), (3, 0));
        assert_eq!((nodes[2].samples, nodes[2].positives), (3, 3));
        assert!((nodes[0].impurity - 0.5).abs() < 1e-15);
        // min_samples_leaf 4 leaves no valid split of six rows
        let nodes = grow(&rows, 1, Growth { min_samples_leaf: 4, ..growth });
        assert_eq!(nodes.len(), 1);
    }
}
