//! `frequent_itemsets(basket_id, item, min_support [, max_len])`: FP-growth per group.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, ListArray, StringArray, StructArray};
use arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::fpgrowth::{counts_every_pair, fp_growth, EveryPair};
use crate::common::item_pairs::{self, HasItemPairs, ItemPairs};
use crate::common::{literal_arg, ListOffsets, LiteralArg};
use crate::group_state::{GroupState, GroupsOf};

/// At most this many itemsets per group; more means min_support is too low for the data.
pub(crate) const MAX_ITEMSETS: usize = 5_000_000;

#[user_doc(
    doc_section(label = "Basket Functions"),
    description = "Frequent itemsets of the baskets of a group, mined with FP-growth from long-format rows (one row per basket and item). \
Returns a list of structs {items (sorted), count (baskets holding every item), support = count / N}, where N is the number of distinct baskets of the group with at least one non-NULL item, \
ordered by number of items, then items. \
An itemset is frequent when count / N >= min_support in floating point, as in mlxtend's fpgrowth. \
Duplicate items inside a basket count once; rows with a NULL basket id or NULL item are ignored. \
Items are compared as strings (integers are converted to their decimal text; other types are cast to text as SQL CAST does); integer basket ids are compared exactly, basket ids of other types by a 64-bit hash \
(two different ids collide with probability about 2^-64 per pair). min_support must be a literal in (0, 1]; max_len (literal >= 1) limits the itemset size. \
The group's (basket, item) pairs are kept in memory (about 12 bytes each plus the distinct item names); more than 5,000,000 itemsets is an error. \
Get rows with `SELECT unnest(frequent_itemsets(...))` and the fields with `s['items']`, `s['support']`; association_rules derives rules from the list. An empty group gives an empty list.",
    syntax_example = "frequent_itemsets(basket_id, item, min_support [, max_len])",
    sql_example = r#"```sql
> SELECT unnest(frequent_itemsets(basket, item, 0.5)) AS s
  FROM (VALUES (1, 'milk'), (1, 'bread'), (2, 'milk'), (2, 'bread'), (3, 'milk'), (4, 'eggs')) t(basket, item);
+------------------------------------------------+
| s                                              |
+------------------------------------------------+
| {items: [bread], count: 2, support: 0.5}       |
| {items: [milk], count: 3, support: 0.75}       |
| {items: [bread, milk], count: 2, support: 0.5} |
+------------------------------------------------+
```"#,
    argument(name = "basket_id", description = "Basket (order, invoice) identifier of any type."),
    argument(name = "item", description = "Item: a string or an integer."),
    argument(name = "min_support", description = "Minimum support, a literal in (0, 1]."),
    argument(name = "max_len", description = "Optional maximum number of items per itemset, a literal >= 1.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FrequentItemsets {
    signature: Signature,
}

impl Default for FrequentItemsets {
    fn default() -> Self {
        Self::new()
    }
}

impl FrequentItemsets {
    #[must_use]
    pub fn new() -> Self {
        // UserDefined coerces; the Exact variants document the argument types for SHOW FUNCTIONS
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::Int64, DataType::Utf8, DataType::Float64]),
                    TypeSignature::Exact(vec![DataType::Int64, DataType::Utf8, DataType::Float64, DataType::Int64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

pub(crate) fn itemset_fields() -> Fields {
    Fields::from(vec![
        Field::new("items", DataType::new_list(DataType::Utf8, true), true),
        Field::new("count", DataType::Int64, true),
        Field::new("support", DataType::Float64, true),
    ])
}

pub(crate) fn itemsets_type() -> DataType {
    DataType::new_list(DataType::Struct(itemset_fields()), true)
}

impl AggregateUDFImpl for FrequentItemsets {
    fn name(&self) -> &'static str {
        "frequent_itemsets"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(3..=4).contains(&arg_types.len()) {
            return plan_err!(
                "frequent_itemsets takes 3 or 4 arguments (basket_id, item, min_support [, max_len]), got {}",
                arg_types.len()
            );
        }
        if !arg_types[2].is_numeric() {
            return plan_err!("frequent_itemsets: min_support must be a number, got {}", arg_types[2]);
        }
        let item_type = item_pairs::coerce_item("frequent_itemsets", &arg_types[1])?;
        let mut coerced = vec![arg_types[0].clone(), item_type, DataType::Float64];
        if let Some(max_len) = arg_types.get(3) {
            if !max_len.is_integer() {
                return plan_err!("frequent_itemsets: max_len must be an integer, got {max_len}");
            }
            coerced.push(DataType::Int64);
        }
        Ok(coerced)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(itemsets_type())
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(item_pairs::state_fields(args.name, false))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GroupsOf::<Pairs>::new(Params::from_args(&args)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<Pairs>::new(Params::from_args(&args)?)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[derive(Debug, Clone, Copy)]
struct Params {
    min_support: f64,
    max_len: usize,
}

impl Params {
    fn from_args(args: &AccumulatorArgs) -> Result<Self> {
        let min_support = match literal_arg(args.exprs, 2) {
            LiteralArg::Value(ScalarValue::Float64(Some(s))) if *s > 0.0 && *s <= 1.0 => *s,
            LiteralArg::Value(other) => {
                return plan_err!("frequent_itemsets: min_support must be in (0, 1], got {other}")
            }
            _ => return plan_err!("frequent_itemsets: min_support must be a literal"),
        };
        let max_len = match literal_arg(args.exprs, 3) {
            LiteralArg::Absent => usize::MAX,
            LiteralArg::Value(ScalarValue::Int64(Some(n))) if *n >= 1 => *n as usize,
            LiteralArg::Value(other) => return plan_err!("frequent_itemsets: max_len must be at least 1, got {other}"),
            LiteralArg::NotLiteral => return plan_err!("frequent_itemsets: max_len must be a literal"),
        };
        Ok(Self { min_support, max_len })
    }
}

/// An itemset's item names and its basket count.
type NamedItemset<'a> = (Vec<&'a str>, u64);

/// The (basket, item) pairs of one group.
#[derive(Debug, Default)]
struct Pairs(ItemPairs);

impl HasItemPairs for Pairs {
    fn pairs(&self) -> &ItemPairs {
        &self.0
    }

    fn pairs_mut(&mut self) -> &mut ItemPairs {
        &mut self.0
    }
}

impl Pairs {
    /// The baskets' items (ascending and distinct within a basket) and where each basket ends
    /// in them, in the order [`Pairs::each_basket`] visits them.
    fn transactions(&self) -> (Vec<u32>, Vec<usize>) {
        let mut items = Vec::with_capacity(self.0.items.len());
        let mut ends = Vec::new();
        self.each_basket(|basket| {
            items.extend_from_slice(basket);
            ends.push(items.len());
        });
        (items, ends)
    }

    /// Calls `visit` with each basket's items, ascending and distinct. A basket's rows usually
    /// arrive together: the rows are cut into runs of one basket. Integer basket ids are
    /// numbered in their order ([`item_pairs::update_ordered`]), so a table written in basket
    /// order gives runs in a few ascending stretches (one per partition that read it): the
    /// stretches are merged by key, a basket found in several stretches joining their runs, in
    /// key order. Otherwise (hashed or unordered ids) see [`Pairs::each_basket_by_sort`].
    fn each_basket(&self, visit: impl FnMut(&[u32])) {
        match stretches(&self.0.keys) {
            Some(stretches) => self.each_merged_basket(&stretches, visit),
            None => self.each_basket_by_sort(&runs_of(&self.0.keys), visit),
        }
    }

    /// [`Pairs::each_basket`] over the rows of `stretches`, each of ascending keys: the runs of
    /// one key merged across the stretches, smallest key first, into one basket.
    fn each_merged_basket(&self, stretches: &[Range<usize>], visit: impl FnMut(&[u32])) {
        let keys = &self.0.keys;
        let items = &self.0.items;
        // the end of the run of rows with the key of `row`, at most `end`
        let run_end = |row: usize, end: usize| {
            let key = keys[row];
            row + 1 + keys[row + 1..end].iter().take_while(|&&k| k == key).count()
        };
        let mut basket = Basket::new(visit);
        let stretches: Vec<&Range<usize>> = stretches.iter().filter(|s| !s.is_empty()).collect();
        if let [only] = stretches[..] {
            // one ascending stretch: every run is a basket
            let mut row = only.start;
            while row < only.end {
                let end = run_end(row, only.end);
                basket.push(&[&items[row..end]]);
                row = end;
            }
            return;
        }
        // each stretch's next row, smallest key first
        let mut next: Vec<usize> = stretches.iter().map(|s| s.start).collect();
        let mut heads: BinaryHeap<Reverse<(u64, usize)>> =
            stretches.iter().enumerate().map(|(stretch, s)| Reverse((keys[s.start], stretch))).collect();
        let mut parts: Vec<&[u32]> = Vec::new();
        while let Some(&Reverse((key, _))) = heads.peek() {
            parts.clear();
            while let Some(&Reverse((other, stretch))) = heads.peek() {
                if other != key {
                    break;
                }
                heads.pop();
                let (row, end) = (next[stretch], stretches[stretch].end);
                let run = run_end(row, end);
                parts.push(&items[row..run]);
                next[stretch] = run;
                if run < end {
                    heads.push(Reverse((keys[run], stretch)));
                }
            }
            basket.push(&parts);
        }
    }

    /// Every item and pair of the baskets counted ([`EveryPair`], a small catalogue) and the
    /// number of baskets. Rows in a few ascending stretches (an ordered table) are split by key
    /// among the cores, each counting the baskets of its key range — a basket's rows share
    /// their key, so none is split — and the counts added.
    fn count_every_pair(&self, max_len: usize) -> (EveryPair, u64) {
        let n_items = self.0.names.len();
        let keys = &self.0.keys;
        let count = |stretches: Option<&[Range<usize>]>| {
            let mut counter = EveryPair::new(n_items, max_len);
            let mut n = 0u64;
            let visit = |basket: &[u32]| {
                counter.add(basket);
                n += 1;
            };
            match stretches {
                Some(stretches) => self.each_merged_basket(stretches, visit),
                None => self.each_basket_by_sort(&runs_of(keys), visit),
            }
            (counter, n)
        };
        let Some(stretches) = stretches(keys) else {
            return count(None);
        };
        let threads = std::thread::available_parallelism().map_or(1, usize::from).min(keys.len() / PARALLEL_ROWS);
        if threads < 2 {
            return count(Some(&stretches));
        }
        let parts = split_by_key(keys, &stretches, threads);
        let count_part = |part: &Vec<Range<usize>>| count(Some(part));
        let (first, rest) = parts.split_first().unwrap_or((&stretches, &[]));
        std::thread::scope(|scope| {
            let others: Vec<_> = rest.iter().map(|part| scope.spawn(|| count_part(part))).collect();
            let (mut counter, mut n) = count_part(first);
            for other in others {
                let (more, more_n) = other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                counter.merge(&more);
                n += more_n;
            }
            (counter, n)
        })
    }

    /// [`Pairs::each_basket`] for runs in more than [`MAX_STRETCHES`] ascending stretches, in
    /// the order of each basket's first row: only the (key, run) pairs are sorted — bucketed by
    /// the key's mixed top bits, each bucket sorted while it fits in cache — to find the baskets
    /// split over several runs. The items are then read in row order (a random gather of
    /// millions of short runs was bound by cache misses), a split basket's runs joining its first.
    fn each_basket_by_sort(&self, runs: &Runs, visit: impl FnMut(&[u32])) {
        let by_key = sort_by_buckets(runs.starts.iter().enumerate().map(|(i, run)| (run.0, i)).collect());
        // a split basket's first run (the smallest run index of its key) holds where its runs
        // start in `by_key`; its later runs are skipped where they stand
        const SINGLE: usize = usize::MAX;
        const LATER: usize = usize::MAX - 1;
        let mut first_of = vec![SINGLE; runs.len()];
        let mut at = 0;
        for group in by_key.chunk_by(|a, b| a.0 == b.0) {
            if let [(_, first), later @ ..] = group {
                if !later.is_empty() {
                    first_of[*first] = at;
                    later.iter().for_each(|&(_, run)| first_of[run] = LATER);
                }
            }
            at += group.len();
        }
        let mut basket = Basket::new(visit);
        let mut parts: Vec<&[u32]> = Vec::new();
        for (run, &first) in first_of.iter().enumerate() {
            parts.clear();
            match first {
                LATER => continue,
                SINGLE => parts.push(&self.0.items[runs.rows(run)]),
                at => {
                    let key = by_key[at].0;
                    for &(_, run) in by_key[at..].iter().take_while(|p| p.0 == key) {
                        parts.push(&self.0.items[runs.rows(run)]);
                    }
                }
            }
            basket.push(&parts);
        }
    }

    /// Mines the group: (itemsets as (names, count), number of baskets).
    fn mine(&self, params: Params) -> Result<(Vec<NamedItemset<'_>>, u64)> {
        let n_items = self.0.names.len();
        let (itemsets, n) = if counts_every_pair(n_items, params.max_len) {
            // a small catalogue: every item and pair counted as the baskets are laid out, none
            // stored (the same itemsets as fp_growth's one-pass path)
            let (counter, n) = self.count_every_pair(params.max_len);
            let Some(min_count) = min_count(params.min_support, n) else {
                return Ok((Vec::new(), 0));
            };
            (counter.itemsets(min_count, MAX_ITEMSETS), n)
        } else {
            let (items, ends) = self.transactions();
            let transactions = ends.iter().scan(0, |start, &end| Some(&items[std::mem::replace(start, end)..end]));
            let n = ends.len() as u64;
            let Some(min_count) = min_count(params.min_support, n) else {
                return Ok((Vec::new(), 0));
            };
            (fp_growth(transactions, n_items, min_count, params.max_len, MAX_ITEMSETS), n)
        };
        let itemsets = itemsets.or_else(|count| {
            exec_err!("frequent_itemsets: more than {count} itemsets; raise min_support or set max_len")
        })?;
        let mut named: Vec<NamedItemset<'_>> = itemsets
            .into_iter()
            .map(|s| {
                let mut names: Vec<&str> = s.items.iter().map(|&i| self.0.name(i)).collect();
                names.sort_unstable();
                (names, s.count)
            })
            .collect();
        named.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(&b.0)));
        Ok((named, n))
    }
}

/// The smallest count c with c / n >= `min_support` in floating point, as mlxtend filters; `None`
/// when there are no baskets.
fn min_count(min_support: f64, n: u64) -> Option<u64> {
    if n == 0 {
        return None;
    }
    let mut min_count = ((min_support * n as f64).ceil() as u64).saturating_sub(1).max(1);
    while (min_count as f64) / (n as f64) < min_support {
        min_count += 1;
    }
    Some(min_count)
}

/// The ascending stretches of `keys` (ranges of rows whose keys do not descend), or `None` when
/// there are more than [`MAX_STRETCHES`].
fn stretches(keys: &[u64]) -> Option<Vec<Range<usize>>> {
    let mut stretches = Vec::new();
    let mut start = 0;
    for (i, pair) in keys.windows(2).enumerate() {
        if pair[1] < pair[0] {
            if stretches.len() + 1 == MAX_STRETCHES {
                return None;
            }
            stretches.push(start..i + 1);
            start = i + 1;
        }
    }
    stretches.push(start..keys.len());
    Some(stretches)
}

/// At least this many rows per thread before [`Pairs::count_every_pair`] splits the work.
const PARALLEL_ROWS: usize = 1 << 17;

/// `stretches` cut into `parts` key ranges of about equal rows: the cut keys are quantiles of 64
/// keys sampled from each stretch (weighted by its length); part `t` holds, of every stretch,
/// the rows with keys from cut `t − 1` (inclusive) to cut `t` (exclusive).
fn split_by_key(keys: &[u64], stretches: &[Range<usize>], parts: usize) -> Vec<Vec<Range<usize>>> {
    const SAMPLES: usize = 64;
    let parts = parts.max(1);
    let mut samples: Vec<(u64, usize)> = Vec::new();
    for stretch in stretches.iter().filter(|s| !s.is_empty()) {
        let len = stretch.len();
        let count = SAMPLES.min(len);
        samples.extend((0..count).map(|j| (keys[stretch.start + len * j / count], len / count)));
    }
    samples.sort_unstable();
    let total: usize = samples.iter().map(|s| s.1).sum();
    let mut cuts: Vec<u64> = Vec::with_capacity(parts - 1);
    let mut seen = 0;
    for &(key, weight) in &samples {
        seen += weight;
        while cuts.len() + 1 < parts && seen * parts >= total * (cuts.len() + 1) {
            cuts.push(key);
        }
    }
    cuts.resize(parts - 1, u64::MAX); // short only when there is no row to sample
    let below = |stretch: &Range<usize>, key: u64| stretch.start + keys[stretch.clone()].partition_point(|&k| k < key);
    (0..parts)
        .map(|t| {
            stretches
                .iter()
                .map(|s| {
                    let from = if t == 0 { s.start } else { below(s, cuts[t - 1]) };
                    let to = if t + 1 == parts { s.end } else { below(s, cuts[t]) };
                    from..to.max(from)
                })
                .collect()
        })
        .collect()
}

/// Most ascending stretches of runs [`Pairs::each_basket`] merges; more are sorted.
const MAX_STRETCHES: usize = 64;

/// The runs of equal adjacent keys of a group's rows.
struct Runs {
    /// Each run's key and first row.
    starts: Vec<(u64, usize)>,
    /// The number of rows: where the last run ends.
    rows: usize,
}

impl Runs {
    fn len(&self) -> usize {
        self.starts.len()
    }

    /// The rows of run `run`.
    fn rows(&self, run: usize) -> std::ops::Range<usize> {
        let end = self.starts.get(run + 1).map_or(self.rows, |next| next.1);
        self.starts[run].1..end
    }
}

fn runs_of(keys: &[u64]) -> Runs {
    let mut starts: Vec<(u64, usize)> = Vec::new();
    for (row, &key) in keys.iter().enumerate() {
        if starts.last().is_none_or(|last| last.0 != key) {
            starts.push((key, row));
        }
    }
    Runs { starts, rows: keys.len() }
}

/// Lays out one basket at a time — its runs' items copied into a reused buffer, sorted and made
/// distinct — and hands it to a visitor.
struct Basket<F> {
    items: Vec<u32>,
    visit: F,
}

impl<F: FnMut(&[u32])> Basket<F> {
    fn new(visit: F) -> Self {
        Self { items: Vec::new(), visit }
    }

    /// Visits the basket whose rows' items are `parts`.
    fn push(&mut self, parts: &[&[u32]]) {
        self.items.clear();
        for part in parts {
            self.items.extend_from_slice(part);
        }
        if self.items.len() <= 16 {
            insertion_sort(&mut self.items);
        } else {
            self.items.sort_unstable();
        }
        let distinct = dedup_sorted(&mut self.items);
        (self.visit)(&self.items[..distinct]);
    }
}

/// `runs` with equal keys together, in run order: spread into 4,096 buckets by the top 12 bits
/// of the key times an odd constant (hashed keys are spread already, integer ids are not), each
/// bucket sorted on its own (at millions of runs one sort of the whole is bound by cache
/// misses). Within a bucket the order is (key, run); the buckets are not in key order.
fn sort_by_buckets(runs: Vec<(u64, usize)>) -> Vec<(u64, usize)> {
    const BITS: u32 = 12;
    if runs.len() < 1 << 16 {
        let mut runs = runs;
        runs.sort_unstable();
        return runs;
    }
    let bucket = |key: u64| (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - BITS)) as usize;
    let mut starts = vec![0usize; (1 << BITS) + 1];
    for run in &runs {
        starts[bucket(run.0) + 1] += 1;
    }
    for b in 1..starts.len() {
        starts[b] += starts[b - 1];
    }
    let mut next = starts.clone();
    let mut sorted = vec![(0u64, 0usize); runs.len()];
    for run in runs {
        let slot = &mut next[bucket(run.0)];
        sorted[*slot] = run;
        *slot += 1;
    }
    for b in 0..1 << BITS {
        sorted[starts[b]..starts[b + 1]].sort_unstable();
    }
    sorted
}

/// Sorts a few values in place (a basket's items: a call to `sort_unstable` per basket cost
/// more than the sorting).
fn insertion_sort(values: &mut [u32]) {
    for i in 1..values.len() {
        let value = values[i];
        let mut j = i;
        while j > 0 && values[j - 1] > value {
            values[j] = values[j - 1];
            j -= 1;
        }
        values[j] = value;
    }
}

/// Moves the distinct values of the ascending `values` to its front; returns how many.
fn dedup_sorted(values: &mut [u32]) -> usize {
    let mut kept = 0;
    for i in 0..values.len() {
        if i == 0 || values[i] != values[kept - 1] {
            values[kept] = values[i];
            kept += 1;
        }
    }
    kept
}

fn evaluate(params: Params, groups: &[Pairs]) -> Result<ArrayRef> {
    let mut set_offsets = ListOffsets::new("frequent_itemsets");
    let mut item_offsets = ListOffsets::new("frequent_itemsets");
    let mut names: Vec<&str> = Vec::new();
    let mut counts = Vec::new();
    let mut supports = Vec::new();
    let mined = groups.iter().map(|g| g.mine(params)).collect::<Result<Vec<_>>>()?;
    for (itemsets, n) in &mined {
        for (items, count) in itemsets {
            names.extend(items.iter().copied());
            item_offsets.push(names.len())?;
            counts.push(*count as i64);
            supports.push(*count as f64 / *n as f64);
        }
        set_offsets.push(counts.len())?;
    }
    let items = ListArray::new(
        Arc::new(Field::new_list_field(DataType::Utf8, true)),
        item_offsets.finish(),
        Arc::new(StringArray::from(names)),
        None,
    );
    let sets = StructArray::new(
        itemset_fields(),
        vec![Arc::new(items), Arc::new(Int64Array::from(counts)), Arc::new(Float64Array::from(supports))],
        None,
    );
    Ok(Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(DataType::Struct(itemset_fields()), true)),
        set_offsets.finish(),
        Arc::new(sets),
        None,
    )))
}

impl GroupState for Pairs {
    type Params = Params;

    fn update(
        _: &Params,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        item_pairs::update_ordered(values, 0x4241_534b, groups, group_of)
    }

    fn state(_: &Params, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        item_pairs::state("frequent_itemsets", groups, false)
    }

    fn merge(_: &Params, groups: &mut [Self], states: &[ArrayRef], group_of: impl Fn(usize) -> usize) -> Result<()> {
        item_pairs::merge("frequent_itemsets", states, groups, group_of)
    }

    fn evaluate(params: &Params, groups: &mut [Self]) -> Result<ArrayRef> {
        evaluate(*params, groups)
    }

    fn size(&self) -> usize {
        self.0.size()
    }
}

#[cfg(test)]
mod tests {
    use super::{dedup_sorted, sort_by_buckets, Pairs, Params};
    use crate::common::item_pairs::ItemPairs;

    #[test]
    fn split_baskets_join_their_first_run() {
        let mut pairs = Pairs(ItemPairs::default());
        for (key, item) in [(1, "a"), (1, "b"), (2, "c"), (1, "a"), (1, "d"), (3, "b"), (2, "a"), (2, "a")] {
            pairs.0.push(key, item);
        }
        // a = 0, b = 1, c = 2, d = 3; baskets in the order of their first rows: 1, 2, 3
        assert_eq!(pairs.transactions(), (vec![0, 1, 3, 0, 2, 1], vec![3, 5, 6]));
    }

    #[test]
    fn bucket_sort_puts_equal_keys_together_in_run_order() {
        // enough runs to take the bucket path; repeated keys (hashed-like and small integers)
        // and runs out of order
        for spread in [0x9E37_79B9_7F4A_7C15u64, 1] {
            let mut state = 0x9E37_79B9_7F4A_7C15u64;
            let runs: Vec<(u64, usize)> = (0..200_000)
                .map(|row| {
                    state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    ((state % 50_000).wrapping_mul(spread), 200_000 - row)
                })
                .collect();
            let mut expected = runs.clone();
            expected.sort_unstable();
            let got = sort_by_buckets(runs);
            let groups: Vec<&[(u64, usize)]> = got.chunk_by(|a, b| a.0 == b.0).collect();
            assert_eq!(groups.len(), expected.chunk_by(|a, b| a.0 == b.0).count(), "each key in one place");
            assert!(groups.iter().all(|g| g.is_sorted()), "runs ascending within a key");
            let mut resorted = got.clone();
            resorted.sort_unstable();
            assert_eq!(resorted, expected);
        }
    }

    /// The baskets as sorted item lists, sorted: what mining sees, whatever their order.
    fn baskets((items, ends): (Vec<u32>, Vec<usize>)) -> Vec<Vec<u32>> {
        let mut out: Vec<Vec<u32>> =
            ends.iter().scan(0, |start, &end| Some(items[std::mem::replace(start, end)..end].to_vec())).collect();
        out.sort();
        out
    }

    #[test]
    fn merged_stretches_equal_the_sort() {
        // keys in 1, 2, 3, 64, 65 and many ascending stretches, baskets split across stretches
        // and repeated items; the merge and the sort must find the same baskets
        let mut random = super::super::test_random(0x2545_F491_4F6C_DD1D);
        for stretches in [1usize, 2, 3, 64, 65, 700] {
            let mut pairs = Pairs(ItemPairs::default());
            let per = 3_000 / stretches + 1;
            for _ in 0..stretches {
                let mut key = random(50);
                for _ in 0..per {
                    key += 1 + random(3);
                    for _ in 0..1 + random(4) {
                        pairs.0.push(key, ["a", "b", "c", "d", "e"][random(5) as usize]);
                    }
                }
            }
            let runs = super::runs_of(&pairs.0.keys);
            let mut sorted = (Vec::new(), Vec::new());
            pairs.each_basket_by_sort(&runs, |basket| {
                sorted.0.extend_from_slice(basket);
                sorted.1.push(sorted.0.len());
            });
            let by_sort = baskets(sorted);
            assert_eq!(baskets(pairs.transactions()), by_sort, "{stretches} stretches");
            let items: usize = by_sort.iter().map(Vec::len).sum();
            assert!(items > 0 && by_sort.iter().all(|b| b.windows(2).all(|w| w[0] < w[1])));
        }
    }

    #[test]
    fn pairs_counted_while_laid_out_equal_the_tree() {
        // max_len 2 counts every pair as the baskets are laid out; max_len 3 stores the baskets
        // and mines an FP-tree: their itemsets of one and two items must agree, split baskets
        // and repeated items included
        let mut random = super::super::test_random(0x9E37_79B9_7F4A_7C15);
        let mut pairs = Pairs(ItemPairs::default());
        let names = ["a", "b", "c", "d", "e", "f", "g"];
        for stretch in 0..3 {
            for basket in 0..400 {
                for _ in 0..1 + random(5) {
                    pairs.0.push(basket * 2 + stretch % 2, names[random(7) as usize]);
                }
            }
        }
        for min_support in [0.001, 0.05, 0.2] {
            let (streamed, n) = pairs.mine(Params { min_support, max_len: 2 }).expect("mine");
            let (tree, n_tree) = pairs.mine(Params { min_support, max_len: 3 }).expect("mine");
            let short: Vec<_> = tree.into_iter().filter(|(items, _)| items.len() <= 2).collect();
            assert_eq!((streamed, n), (short, n_tree), "min_support {min_support}");
        }
        assert_eq!(Pairs(ItemPairs::default()).mine(Params { min_support: 0.1, max_len: 2 }).expect("mine").1, 0);
    }

    #[test]
    fn key_ranges_cover_every_row_once() {
        // stretches of overlapping and disjoint key ranges, of very different lengths, keys
        // repeated over a basket's rows
        let mut random = super::super::test_random(0x1234_5678_9ABC_DEF1);
        let mut keys = Vec::new();
        for (from, len) in [(0u64, 5_000usize), (100, 20), (2_500, 9_000), (50_000, 1), (10, 3_000)] {
            let mut key = from;
            for _ in 0..len {
                key += 1 + random(4);
                keys.extend(std::iter::repeat_n(key, 1 + random(3) as usize));
            }
        }
        let stretches = super::stretches(&keys).expect("few stretches");
        // a stretch goes on while keys ascend: the rows from 100, 2,500 and 50,000 are one
        assert_eq!(stretches.len(), 3);
        for parts in [1, 2, 3, 7] {
            let split = super::split_by_key(&keys, &stretches, parts);
            let mut seen = vec![0u8; keys.len()];
            let mut last_max = None;
            for part in &split {
                let part_keys: Vec<u64> = part.iter().flat_map(|r| keys[r.clone()].iter().copied()).collect();
                if let (Some(&min), Some(last)) = (part_keys.iter().min(), last_max) {
                    assert!(min > last, "parts are disjoint key ranges, in order");
                }
                last_max = part_keys.iter().max().copied().or(last_max);
                part.iter().flat_map(|r| r.clone()).for_each(|row| seen[row] += 1);
            }
            assert!(seen.iter().all(|&n| n == 1), "{parts} parts");
            if parts > 1 {
                let sizes: Vec<usize> = split.iter().map(|p| p.iter().map(|r| r.len()).sum()).collect();
                assert!(sizes.iter().all(|&n| n * parts * 2 >= keys.len()), "balanced: {sizes:?}");
            }
        }
    }

    #[test]
    fn pairs_counted_on_every_core_equal_one_pass() {
        // enough baskets for the split (two stretches, baskets split between them)
        let mut random = super::super::test_random(0x0DDC_0FFE_E0DD_F00D);
        let mut pairs = Pairs(ItemPairs::default());
        let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
        for stretch in 0..2 {
            for basket in 0..140_000u64 {
                if stretch == 0 || basket % 3 == 0 {
                    for _ in 0..1 + random(3) {
                        pairs.0.push(basket, names[random(8) as usize]);
                    }
                }
            }
        }
        let (counted, n) = pairs.count_every_pair(2);
        let mut one_pass = super::EveryPair::new(names.len(), 2);
        let mut baskets = 0u64;
        pairs.each_basket(|basket| {
            one_pass.add(basket);
            baskets += 1;
        });
        assert!(pairs.0.keys.len() >= 2 * super::PARALLEL_ROWS, "the rows are split");
        assert_eq!(n, baskets);
        assert_eq!(n, 140_000);
        assert_eq!(counted.itemsets(1, usize::MAX), one_pass.itemsets(1, usize::MAX));
    }

    #[test]
    fn dedup_keeps_distinct_values_in_front() {
        let mut values = [1, 1, 2, 5, 5, 5, 7];
        assert_eq!(dedup_sorted(&mut values), 4);
        assert_eq!(values[..4], [1, 2, 5, 7]);
        assert_eq!(dedup_sorted(&mut []), 0);
    }

    #[test]
    fn insertion_sort_sorts() {
        for n in [0usize, 1, 2, 5, 16, 17] {
            let mut values: Vec<u32> = (0..n as u32).rev().chain((0..n as u32).step_by(3)).collect();
            let mut expected = values.clone();
            expected.sort_unstable();
            super::insertion_sort(&mut values);
            assert_eq!(values, expected);
        }
    }
}
