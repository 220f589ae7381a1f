//! `frequent_itemsets(basket_id, item, min_support [, max_len])`: FP-growth per group.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, ListArray, StringArray, StructArray};
use arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::fpgrowth::fp_growth;
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
    /// in them. A basket's rows usually arrive together: the rows are cut into runs of one
    /// basket. Integer basket ids are numbered in their order ([`item_pairs::update_ordered`]), so
    /// a table written in basket order gives runs in a few ascending stretches (one per partition
    /// that read it): the stretches are merged by key, a basket found in several stretches
    /// joining their runs, in key order. Otherwise (hashed or unordered ids) see
    /// [`Pairs::transactions_by_sort`].
    fn transactions(&self) -> (Vec<u32>, Vec<usize>) {
        let runs = runs_of(&self.0.keys);
        let mut starts = vec![0];
        for (i, pair) in runs.starts.windows(2).enumerate() {
            if pair[1].0 < pair[0].0 {
                if starts.len() == MAX_STRETCHES {
                    return self.transactions_by_sort(&runs);
                }
                starts.push(i + 1);
            }
        }
        let mut basket = Basket::new(self.0.items.len(), runs.len());
        if let [_] = starts[..] {
            // one ascending stretch: every run is a basket
            for run in 0..runs.len() {
                basket.push(&[&self.0.items[runs.rows(run)]]);
            }
            return basket.finish();
        }
        // each stretch's next run, smallest key first (within a stretch keys strictly ascend)
        let ends: Vec<usize> = starts[1..].iter().copied().chain([runs.len()]).collect();
        let mut next = starts.clone();
        let mut heads: BinaryHeap<Reverse<(u64, usize)>> =
            starts.iter().enumerate().map(|(stretch, &at)| Reverse((runs.key(at), stretch))).collect();
        let mut parts: Vec<&[u32]> = Vec::new();
        while let Some(&Reverse((key, _))) = heads.peek() {
            parts.clear();
            while let Some(&Reverse((other, stretch))) = heads.peek() {
                if other != key {
                    break;
                }
                heads.pop();
                parts.push(&self.0.items[runs.rows(next[stretch])]);
                next[stretch] += 1;
                if next[stretch] < ends[stretch] {
                    heads.push(Reverse((runs.key(next[stretch]), stretch)));
                }
            }
            basket.push(&parts);
        }
        basket.finish()
    }

    /// [`Pairs::transactions`] for runs in more than [`MAX_STRETCHES`] ascending stretches, in
    /// the order of each basket's first row: only the (key, run) pairs are sorted — bucketed by
    /// the key's mixed top bits, each bucket sorted while it fits in cache — to find the baskets
    /// split over several runs. The items are then copied in row order (a random gather of
    /// millions of short runs was bound by cache misses), a split basket's runs joining its first.
    fn transactions_by_sort(&self, runs: &Runs) -> (Vec<u32>, Vec<usize>) {
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
        let mut basket = Basket::new(self.0.items.len(), runs.len());
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
        basket.finish()
    }

    /// Mines the group: (itemsets as (names, count), number of baskets).
    fn mine(&self, params: Params) -> Result<(Vec<NamedItemset<'_>>, u64)> {
        let (items, ends) = self.transactions();
        let transactions = ends.iter().scan(0, |start, &end| Some(&items[std::mem::replace(start, end)..end]));
        let n = ends.len() as u64;
        if n == 0 {
            return Ok((Vec::new(), 0));
        }
        // the smallest count c with c / n >= min_support in floating point, as mlxtend filters
        let mut min_count = ((params.min_support * n as f64).ceil() as u64).saturating_sub(1).max(1);
        while (min_count as f64) / (n as f64) < params.min_support {
            min_count += 1;
        }
        let itemsets =
            fp_growth(transactions, self.0.names.len(), min_count, params.max_len, MAX_ITEMSETS).or_else(|count| {
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

/// Most ascending stretches of runs [`Pairs::transactions`] merges; more are sorted.
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

    fn key(&self, run: usize) -> u64 {
        self.starts[run].0
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

/// The baskets being laid out: their items, ascending and distinct within a basket, and where
/// each ends.
struct Basket {
    items: Vec<u32>,
    ends: Vec<usize>,
}

impl Basket {
    fn new(items: usize, baskets: usize) -> Self {
        Self { items: Vec::with_capacity(items), ends: Vec::with_capacity(baskets) }
    }

    /// Adds the basket whose rows' items are `parts`.
    fn push(&mut self, parts: &[&[u32]]) {
        let start = self.ends.last().copied().unwrap_or(0);
        for part in parts {
            self.items.extend_from_slice(part);
        }
        let basket_items = &mut self.items[start..];
        if basket_items.len() <= 16 {
            insertion_sort(basket_items);
        } else {
            basket_items.sort_unstable();
        }
        let distinct = dedup_sorted(basket_items);
        self.items.truncate(start + distinct);
        self.ends.push(self.items.len());
    }

    fn finish(self) -> (Vec<u32>, Vec<usize>) {
        (self.items, self.ends)
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
    use super::{dedup_sorted, sort_by_buckets, Pairs};
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
            let by_sort = baskets(pairs.transactions_by_sort(&runs));
            assert_eq!(baskets(pairs.transactions()), by_sort, "{stretches} stretches");
            let items: usize = by_sort.iter().map(Vec::len).sum();
            assert!(items > 0 && by_sort.iter().all(|b| b.windows(2).all(|w| w[0] < w[1])));
        }
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
