//! Item-item similarity from (user, item) rows: the group state both `item_similarity` and
//! `item_similarity_weighted` keep, and the sparse co-occurrence count they evaluate with.
//!
//! Evaluation makes two compressed indexes of the group's distinct (user, item) cells — items by
//! user and users by item — and then, item by item, adds up the co-occurrences of item `a` with
//! every other item in one scratch row (the items of each user holding `a`): time Σ_u k_u² for
//! k_u items of user u, memory the two indexes plus one row of counters; no pair table is ever
//! held. Only pairs with at least `min_co_users` common users are emitted, at most
//! [`MAX_PAIRS`] of them.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int64Array, ListArray, StringArray, StructArray};
use arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::AccumulatorArgs;

use crate::common::item_pairs::{self, HasItemPairs, ItemPairs};
use crate::common::{literal_arg, ListOffsets, LiteralArg};
use crate::group_state::GroupState;

/// At most this many (ordered) pairs per group; more means `min_co_users` is too low for the data.
pub(super) const MAX_PAIRS: usize = 20_000_000;

/// The hash seed of user ids.
const SEED: u64 = 0x5245_434f;

/// How two items' user sets are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Measure {
    /// c / sqrt(n_a · n_b); weighted: Σ w_a w_b / sqrt(Σ w_a² · Σ w_b²).
    Cosine,
    /// c / (n_a + n_b − c).
    Jaccard,
    /// c · N / (n_a · n_b).
    Lift,
    /// c / n_a, the probability of b among the users of a.
    Conditional,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Params {
    pub(super) name: &'static str,
    pub(super) measure: Measure,
    pub(super) min_co_users: u32,
    pub(super) weighted: bool,
}

impl Params {
    /// Reads the literals of `(user, item, measure, min_co_users)` or, `weighted`,
    /// `(user, item, weight, min_co_users)`.
    pub(super) fn from_args(name: &'static str, args: &AccumulatorArgs, weighted: bool) -> Result<Self> {
        let measure = match if weighted { LiteralArg::Absent } else { literal_arg(args.exprs, 2) } {
            LiteralArg::Absent => Measure::Cosine,
            LiteralArg::Value(ScalarValue::Utf8(Some(m))) => match m.to_ascii_lowercase().as_str() {
                "cosine" => Measure::Cosine,
                "jaccard" => Measure::Jaccard,
                "lift" => Measure::Lift,
                "conditional" => Measure::Conditional,
                other => {
                    return plan_err!(
                        "{name}: measure must be 'cosine', 'jaccard', 'lift' or 'conditional', got '{other}'"
                    )
                }
            },
            LiteralArg::Value(other) => return plan_err!("{name}: measure must be a string, got {other}"),
            LiteralArg::NotLiteral => return plan_err!("{name}: measure must be a literal"),
        };
        let min_co_users = match literal_arg(args.exprs, 3) {
            LiteralArg::Absent => 1,
            LiteralArg::Value(ScalarValue::Int64(Some(n))) if *n >= 1 => u32::try_from(*n).unwrap_or(u32::MAX),
            LiteralArg::Value(other) => return plan_err!("{name}: min_co_users must be at least 1, got {other}"),
            LiteralArg::NotLiteral => return plan_err!("{name}: min_co_users must be a literal"),
        };
        Ok(Self { name, measure, min_co_users, weighted })
    }
}

/// The fields of one similarity entry.
pub(super) fn pair_fields() -> Fields {
    Fields::from(vec![
        Field::new("item_a", DataType::Utf8, true),
        Field::new("item_b", DataType::Utf8, true),
        Field::new("co_users", DataType::Int64, true),
        Field::new("score", DataType::Float64, true),
    ])
}

pub(super) fn pairs_type() -> DataType {
    DataType::new_list(DataType::Struct(pair_fields()), true)
}

/// The (user, item [, weight]) rows of one group.
#[derive(Debug, Default)]
pub(super) struct Users(ItemPairs);

impl HasItemPairs for Users {
    fn pairs(&self) -> &ItemPairs {
        &self.0
    }

    fn pairs_mut(&mut self) -> &mut ItemPairs {
        &mut self.0
    }
}

impl GroupState for Users {
    type Params = Params;

    fn update(
        params: &Params,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let weights = if params.weighted {
            let Some(w) = values.get(2).and_then(|w| w.as_any().downcast_ref::<Float64Array>()) else {
                return exec_err!("{}: weights must be Float64", params.name);
            };
            Some(w)
        } else {
            None
        };
        // NaN weights are NULL (ignored); an infinite weight has no cosine
        let keep = |w: f64| {
            if w.is_infinite() {
                return exec_err!("{}: weights must be finite, got {w}", params.name);
            }
            Ok(!w.is_nan())
        };
        item_pairs::update(values, weights, SEED, groups, group_of, keep)
    }

    fn state(params: &Params, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        item_pairs::state(params.name, groups, params.weighted)
    }

    fn merge(
        params: &Params,
        groups: &mut [Self],
        states: &[ArrayRef],
        group_of: impl Fn(usize) -> usize,
    ) -> Result<()> {
        item_pairs::merge(params.name, states, groups, group_of)
    }

    fn evaluate(params: &Params, groups: &mut [Self]) -> Result<ArrayRef> {
        let mut out = Output::new(params.name);
        for group in groups.iter() {
            similarities(params, &group.0, &mut out)?;
            out.close_group()?;
        }
        out.finish()
    }

    fn size(&self) -> usize {
        self.0.size()
    }
}

/// The group's distinct (user, item) cells as compressed rows: `items[from[u]..from[u + 1]]`
/// are the items of user u (ascending), `weights` their summed weights (empty unweighted).
pub(super) struct ByUser {
    pub(super) from: Vec<usize>,
    pub(super) items: Vec<u32>,
    pub(super) weights: Vec<f64>,
}

pub(super) fn by_user(pairs: &ItemPairs) -> ByUser {
    let weighted = !pairs.weights.is_empty();
    // (user, item, row) sorted in place: a contiguous sort, no lookups through an index
    let mut cells: Vec<(u64, u32, u32)> =
        pairs.keys.iter().zip(&pairs.items).enumerate().map(|(r, (&key, &item))| (key, item, r as u32)).collect();
    sort_on_every_core(&mut cells);
    let mut from = vec![0];
    let mut items = Vec::new();
    let mut weights = Vec::new();
    let mut last: Option<(u64, u32)> = None;
    for &(key, item, r) in &cells {
        let weight = if weighted { pairs.weights[r as usize] } else { 0.0 };
        match last {
            Some((k, i)) if k == key && i == item => {
                if let Some(w) = weights.last_mut() {
                    *w += weight;
                }
                continue;
            }
            Some((k, _)) if k != key => from.push(items.len()),
            _ => {}
        }
        items.push(item);
        if weighted {
            weights.push(weight);
        }
        last = Some((key, item));
    }
    if !items.is_empty() {
        from.push(items.len());
    }
    ByUser { from, items, weights }
}

/// Sorts on up to two threads: each half in place, then one merge of the two runs (the standard
/// stable sort finds and merges them in linear time).
fn sort_on_every_core<T: Ord + Send>(values: &mut [T]) {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if threads < 2 || values.len() < 1 << 16 {
        values.sort_unstable();
        return;
    }
    let (left, right) = values.split_at_mut(values.len() / 2);
    std::thread::scope(|scope| {
        scope.spawn(|| left.sort_unstable());
        right.sort_unstable();
    });
    values.sort();
}

/// Appends the ordered pairs (a, b), a ≠ b, of one group to `out`: by item_a's name, then score
/// descending, then item_b's name.
fn similarities<'a>(params: &Params, pairs: &'a ItemPairs, out: &mut Output<'a>) -> Result<()> {
    let users = by_user(pairs);
    let n_users = users.from.len().saturating_sub(1);
    let n_items = pairs.names.len();
    // users by item, with the user's weight of the item
    let mut degree = vec![0u32; n_items];
    for &item in &users.items {
        degree[item as usize] += 1;
    }
    let mut item_from = Vec::with_capacity(n_items + 1);
    item_from.push(0usize);
    for &d in &degree {
        item_from.push(item_from.last().copied().unwrap_or(0) + d as usize);
    }
    let mut next = item_from.clone();
    let mut item_users = vec![(0u32, 0.0f64); users.items.len()];
    let mut norm = vec![0.0f64; n_items];
    for u in 0..n_users {
        for cell in users.from[u]..users.from[u + 1] {
            let item = users.items[cell] as usize;
            let w = users.weights.get(cell).copied().unwrap_or(1.0);
            item_users[next[item]] = (u as u32, w);
            next[item] += 1;
            norm[item] += w * w;
        }
    }
    let mut by_name: Vec<u32> = (0..n_items as u32).collect();
    by_name.sort_unstable_by(|&a, &b| pairs.name(a).cmp(pairs.name(b)));
    let index =
        Index { users: &users, item_from: &item_from, item_users: &item_users, degree: &degree, norm: &norm, n_users };
    // the items are independent: contiguous runs of them on every core, joined in name order
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(by_name.len().max(1));
    let chunk = by_name.len().div_ceil(threads).max(1);
    let rows: Vec<Vec<Pair>> = std::thread::scope(|scope| {
        let handles: Vec<_> = by_name
            .chunks(chunk)
            .map(|items| {
                let index = &index;
                scope.spawn(move || index.neighbours(params, pairs, items))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    for (a, b, c, score) in rows.into_iter().flatten() {
        out.push(pairs.name(a), pairs.name(b), c, score)?;
    }
    Ok(())
}

/// One emitted pair: (item_a, item_b, co_users, score).
type Pair = (u32, u32, u32, Option<f64>);

/// A group's cells by user and by item.
struct Index<'a> {
    users: &'a ByUser,
    item_from: &'a [usize],
    /// (user, the user's weight of the item), by item.
    item_users: &'a [(u32, f64)],
    /// Users per item.
    degree: &'a [u32],
    /// Σ w² per item.
    norm: &'a [f64],
    n_users: usize,
}

impl Index<'_> {
    /// The ordered pairs (a, b, co_users, score) of the items `of` (in that order), each a's
    /// neighbours by score descending, then name.
    fn neighbours(&self, params: &Params, pairs: &ItemPairs, of: &[u32]) -> Vec<Pair> {
        let (users, n_items) = (self.users, self.degree.len());
        let mut count = vec![0u32; n_items];
        let mut dot = vec![0.0f64; if params.weighted { n_items } else { 0 }];
        let mut touched: Vec<u32> = Vec::new();
        let mut out = Vec::new();
        for &a in of {
            let a_us = a as usize;
            for &(u, w_ua) in &self.item_users[self.item_from[a_us]..self.item_from[a_us + 1]] {
                let u = u as usize;
                for cell in users.from[u]..users.from[u + 1] {
                    let b = users.items[cell];
                    if b == a {
                        continue;
                    }
                    let b_us = b as usize;
                    if count[b_us] == 0 {
                        touched.push(b);
                    }
                    count[b_us] += 1;
                    if params.weighted {
                        dot[b_us] += w_ua * users.weights[cell];
                    }
                }
            }
            let start = out.len();
            for &b in &touched {
                let b_us = b as usize;
                let c = count[b_us];
                if c >= params.min_co_users {
                    let (c_f, n_a, n_b) = (f64::from(c), f64::from(self.degree[a_us]), f64::from(self.degree[b_us]));
                    let score = match (params.weighted, params.measure) {
                        (true, _) => dot[b_us] / (self.norm[a_us] * self.norm[b_us]).sqrt(),
                        (false, Measure::Cosine) => c_f / (n_a * n_b).sqrt(),
                        (false, Measure::Jaccard) => c_f / (n_a + n_b - c_f),
                        (false, Measure::Lift) => c_f * self.n_users as f64 / (n_a * n_b),
                        (false, Measure::Conditional) => c_f / n_a,
                    };
                    out.push((a, b, c, score.is_finite().then_some(score)));
                }
                count[b_us] = 0;
                if params.weighted {
                    dot[b_us] = 0.0;
                }
            }
            touched.clear();
            out[start..].sort_unstable_by(|x, y| {
                y.3.unwrap_or(f64::NEG_INFINITY)
                    .total_cmp(&x.3.unwrap_or(f64::NEG_INFINITY))
                    .then_with(|| pairs.name(x.1).cmp(pairs.name(y.1)))
            });
        }
        out
    }
}

/// The result column under construction: one list of pairs per group.
struct Output<'a> {
    function: &'static str,
    offsets: ListOffsets,
    /// Where the current group's pairs start.
    group_start: usize,
    item_a: Vec<&'a str>,
    item_b: Vec<&'a str>,
    co_users: Vec<i64>,
    scores: Vec<Option<f64>>,
}

impl<'a> Output<'a> {
    fn new(function: &'static str) -> Self {
        Self {
            function,
            offsets: ListOffsets::new(function),
            group_start: 0,
            item_a: Vec::new(),
            item_b: Vec::new(),
            co_users: Vec::new(),
            scores: Vec::new(),
        }
    }

    fn push(&mut self, a: &'a str, b: &'a str, co_users: u32, score: Option<f64>) -> Result<()> {
        if self.item_a.len() - self.group_start >= MAX_PAIRS {
            return exec_err!(
                "{}: more than {MAX_PAIRS} item pairs; raise min_co_users or group more finely",
                self.function
            );
        }
        self.item_a.push(a);
        self.item_b.push(b);
        self.co_users.push(i64::from(co_users));
        self.scores.push(score);
        Ok(())
    }

    fn close_group(&mut self) -> Result<()> {
        self.group_start = self.item_a.len();
        self.offsets.push(self.item_a.len())
    }

    fn finish(self) -> Result<ArrayRef> {
        let entries = StructArray::new(
            pair_fields(),
            vec![
                Arc::new(StringArray::from(self.item_a)),
                Arc::new(StringArray::from(self.item_b)),
                Arc::new(Int64Array::from(self.co_users)),
                Arc::new(Float64Array::from(self.scores)),
            ],
            None,
        );
        Ok(Arc::new(ListArray::new(
            Arc::new(Field::new_list_field(DataType::Struct(pair_fields()), true)),
            self.offsets.finish(),
            Arc::new(entries),
            None,
        )))
    }
}
