//! `rfm(ts, amount, as_of [, order_key])`: per-customer recency, frequency and monetary.

use std::sync::Arc;

use super::distinct_keys_state::DistinctKeys;
use crate::common::{is_date_like, literal_arg, purchase_days, ListOffsets, LiteralArg};
use crate::group_state::{GroupState, GroupsOf};
use arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Float64Array, Int64Array, Int64Builder, ListArray, StructArray, UInt64Array,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Date32Type, Field, FieldRef, Fields, Float64Type, Int64Type, UInt64Type};
use datafusion::common::hash_utils::{create_hashes, QualityRandomState};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

#[user_doc(
    doc_section(label = "Segmentation Functions"),
    description = "RFM inputs of a group (usually a customer) in one aggregate, returned as a struct: \
`recency_days` = as_of minus the date of the last purchase, in days (negative if a purchase is dated after as_of: filter `ts < as_of` to exclude them); \
`frequency` = the number of distinct purchase dates, or of distinct order keys when order_key is given (as pandas nunique; \
order keys are compared by a 64-bit hash, so two different keys collide with probability about 2^-64 per pair); \
`monetary` = the sum of amount (total, not average; negative and zero amounts are added as they are: filter `amount > 0` for purchases only). \
The date of ts is its calendar date (timestamps are truncated; a timestamp with a time zone is taken in UTC). \
Rows with a NULL ts, amount or order key are ignored, and so are NaN amounts (NaN is NULL in every Persona function); a group without any other row gives NULL. An infinite amount is an error. \
as_of must be a constant date. Scores follow with quantile_score, e.g. `6 - quantile_score(5) OVER (ORDER BY r.recency_days, customer_id)`.",
    syntax_example = "rfm(ts, amount, as_of [, order_key])",
    sql_example = r#"```sql
> SELECT rfm(ts, amount, DATE '2011-12-10', invoice) AS v
  FROM (VALUES (TIMESTAMP '2011-12-01 10:00:00', 20.0, 'A1'),
               (TIMESTAMP '2011-12-01 10:00:00', 5.0, 'A1'),
               (TIMESTAMP '2011-11-02 09:30:00', 12.5, 'A2')) t(ts, amount, invoice);
+-------------------------------------------------+
| v                                               |
+-------------------------------------------------+
| {recency_days: 9, frequency: 2, monetary: 37.5} |
+-------------------------------------------------+
```"#,
    argument(name = "ts", description = "Purchase date or timestamp."),
    argument(name = "amount", description = "Purchase amount (numeric)."),
    argument(name = "as_of", description = "Constant date recency is measured from, e.g. DATE '2011-12-10'."),
    argument(
        name = "order_key",
        description = "Optional order (invoice) identifier of any type; frequency then counts distinct orders."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Rfm {
    signature: Signature,
}

impl Default for Rfm {
    fn default() -> Self {
        Self::new()
    }
}

impl Rfm {
    #[must_use]
    pub fn new() -> Self {
        // UserDefined coerces; the Exact variant documents the argument types for SHOW FUNCTIONS
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::Date32, DataType::Float64, DataType::Date32]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

fn output_fields() -> Fields {
    Fields::from(vec![
        Field::new("recency_days", DataType::Int64, true),
        Field::new("frequency", DataType::Int64, true),
        Field::new("monetary", DataType::Float64, true),
    ])
}

impl AggregateUDFImpl for Rfm {
    fn name(&self) -> &'static str {
        "rfm"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(3..=4).contains(&arg_types.len()) {
            return plan_err!("rfm takes 3 or 4 arguments (ts, amount, as_of [, order_key]), got {}", arg_types.len());
        }
        if !is_date_like(&arg_types[0]) {
            return plan_err!("rfm: ts must be a date or timestamp, got {}", arg_types[0]);
        }
        if !arg_types[1].is_numeric() {
            return plan_err!("rfm: amount must be numeric, got {}", arg_types[1]);
        }
        if !is_date_like(&arg_types[2]) {
            return plan_err!("rfm: as_of must be a date such as DATE '2011-12-10', got {}", arg_types[2]);
        }
        // ts keeps its type (converted to dates when the rows are read): implicit coercion
        // of a timestamp to a date is not allowed in a signature
        let mut coerced = vec![arg_types[0].clone(), DataType::Float64, DataType::Date32];
        coerced.extend(arg_types.get(3).cloned());
        Ok(coerced)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(output_fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(format_state_name(args.name, "last_day"), DataType::Date32, true)),
            Arc::new(Field::new(format_state_name(args.name, "monetary"), DataType::Float64, true)),
            Arc::new(Field::new(
                format_state_name(args.name, "keys"),
                DataType::new_list(DataType::UInt64, true),
                true,
            )),
            Arc::new(Field::new(format_state_name(args.name, "bitmap_start"), DataType::Int64, true)),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GroupsOf::<RfmState>::new(RfmParams::from_args(&args)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<RfmState>::new(RfmParams::from_args(&args)?)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Constant arguments of `rfm`.
#[derive(Debug, Clone, Copy)]
struct RfmParams {
    /// Days since 1970-01-01 recency is measured from.
    as_of: i32,
    /// No order key: frequency counts distinct days.
    by_day: bool,
}

impl RfmParams {
    fn from_args(args: &AccumulatorArgs) -> Result<Self> {
        let as_of = match literal_arg(args.exprs, 2) {
            LiteralArg::Value(ScalarValue::Date32(Some(day))) => *day,
            LiteralArg::Value(other) => return plan_err!("rfm: as_of must be a non-NULL date, got {other}"),
            LiteralArg::Absent | LiteralArg::NotLiteral => return plan_err!("rfm: as_of must be a constant date"),
        };
        Ok(Self { as_of, by_day: args.exprs.len() < 4 })
    }
}

/// The running RFM state of one group.
#[derive(Debug, Default, Clone)]
struct RfmState {
    last_day: Option<i32>,
    monetary: f64,
    /// Distinct purchase days, or hashed order keys.
    keys: DistinctKeys,
}

impl RfmState {
    /// Adds one purchase; `order_key` is the hash of its order key, if the function has one.
    fn add(&mut self, day: i32, amount: f64, order_key: Option<u64>) {
        self.last_day = Some(self.last_day.map_or(day, |d| d.max(day)));
        self.monetary += amount;
        match order_key {
            Some(key) => self.keys.insert_key(key),
            None => self.keys.insert_day(day),
        }
    }

    fn merge(&mut self, last_day: Option<i32>, monetary: f64, keys: &[u64], by_day: bool) -> Result<()> {
        if let Some(day) = last_day {
            self.last_day = Some(self.last_day.map_or(day, |d| d.max(day)));
        }
        self.monetary += monetary;
        if !by_day {
            keys.iter().for_each(|&key| self.keys.insert_key(key));
            return Ok(());
        }
        for &key in keys {
            #[allow(clippy::cast_possible_wrap)]
            let Ok(day) = i32::try_from(key as i64) else {
                return exec_err!("rfm: a partial state holds the day key {key}, which is not a date");
            };
            self.keys.insert_day(day);
        }
        Ok(())
    }
}

/// Calls `f(group, day, amount, order_key_hash)` for every row of a batch that counts: mapped
/// to a group, with a non-NULL ts, amount and order key and an amount that is not NaN (NaN is
/// NULL). An infinite amount is an error.
fn for_each_row(
    values: &[ArrayRef],
    group_of: impl Fn(usize) -> Option<usize>,
    mut f: impl FnMut(usize, i32, f64, Option<u64>),
) -> Result<()> {
    let days = purchase_days(&values[0])?;
    let days = days.as_primitive::<Date32Type>();
    let amounts = values[1].as_primitive::<Float64Type>();
    let order_keys = values.get(3);
    let hashes = match order_keys {
        Some(keys) => {
            let mut hashes = vec![0u64; days.len()];
            create_hashes([keys], &QualityRandomState::with_seed(0x5045_5253), &mut hashes)?;
            hashes
        }
        None => Vec::new(),
    };
    for row in 0..days.len() {
        let Some(group) = group_of(row) else { continue };
        if !(days.is_valid(row) && amounts.is_valid(row) && order_keys.is_none_or(|k| k.is_valid(row))) {
            continue;
        }
        let amount = amounts.value(row);
        if amount.is_nan() {
            continue;
        }
        if amount.is_infinite() {
            return exec_err!("rfm: amount must be a finite number, got {amount}");
        }
        f(group, days.value(row), amount, hashes.get(row).copied());
    }
    Ok(())
}

/// Partial states of the groups in `states`, as the four state columns: last day, monetary,
/// keys and bitmap start. A group whose days are a bitmap ships its words (from its first to
/// its last word with a day) as its keys and the index of the first word as its bitmap start —
/// a year of purchases is at most 7 words, against one key per distinct day; a group in the
/// list form (order-key hashes, or days spanning more than the bitmap's cap) ships its keys
/// and a NULL bitmap start.
fn state_arrays(states: &mut [RfmState]) -> Result<Vec<ArrayRef>> {
    let last_day: Date32Array = states.iter().map(|s| s.last_day).collect();
    let monetary: Float64Array = states.iter().map(|s| Some(s.monetary)).collect();
    let mut bitmap_start = Int64Builder::with_capacity(states.len());
    // one allocation for every group's keys (an upper bound: lists are deduplicated as appended)
    let capacity = states.iter().map(|s| s.keys.shipped_len()).sum();
    let mut offsets = ListOffsets::new("rfm");
    let mut keys = Vec::with_capacity(capacity);
    for state in states.iter_mut() {
        if let Some((first_word, words)) = state.keys.shipped_bitmap() {
            bitmap_start.append_value(first_word);
            keys.extend_from_slice(words);
        } else {
            bitmap_start.append_null();
            state.keys.append_keys(&mut keys);
        }
        offsets.push(keys.len())?;
    }
    Ok(vec![Arc::new(last_day), Arc::new(monetary), key_lists(offsets, keys), Arc::new(bitmap_start.finish())])
}

/// The state's key column: each group's keys (days or order-key hashes) between its offsets.
fn key_lists(offsets: ListOffsets, keys: Vec<u64>) -> ArrayRef {
    Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(DataType::UInt64, true)),
        offsets.finish(),
        Arc::new(UInt64Array::from(keys)),
        None,
    ))
}

/// Merges state columns row by row into `states[group_of(row)]`. A state whose key offsets
/// do not fit its key values is an error, not an empty list.
fn merge_states(
    values: &[ArrayRef],
    by_day: bool,
    group_of: impl Fn(usize) -> usize,
    states: &mut [RfmState],
) -> Result<()> {
    let last_day = values[0].as_primitive::<Date32Type>();
    let monetary = values[1].as_primitive::<Float64Type>();
    let keys = values[2].as_list::<i32>();
    let key_values = keys.values().as_primitive::<UInt64Type>().values();
    let bitmap_start = values.get(3).map(|v| v.as_primitive::<Int64Type>());
    for (row, range) in keys.offsets().windows(2).enumerate() {
        let group = group_of(row);
        let row_keys = if keys.is_valid(row) {
            let slice = usize::try_from(range[0])
                .ok()
                .zip(usize::try_from(range[1]).ok())
                .and_then(|(start, end)| key_values.get(start..end));
            let Some(slice) = slice else {
                return exec_err!(
                    "rfm: malformed partial state: key offsets {}..{} outside {} key values",
                    range[0],
                    range[1],
                    key_values.len()
                );
            };
            slice
        } else {
            &[]
        };
        let day = last_day.is_valid(row).then(|| last_day.value(row));
        let amount = if monetary.is_valid(row) { monetary.value(row) } else { 0.0 };
        match bitmap_start.filter(|starts| starts.is_valid(row)).map(|starts| starts.value(row)) {
            Some(first_word) if by_day => {
                states[group].merge(day, amount, &[], by_day)?;
                if let Err(message) = states[group].keys.union_bitmap(first_word, row_keys) {
                    return exec_err!("rfm: malformed partial state: {message}");
                }
            }
            Some(_) => return exec_err!("rfm: malformed partial state: a bitmap of days where order keys are counted"),
            None => states[group].merge(day, amount, row_keys, by_day)?,
        }
    }
    Ok(())
}

/// The output struct of the groups in `states`.
fn evaluate_states(as_of: i32, states: &mut [RfmState]) -> ArrayRef {
    let recency: Int64Array = states.iter().map(|s| s.last_day.map(|d| i64::from(as_of) - i64::from(d))).collect();
    let frequency: Int64Array =
        states.iter_mut().map(|s| s.last_day.map(|_| i64::try_from(s.keys.len()).unwrap_or(i64::MAX))).collect();
    let monetary: Float64Array = states.iter().map(|s| s.last_day.map(|_| s.monetary)).collect();
    let nulls = NullBuffer::from(states.iter().map(|s| s.last_day.is_some()).collect::<Vec<_>>());
    Arc::new(StructArray::new(
        output_fields(),
        vec![Arc::new(recency), Arc::new(frequency), Arc::new(monetary)],
        Some(nulls),
    ))
}

impl GroupState for RfmState {
    type Params = RfmParams;

    fn update(
        _: &RfmParams,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        for_each_row(values, group_of, |group, day, amount, key| groups[group].add(day, amount, key))
    }

    fn state(_: &RfmParams, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        state_arrays(groups)
    }

    fn merge(p: &RfmParams, groups: &mut [Self], states: &[ArrayRef], group_of: impl Fn(usize) -> usize) -> Result<()> {
        merge_states(states, p.by_day, group_of, groups)
    }

    fn evaluate(p: &RfmParams, groups: &mut [Self]) -> Result<ArrayRef> {
        Ok(evaluate_states(p.as_of, groups))
    }

    fn size(&self) -> usize {
        self.keys.heap_bytes()
    }

    /// Each counted row's state written directly: its day as the last day, its amount, and its
    /// one key — the day as a one-word bitmap, or the order key's hash — the state of a group of
    /// that one row.
    fn convert_to_state(_: &RfmParams, values: &[ArrayRef], keeps: impl Fn(usize) -> bool) -> Result<Vec<ArrayRef>> {
        let rows = values.first().map_or(0, |v| v.len());
        let mut last_day: Vec<Option<i32>> = vec![None; rows];
        let mut monetary = vec![0.0; rows];
        let mut key = vec![0u64; rows];
        let mut bitmap_start: Vec<Option<i64>> = vec![None; rows];
        for_each_row(
            values,
            |row| keeps(row).then_some(row),
            |row, day, amount, order_key| {
                last_day[row] = Some(day);
                monetary[row] = amount;
                if let Some(hash) = order_key {
                    key[row] = hash;
                } else {
                    let day = i64::from(day);
                    key[row] = 1 << day.rem_euclid(64);
                    bitmap_start[row] = Some(day.div_euclid(64));
                }
            },
        )?;
        let mut offsets = ListOffsets::new("rfm");
        let mut keys = Vec::with_capacity(rows);
        for (day, &k) in last_day.iter().zip(&key) {
            if day.is_some() {
                keys.push(k);
            }
            offsets.push(keys.len())?;
        }
        Ok(vec![
            Arc::new(Date32Array::from(last_day)),
            Arc::new(Float64Array::from(monetary)),
            key_lists(offsets, keys),
            Arc::new(Int64Array::from(bitmap_start)),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::BooleanArray;
    use datafusion::logical_expr::EmitTo;

    type RfmGroupsAccumulator = GroupsOf<RfmState>;

    impl RfmGroupsAccumulator {
        fn with(as_of: i32, by_day: bool) -> Self {
            GroupsOf::new(RfmParams { as_of, by_day })
        }
    }

    fn input() -> Vec<ArrayRef> {
        vec![
            Arc::new(Date32Array::from(vec![Some(10), Some(12), None, Some(12), Some(3)])),
            Arc::new(Float64Array::from(vec![Some(1.0), Some(2.0), Some(4.0), Some(8.0), None])),
        ]
    }

    #[test]
    fn convert_to_state_then_merge_equals_update() -> Result<()> {
        let groups = [0, 1, 0, 0, 1];
        let mut direct = RfmGroupsAccumulator::with(20, true);
        GroupsAccumulator::update_batch(&mut direct, &input(), &groups, None, 2)?;
        let mut via_state = RfmGroupsAccumulator::with(20, true);
        let state = via_state.convert_to_state(&input(), None)?;
        GroupsAccumulator::merge_batch(&mut via_state, &state, &groups, 2)?;
        let expected = GroupsAccumulator::evaluate(&mut direct, EmitTo::All)?;
        assert_eq!(GroupsAccumulator::evaluate(&mut via_state, EmitTo::All)?.as_ref(), expected.as_ref());
        let expected = expected.as_struct();
        // group 0: days 10 and 12 (twice) -> recency 8, 2 distinct days, 1 + 8
        assert_eq!(expected.column(0).as_primitive::<arrow::datatypes::Int64Type>().value(0), 8);
        assert_eq!(expected.column(1).as_primitive::<arrow::datatypes::Int64Type>().value(0), 2);
        assert!((expected.column(2).as_primitive::<Float64Type>().value(0) - 9.0).abs() < 1e-12);
        Ok(())
    }

    /// The states written straight from the rows equal a group per row's `state`: by day and by
    /// order key, with NULLs, NaN and a FILTER mask.
    #[test]
    fn direct_states_equal_a_group_per_row() -> Result<()> {
        let mut values = input();
        values[1] = Arc::new(Float64Array::from(vec![Some(1.0), Some(f64::NAN), Some(4.0), Some(8.0), None]));
        let keeps = |row: usize| row != 3;
        for (by_day, order_keys) in [(true, None), (false, Some(vec![Some(7_i64), Some(7), Some(9), None, Some(1)]))] {
            let params = RfmParams { as_of: 20, by_day };
            let mut values = values.clone();
            if let Some(keys) = order_keys {
                values.push(Arc::new(Int64Array::from(vec![None::<i64>; 5])));
                values.push(Arc::new(Int64Array::from(keys)));
            }
            let mut per_row: Vec<RfmState> = (0..5).map(|_| RfmState::default()).collect();
            RfmState::update(&params, &mut per_row, &values, |row| keeps(row).then_some(row))?;
            let want = RfmState::state(&params, &mut per_row)?;
            let got = RfmState::convert_to_state(&params, &values, keeps)?;
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.as_ref(), w.as_ref(), "by_day {by_day}");
            }
        }
        Ok(())
    }

    /// Rows split over two partial accumulators whose states (bitmaps of days, a list of days
    /// too wide for the bitmap, order-key hashes) are merged give what one accumulator gives.
    #[test]
    fn partial_states_merge_to_one_accumulators_answer() -> Result<()> {
        let days = vec![Some(19_000), Some(19_400), Some(19_001), Some(23_500), Some(19_400), Some(-20), Some(19_030)];
        let amounts = vec![Some(1.0), Some(2.0), Some(4.0), Some(8.0), Some(16.0), Some(32.0), Some(64.0)];
        let groups = [0, 2, 1, 1, 2, 0, 2];
        let order_keys = Int64Array::from(vec![Some(1_i64), Some(2), Some(1), Some(3), Some(3), Some(4), Some(2)]);
        for by_day in [true, false] {
            let mut values: Vec<ArrayRef> =
                vec![Arc::new(Date32Array::from(days.clone())), Arc::new(Float64Array::from(amounts.clone()))];
            if !by_day {
                values.push(Arc::new(Int64Array::new_null(days.len())));
                values.push(Arc::new(order_keys.clone()));
            }
            let mut direct = RfmGroupsAccumulator::with(20_000, by_day);
            GroupsAccumulator::update_batch(&mut direct, &values, &groups, None, 3)?;
            let mut merged = RfmGroupsAccumulator::with(20_000, by_day);
            for part in [0..3, 3..7] {
                let slice: Vec<ArrayRef> = values.iter().map(|v| v.slice(part.start, part.len())).collect();
                let mut partial = RfmGroupsAccumulator::with(20_000, by_day);
                GroupsAccumulator::update_batch(&mut partial, &slice, &groups[part], None, 3)?;
                let state = GroupsAccumulator::state(&mut partial, EmitTo::All)?;
                assert_eq!(state[3].null_count() == 3, !by_day, "bitmap starts only for days");
                GroupsAccumulator::merge_batch(&mut merged, &state, &[0, 1, 2], 3)?;
            }
            let expected = GroupsAccumulator::evaluate(&mut direct, EmitTo::All)?;
            assert_eq!(GroupsAccumulator::evaluate(&mut merged, EmitTo::All)?.as_ref(), expected.as_ref(), "{by_day}");
        }
        Ok(())
    }

    #[test]
    fn a_bitmap_state_where_order_keys_are_counted_is_an_error() -> Result<()> {
        let mut by_day = RfmGroupsAccumulator::with(20, true);
        GroupsAccumulator::update_batch(&mut by_day, &input(), &[0, 0, 0, 0, 0], None, 1)?;
        let state = GroupsAccumulator::state(&mut by_day, EmitTo::All)?;
        let mut by_key = RfmGroupsAccumulator::with(20, false);
        let error = GroupsAccumulator::merge_batch(&mut by_key, &state, &[0], 1).expect_err("malformed");
        assert!(error.to_string().contains("rfm: malformed partial state"), "{error}");
        Ok(())
    }

    #[test]
    fn a_filtered_out_group_is_null() -> Result<()> {
        let mut acc = RfmGroupsAccumulator::with(20, true);
        let filter = BooleanArray::from(vec![true, false, true, true, true]);
        GroupsAccumulator::update_batch(&mut acc, &input(), &[0, 1, 0, 0, 1], Some(&filter), 2)?;
        let out = GroupsAccumulator::evaluate(&mut acc, EmitTo::All)?;
        assert!(out.is_valid(0) && out.is_null(1));
        Ok(())
    }
}
