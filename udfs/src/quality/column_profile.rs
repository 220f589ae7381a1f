//! `column_profile(value [, domain [, as_of]])`: the data-quality profile of one column.

use std::sync::Arc;

use arrow::array::temporal_conversions::timestamp_us_to_datetime;
use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Float64Array, Int64Array, ListArray, StringArray, StructArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type, Int64Type, TimeUnit};
use datafusion::common::hash_utils::{create_hashes, HLL_RANDOM_STATE};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_functions_aggregate_common::tdigest::{Centroid, TDigest};
use datafusion_macros::user_doc;

use crate::common::validate::{is_valid_cn_id, is_valid_cn_mobile, is_valid_email};
use crate::common::{fixed_offsets, literal_arg, FloatListRow, FloatLists, ListOffsets, LiteralArg};
use crate::group_state::{GroupState, GroupsOf};
use crate::stats::frequent::FrequentItems;
use crate::stats::hll::Hll;

const NAME: &str = "column_profile";
/// Finite numbers a group keeps as they are before they go into its t-digest.
const EXACT_QUANTILE_VALUES: usize = 8192;
/// Centroids of the t-digest (DataFusion's `approx_percentile_cont` default).
const DIGEST_SIZE: usize = 100;
const QUANTILES: [(&str, f64); 5] = [("p05", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95)];
const TOP_VALUES: usize = 5;

#[user_doc(
    doc_section(label = "Data Quality Functions"),
    description = "The data-quality profile of one column in one pass (any type; `persona profile` runs it on every column of a table in a single query). \
Returns a struct: `data_type`; `rows` (all rows of the group) and `nulls`, `null_share = nulls / rows`; \
`distinct` non-NULL values — exact (`distinct_exact = true`) up to 1 024 distinct values, above that a HyperLogLog estimate with precision 14 (relative standard error 0.81 %); \
`min`, `max` as text (numbers, strings by byte order, booleans, dates as YYYY-MM-DD, timestamps as YYYY-MM-DD HH:MM:SS[.ffffff] in UTC; NULL for other types). \
Numbers (integers, floats, decimals, read as float64): `mean`, `std_dev` (sample, ddof 1), quantiles `p05 p25 p50 p75 p95` — exact with linear interpolation (numpy's default) when the group has at most 8 192 finite values (`quantiles_exact`), else t-digest estimates (100 centroids) — \
over the finite values; `negative` counts values below zero (−0.0 is not negative) and `non_finite` counts NaN and ±inf, which the moments and quantiles skip. \
Strings and booleans: `top_values`, the 5 most frequent values as `{value, count, share}` with `share = count / (rows - nulls)`, exact (`top_values_exact`) when the group has at most 512 distinct values, else Misra-Gries lower bounds. \
`domain` (literal) checks strings: 'cn_id' (resident identity numbers, as `is_valid_cn_id`), 'cn_mobile' (as `is_valid_cn_mobile`), 'email' (as `is_valid_email`) count failures in `invalid`; \
'name' only marks the column as personal. For every domain `min`, `max` and the top values are withheld (NULL): a profile never holds or prints a value of a personal-data column. \
`as_of` (date or timestamp, per row, e.g. `now()` or a literal) counts dates and timestamps after it in `future`. \
Fields that do not apply to the column's type (or `invalid` without a domain, `future` without `as_of`) are NULL.",
    syntax_example = "column_profile(value [, domain [, as_of]])",
    sql_example = r#"```sql
> SELECT p['rows'] AS n, p['nulls'] AS nulls, p['distinct'] AS d, p['min'] AS lo, p['max'] AS hi, p['p50'] AS median, p['negative'] AS neg
  FROM (SELECT column_profile(x) AS p FROM (VALUES (3.0), (-1.5), (NULL), (8.0), (3.0)) t(x));
+---+-------+---+------+----+--------+-----+
| n | nulls | d | lo   | hi | median | neg |
+---+-------+---+------+----+--------+-----+
| 5 | 1     | 3 | -1.5 | 8  | 3.0    | 1   |
+---+-------+---+------+----+--------+-----+
```"#,
    argument(name = "value", description = "The column, any type."),
    argument(
        name = "domain",
        description = "Optional literal: 'cn_id', 'cn_mobile', 'email' (validity checks of a string column), 'name' (personal, no check), or NULL."
    ),
    argument(
        name = "as_of",
        description = "Optional date or timestamp: dates and timestamps after it count as `future`."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ColumnProfile {
    signature: Signature,
}

impl Default for ColumnProfile {
    fn default() -> Self {
        Self::new()
    }
}

impl ColumnProfile {
    #[must_use]
    pub fn new() -> Self {
        // any value type (coerce_types); the Exact forms are what information_schema lists
        let timestamp = DataType::Timestamp(TimeUnit::Microsecond, None);
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::Float64]),
                    TypeSignature::Exact(vec![DataType::Utf8, DataType::Utf8]),
                    TypeSignature::Exact(vec![timestamp.clone(), DataType::Utf8, timestamp]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

/// How the values of a column are profiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Text,
    Date,
    Timestamp,
    Other,
}

impl Kind {
    fn of(t: &DataType) -> Self {
        match t {
            t if t.is_numeric() => Kind::Number,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean => Kind::Text,
            DataType::Dictionary(_, v) if Kind::of(v) == Kind::Text => Kind::Text,
            DataType::Dictionary(_, v) if Kind::of(v) == Kind::Number => Kind::Number,
            DataType::Date32 | DataType::Date64 => Kind::Date,
            DataType::Timestamp(_, _) => Kind::Timestamp,
            _ => Kind::Other,
        }
    }
}

/// The check a string column gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Domain {
    None,
    CnId,
    CnMobile,
    Email,
    Name,
}

impl Domain {
    fn check(self) -> Option<fn(&str) -> bool> {
        match self {
            Domain::CnId => Some(is_valid_cn_id),
            Domain::CnMobile => Some(is_valid_cn_mobile),
            Domain::Email => Some(is_valid_email),
            Domain::None | Domain::Name => None,
        }
    }
}

#[derive(Debug)]
struct Params {
    kind: Kind,
    domain: Domain,
    type_name: String,
    has_as_of: bool,
}

fn params(args: &AccumulatorArgs) -> Result<Params> {
    let value_type = args.exprs[0].data_type(args.schema)?;
    let kind = Kind::of(&value_type);
    let domain = match literal_arg(args.exprs, 1) {
        LiteralArg::Absent => Domain::None,
        LiteralArg::Value(v) if v.is_null() => Domain::None,
        LiteralArg::Value(ScalarValue::Utf8(Some(d))) => match d.to_ascii_lowercase().as_str() {
            "" | "none" => Domain::None,
            "cn_id" => Domain::CnId,
            "cn_mobile" => Domain::CnMobile,
            "email" => Domain::Email,
            "name" => Domain::Name,
            other => {
                return plan_err!("{NAME}: domain must be 'cn_id', 'cn_mobile', 'email', 'name' or NULL, got '{other}'")
            }
        },
        LiteralArg::Value(other) => return plan_err!("{NAME}: domain must be a string literal, got {other}"),
        LiteralArg::NotLiteral => return plan_err!("{NAME}: domain must be a literal"),
    };
    if domain.check().is_some() && kind != Kind::Text {
        return plan_err!("{NAME}: a domain check needs a string column, got {value_type}");
    }
    Ok(Params { kind, domain, type_name: value_type.to_string(), has_as_of: args.exprs.len() > 2 })
}

fn top_value_fields() -> Fields {
    Fields::from(vec![
        Field::new("value", DataType::Utf8, true),
        Field::new("count", DataType::Int64, true),
        Field::new("share", DataType::Float64, true),
    ])
}

fn output_fields() -> Fields {
    let int = |name: &str| Field::new(name, DataType::Int64, true);
    let float = |name: &str| Field::new(name, DataType::Float64, true);
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    let flag = |name: &str| Field::new(name, DataType::Boolean, true);
    let mut fields = vec![
        text("data_type"),
        int("rows"),
        int("nulls"),
        float("null_share"),
        int("distinct"),
        flag("distinct_exact"),
        text("min"),
        text("max"),
        float("mean"),
        float("std_dev"),
    ];
    fields.extend(QUANTILES.iter().map(|(name, _)| float(name)));
    fields.push(flag("quantiles_exact"));
    fields.push(Field::new("top_values", DataType::new_list(DataType::Struct(top_value_fields()), true), true));
    fields.push(flag("top_values_exact"));
    fields.extend(["invalid", "negative", "non_finite", "future"].map(int));
    Fields::from(fields)
}

impl AggregateUDFImpl for ColumnProfile {
    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let domain_ok =
            |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null);
        let as_of_ok = |t: &DataType| {
            matches!(t, DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) | DataType::Null)
        };
        match arg_types {
            [value] => Ok(vec![value.clone()]),
            [value, domain] if domain_ok(domain) => Ok(vec![value.clone(), DataType::Utf8]),
            // as_of keeps its date or timestamp type (the accumulator reads both as µs); NULL becomes a timestamp
            [value, domain, DataType::Null] if domain_ok(domain) => {
                Ok(vec![value.clone(), DataType::Utf8, DataType::Timestamp(TimeUnit::Microsecond, None)])
            }
            [value, domain, as_of] if domain_ok(domain) && as_of_ok(as_of) => {
                Ok(vec![value.clone(), DataType::Utf8, as_of.clone()])
            }
            _ => plan_err!("{NAME} takes (value [, string domain [, date or timestamp as_of]]), got {arg_types:?}"),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(output_fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = |name: &str, t: DataType| {
            Arc::new(Field::new(format_state_name(args.name, name), DataType::new_list(t, true), true))
        };
        Ok(vec![
            list("counts", DataType::Int64),
            list("moments", DataType::Float64),
            list("sample", DataType::Float64),
            Arc::new(Field::new(format_state_name(args.name, "min"), DataType::Utf8, true)),
            Arc::new(Field::new(format_state_name(args.name, "max"), DataType::Utf8, true)),
            list("top_values", DataType::Utf8),
            list("top_counts", DataType::Int64),
            Arc::new(Field::new(format_state_name(args.name, "distinct"), DataType::Binary, true)),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GroupsOf::<Profile>::new(params(&args)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<Profile>::new(params(&args)?)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Counters of [`Profile`], in the order of the `counts` state.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    rows: i64,
    nulls: i64,
    invalid: i64,
    negative: i64,
    non_finite: i64,
    future: i64,
}

/// Count, mean and squared deviations (Welford, Chan's merge) and the extremes of the finite numbers.
#[derive(Debug, Default, Clone, Copy)]
struct Moments {
    n: f64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Moments {
    fn add(&mut self, x: f64) {
        if self.n == 0.0 {
            self.min = x;
            self.max = x;
        } else {
            self.min = lower(self.min, x);
            self.max = upper(self.max, x);
        }
        self.n += 1.0;
        let delta = x - self.mean;
        self.mean += delta / self.n;
        self.m2 += delta * (x - self.mean);
    }

    fn merge(&mut self, o: Moments) {
        if o.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            *self = o;
            return;
        }
        let n = self.n + o.n;
        let delta = o.mean - self.mean;
        self.mean += delta * o.n / n;
        self.m2 += o.m2 + delta * delta * self.n * o.n / n;
        self.n = n;
        self.min = lower(self.min, o.min);
        self.max = upper(self.max, o.max);
    }
}

/// The smaller of two finite numbers, −0.0 below 0.0 (`f64::min` may return either zero, so the
/// result would depend on the order of the rows).
fn lower(a: f64, b: f64) -> f64 {
    if a.total_cmp(&b).is_le() {
        a
    } else {
        b
    }
}

/// The larger of two finite numbers, 0.0 above −0.0.
fn upper(a: f64, b: f64) -> f64 {
    if a.total_cmp(&b).is_ge() {
        a
    } else {
        b
    }
}

/// The finite numbers of a group: kept as they are up to [`EXACT_QUANTILE_VALUES`], then in a t-digest.
#[derive(Debug, Default)]
struct Sample {
    values: Vec<f64>,
    digest: Option<TDigest>,
}

impl Sample {
    fn push(&mut self, x: f64) {
        self.values.push(x);
        if self.values.len() >= EXACT_QUANTILE_VALUES {
            self.compress();
        }
    }

    fn compress(&mut self) {
        if self.values.is_empty() {
            return;
        }
        let values = std::mem::take(&mut self.values);
        let digest = self.digest.take().unwrap_or_else(|| TDigest::new(DIGEST_SIZE));
        self.digest = Some(digest.merge_unsorted_f64(values));
    }

    /// Tag 0 and the values, or tag 1, count, sum, min, max and (mean, weight) per centroid.
    fn write(&mut self, out: &mut Vec<f64>) {
        if self.digest.is_some() {
            self.compress();
        }
        match &self.digest {
            None => {
                out.push(0.0);
                out.extend_from_slice(&self.values);
            }
            Some(d) => {
                out.extend([1.0, d.count(), d.sum(), d.min(), d.max()]);
                for c in d.centroids() {
                    out.extend([c.mean(), c.weight()]);
                }
            }
        }
    }

    fn merge(&mut self, state: &[f64]) -> Result<()> {
        match state.split_first() {
            None => Ok(()),
            Some((tag, values)) if *tag == 0.0 => {
                for &x in values {
                    self.push(x);
                }
                Ok(())
            }
            Some((tag, rest)) if *tag == 1.0 && rest.len() >= 4 && rest.len() % 2 == 0 => {
                let centroids: Vec<Centroid> = rest[4..].chunks_exact(2).map(|c| Centroid::new(c[0], c[1])).collect();
                let theirs = TDigest::try_from_parts(DIGEST_SIZE, rest[1], rest[0], rest[3], rest[2], centroids)?;
                let mine = self.digest.take().unwrap_or_else(|| TDigest::new(DIGEST_SIZE));
                self.digest = Some(TDigest::merge_digests([&mine, &theirs]));
                Ok(())
            }
            Some(_) => exec_err!("{NAME}: malformed quantile state of {} values", state.len()),
        }
    }

    /// The quantiles and whether they are exact.
    fn quantiles(&mut self) -> (Vec<Option<f64>>, bool) {
        if self.digest.is_none() {
            self.values.sort_unstable_by(f64::total_cmp);
            let v = &self.values;
            let q = |p: f64| {
                if v.is_empty() {
                    return None;
                }
                let pos = p * (v.len() - 1) as f64;
                let (lo, frac) = (pos.floor() as usize, pos - pos.floor());
                let hi = (lo + 1).min(v.len() - 1);
                Some(v[lo] + (v[hi] - v[lo]) * frac)
            };
            return (QUANTILES.iter().map(|(_, p)| q(*p)).collect(), true);
        }
        self.compress();
        let d = self.digest.as_ref();
        (QUANTILES.iter().map(|(_, p)| d.map(|d| d.estimate_quantile(*p))).collect(), false)
    }

    fn size(&self) -> usize {
        self.values.capacity() * size_of::<f64>() + self.digest.as_ref().map_or(0, TDigest::size)
    }
}

/// The profile of one group.
#[derive(Debug, Default)]
struct Profile {
    counts: Counts,
    moments: Moments,
    sample: Sample,
    /// Smallest and largest string (byte order), or the extreme dates/timestamps in µs as text-free i64.
    text_min: Option<String>,
    text_max: Option<String>,
    time_min: Option<i64>,
    time_max: Option<i64>,
    top: FrequentItems,
    distinct: Hll,
}

impl Profile {
    fn add_text(&mut self, params: &Params, value: &str) {
        if let Some(check) = params.domain.check() {
            if !check(value) {
                self.counts.invalid += 1;
            }
        }
        if params.domain != Domain::None {
            // personal data: no value of the column is kept
            return;
        }
        if self.text_min.as_deref().is_none_or(|m| value < m) {
            self.text_min = Some(value.to_owned());
        }
        if self.text_max.as_deref().is_none_or(|m| value > m) {
            self.text_max = Some(value.to_owned());
        }
        self.top.add(value);
    }

    fn add_time(&mut self, t: i64) {
        self.time_min = Some(self.time_min.map_or(t, |m| m.min(t)));
        self.time_max = Some(self.time_max.map_or(t, |m| m.max(t)));
    }
}

fn micros(values: &ArrayRef) -> Result<Int64Array> {
    let ts = cast(values, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
    Ok(cast(&ts, &DataType::Int64)?.as_primitive::<Int64Type>().clone())
}

impl GroupState for Profile {
    type Params = Params;

    fn update(
        params: &Params,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let column = &values[0];
        let rows = column.len();
        let mut hashes = vec![0u64; rows];
        create_hashes([column], &HLL_RANDOM_STATE, &mut hashes)?;
        for (row, hash) in hashes.iter().enumerate() {
            if let Some(g) = group_of(row) {
                let group = &mut groups[g];
                group.counts.rows += 1;
                if column.is_null(row) {
                    group.counts.nulls += 1;
                } else {
                    group.distinct.add(*hash);
                }
            }
        }
        match params.kind {
            Kind::Number => {
                let numbers = cast(column, &DataType::Float64)?;
                let numbers = numbers.as_primitive::<Float64Type>();
                for (row, x) in numbers.iter().enumerate() {
                    let (Some(x), Some(g)) = (x, group_of(row)) else { continue };
                    let group = &mut groups[g];
                    if !x.is_finite() {
                        group.counts.non_finite += 1;
                        continue;
                    }
                    if x < 0.0 {
                        group.counts.negative += 1;
                    }
                    group.moments.add(x);
                    group.sample.push(x);
                }
            }
            Kind::Text => {
                let strings = cast(column, &DataType::Utf8)?;
                for (row, s) in strings.as_string::<i32>().iter().enumerate() {
                    if let (Some(s), Some(g)) = (s, group_of(row)) {
                        groups[g].add_text(params, s);
                    }
                }
            }
            Kind::Date | Kind::Timestamp => {
                let times = micros(column)?;
                let as_of = if params.has_as_of { Some(micros(&values[2])?) } else { None };
                for (row, t) in times.iter().enumerate() {
                    let (Some(t), Some(g)) = (t, group_of(row)) else { continue };
                    let group = &mut groups[g];
                    group.add_time(t);
                    if let Some(as_of) = &as_of {
                        if as_of.is_valid(row) && t > as_of.value(row) {
                            group.counts.future += 1;
                        }
                    }
                }
            }
            Kind::Other => {}
        }
        Ok(())
    }

    fn state(_: &Params, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        let n = groups.len();
        let mut counts = Vec::with_capacity(n * 7);
        let mut moments = Vec::new();
        let mut moment_offsets = ListOffsets::new(NAME);
        let mut sample = Vec::new();
        let mut sample_offsets = ListOffsets::new(NAME);
        let mut top_values: Vec<String> = Vec::new();
        let mut top_counts: Vec<i64> = Vec::new();
        let mut top_offsets = ListOffsets::new(NAME);
        let mut min = Vec::with_capacity(n);
        let mut max = Vec::with_capacity(n);
        let mut distinct = Vec::with_capacity(n);
        for g in groups.iter_mut() {
            let c = g.counts;
            let offset = i64::try_from(g.top.offset).unwrap_or(i64::MAX);
            counts.extend([c.rows, c.nulls, c.invalid, c.negative, c.non_finite, c.future, offset]);
            if g.moments.n > 0.0 {
                let m = g.moments;
                moments.extend([m.n, m.mean, m.m2, m.min, m.max]);
            }
            moment_offsets.push(moments.len())?;
            if g.moments.n > 0.0 {
                g.sample.write(&mut sample);
            }
            sample_offsets.push(sample.len())?;
            for (value, count) in g.top.sorted() {
                top_values.push(value.to_owned());
                top_counts.push(i64::try_from(count).unwrap_or(i64::MAX));
            }
            top_offsets.push(top_values.len())?;
            match (g.time_min, g.time_max) {
                (Some(lo), Some(hi)) => {
                    min.push(Some(format!("t{lo}")));
                    max.push(Some(format!("t{hi}")));
                }
                _ => {
                    min.push(g.text_min.clone().map(|s| format!("s{s}")));
                    max.push(g.text_max.clone().map(|s| format!("s{s}")));
                }
            }
            distinct.push(g.distinct.to_bytes());
        }
        let list = |t: DataType, offsets, values: ArrayRef| -> ArrayRef {
            Arc::new(ListArray::new(Arc::new(Field::new_list_field(t, true)), offsets, values, None))
        };
        Ok(vec![
            list(DataType::Int64, fixed_offsets(NAME, 7, n)?, Arc::new(Int64Array::from(counts))),
            list(DataType::Float64, moment_offsets.finish(), Arc::new(Float64Array::from(moments))),
            list(DataType::Float64, sample_offsets.finish(), Arc::new(Float64Array::from(sample))),
            Arc::new(StringArray::from(min)),
            Arc::new(StringArray::from(max)),
            list(DataType::Utf8, top_offsets.clone().finish(), Arc::new(StringArray::from(top_values))),
            list(DataType::Int64, top_offsets.finish(), Arc::new(Int64Array::from(top_counts))),
            Arc::new(BinaryArray::from_iter_values(distinct)),
        ])
    }

    fn merge(
        params: &Params,
        groups: &mut [Self],
        states: &[ArrayRef],
        group_of: impl Fn(usize) -> usize,
    ) -> Result<()> {
        let counts = states[0].as_list::<i32>();
        let moments = FloatLists::new(states[1].as_list::<i32>());
        let sample = FloatLists::new(states[2].as_list::<i32>());
        let min = states[3].as_string::<i32>();
        let max = states[4].as_string::<i32>();
        let top_values = states[5].as_list::<i32>();
        let top_counts = states[6].as_list::<i32>();
        let distinct = states[7].as_binary::<i32>();
        for row in 0..counts.len() {
            let group = &mut groups[group_of(row)];
            let c = counts.value(row);
            let c = c.as_primitive::<Int64Type>().values();
            let [rows, nulls, invalid, negative, non_finite, future, offset] = c[..] else {
                return exec_err!("{NAME}: malformed counts state of {} values", c.len());
            };
            let g = &mut group.counts;
            g.rows += rows;
            g.nulls += nulls;
            g.invalid += invalid;
            g.negative += negative;
            g.non_finite += non_finite;
            g.future += future;
            if let FloatListRow::Values(&[n, mean, m2, lo, hi]) = moments.row(row) {
                group.moments.merge(Moments { n, mean, m2, min: lo, max: hi });
            }
            if let FloatListRow::Values(values) = sample.row(row) {
                group.sample.merge(values)?;
            }
            for (bound, keep_smaller) in [(min, true), (max, false)] {
                if bound.is_null(row) {
                    continue;
                }
                let text = bound.value(row);
                if let Some(t) = text.strip_prefix('t') {
                    let Ok(t) = t.parse::<i64>() else {
                        return exec_err!("{NAME}: malformed time bound state {text:?}");
                    };
                    group.add_time(t);
                } else if let Some(s) = text.strip_prefix('s') {
                    let slot = if keep_smaller { &mut group.text_min } else { &mut group.text_max };
                    let better = slot.as_deref().is_none_or(|m| if keep_smaller { s < m } else { s > m });
                    if better {
                        *slot = Some(s.to_owned());
                    }
                }
            }
            if params.kind == Kind::Text {
                let values = top_values.value(row);
                let values = values.as_string::<i32>();
                let counts = top_counts.value(row);
                let counts = counts.as_primitive::<Int64Type>().values();
                let items = values
                    .iter()
                    .zip(counts.iter())
                    .filter_map(|(v, c)| Some((v?.to_owned(), u64::try_from(*c).ok()?)));
                group.top.merge(items.collect::<Vec<_>>(), u64::try_from(offset).unwrap_or(0));
            }
            if distinct.is_valid(row) {
                group.distinct.merge_bytes(distinct.value(row), NAME)?;
            }
        }
        Ok(())
    }

    fn evaluate(params: &Params, groups: &mut [Self]) -> Result<ArrayRef> {
        let n = groups.len();
        let mut rows = Vec::with_capacity(n);
        let mut nulls = Vec::with_capacity(n);
        let mut null_share = Vec::with_capacity(n);
        let mut distinct = Vec::with_capacity(n);
        let mut distinct_exact = Vec::with_capacity(n);
        let mut min = Vec::with_capacity(n);
        let mut max = Vec::with_capacity(n);
        let mut mean = Vec::with_capacity(n);
        let mut std_dev = Vec::with_capacity(n);
        let mut quantiles: Vec<Vec<Option<f64>>> = QUANTILES.iter().map(|_| Vec::with_capacity(n)).collect();
        let mut quantiles_exact = Vec::with_capacity(n);
        let mut top_value: Vec<String> = Vec::new();
        let mut top_count: Vec<i64> = Vec::new();
        let mut top_share: Vec<f64> = Vec::new();
        let mut top_offsets = ListOffsets::new(NAME);
        let mut top_valid = Vec::with_capacity(n);
        let mut top_exact = Vec::with_capacity(n);
        let mut extra: [Vec<Option<i64>>; 4] = Default::default();
        let number = params.kind == Kind::Number;
        let text = params.kind == Kind::Text;
        let temporal = matches!(params.kind, Kind::Date | Kind::Timestamp);
        let tops = text && params.domain == Domain::None;
        for g in groups.iter_mut() {
            let c = g.counts;
            rows.push(c.rows);
            nulls.push(c.nulls);
            null_share.push((c.rows > 0).then(|| c.nulls as f64 / c.rows as f64));
            let (d, exact) = g.distinct.count();
            distinct.push(i64::try_from(d).unwrap_or(i64::MAX));
            distinct_exact.push(exact);
            let m = g.moments;
            let (lo, hi) = match params.kind {
                Kind::Number if m.n > 0.0 => (Some(format_number(m.min)), Some(format_number(m.max))),
                Kind::Text => (g.text_min.clone(), g.text_max.clone()),
                Kind::Date => (g.time_min.map(format_date), g.time_max.map(format_date)),
                Kind::Timestamp => (g.time_min.map(format_timestamp), g.time_max.map(format_timestamp)),
                _ => (None, None),
            };
            min.push(lo);
            max.push(hi);
            mean.push((m.n > 0.0).then_some(m.mean));
            std_dev.push((m.n > 1.0).then(|| (m.m2 / (m.n - 1.0)).max(0.0).sqrt()));
            let (q, exact) = if number { g.sample.quantiles() } else { (vec![None; QUANTILES.len()], false) };
            for (column, value) in quantiles.iter_mut().zip(q) {
                column.push(value);
            }
            quantiles_exact.push(number.then_some(exact));
            let present = (c.rows - c.nulls).max(1) as f64;
            if tops {
                for (value, count) in g.top.sorted().into_iter().take(TOP_VALUES) {
                    top_value.push(value.to_owned());
                    top_count.push(i64::try_from(count).unwrap_or(i64::MAX));
                    top_share.push(count as f64 / present);
                }
            }
            top_offsets.push(top_value.len())?;
            top_valid.push(tops);
            top_exact.push(tops.then_some(g.top.offset == 0));
            extra[0].push(params.domain.check().map(|_| c.invalid));
            extra[1].push(number.then_some(c.negative));
            extra[2].push(number.then_some(c.non_finite));
            extra[3].push((temporal && params.has_as_of).then_some(c.future));
        }
        let top_items = StructArray::new(
            top_value_fields(),
            vec![
                Arc::new(StringArray::from(top_value)),
                Arc::new(Int64Array::from(top_count)),
                Arc::new(Float64Array::from(top_share)),
            ],
            None,
        );
        let top_values = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Struct(top_value_fields()), true)),
            top_offsets.finish(),
            Arc::new(top_items),
            Some(top_valid.into()),
        );
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![params.type_name.as_str(); n])),
            Arc::new(Int64Array::from(rows)),
            Arc::new(Int64Array::from(nulls)),
            Arc::new(Float64Array::from(null_share)),
            Arc::new(Int64Array::from(distinct)),
            Arc::new(BooleanArray::from(distinct_exact)),
            Arc::new(StringArray::from(min)),
            Arc::new(StringArray::from(max)),
            Arc::new(Float64Array::from(mean)),
            Arc::new(Float64Array::from(std_dev)),
        ];
        arrays.extend(quantiles.into_iter().map(|q| Arc::new(Float64Array::from(q)) as ArrayRef));
        arrays.push(Arc::new(BooleanArray::from(quantiles_exact)));
        arrays.push(Arc::new(top_values));
        arrays.push(Arc::new(BooleanArray::from(top_exact)));
        arrays.extend(extra.into_iter().map(|e| Arc::new(Int64Array::from(e)) as ArrayRef));
        Ok(Arc::new(StructArray::new(output_fields(), arrays, None)))
    }

    fn size(&self) -> usize {
        self.sample.size()
            + self.top.size()
            + self.distinct.size()
            + self.text_min.as_ref().map_or(0, String::capacity)
            + self.text_max.as_ref().map_or(0, String::capacity)
    }
}

/// A number as Rust prints it: integers without a fraction, others in the shortest form that reads back.
fn format_number(x: f64) -> String {
    format!("{x}")
}

/// A date (µs since the epoch, midnight) as YYYY-MM-DD; outside chrono's range, the µs count.
fn format_date(micros: i64) -> String {
    timestamp_us_to_datetime(micros).map_or_else(|| micros.to_string(), |t| t.date().to_string())
}

/// A timestamp (µs since the epoch, UTC) as YYYY-MM-DD HH:MM:SS, with .ffffff when not whole seconds.
fn format_timestamp(micros: i64) -> String {
    timestamp_us_to_datetime(micros).map_or_else(
        || micros.to_string(),
        |t| {
            let fraction = if micros.rem_euclid(1_000_000) == 0 { "" } else { "%.6f" };
            t.format(&format!("%Y-%m-%d %H:%M:%S{fraction}")).to_string()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_as_the_calendar() {
        let day = 86_400_000_000;
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(19_723 * day), "2024-01-01");
        assert_eq!(format_date(-day), "1969-12-31");
        assert_eq!(format_date(11_016 * day), "2000-02-29");
        assert_eq!(format_timestamp(1_704_067_200_000_000 + 3_723_000_000), "2024-01-01 01:02:03");
        assert_eq!(format_timestamp(1_704_067_200_000_000 + 3_723_000_001), "2024-01-01 01:02:03.000001");
    }

    #[test]
    fn exact_quantiles_interpolate_linearly() {
        let mut s = Sample::default();
        for x in [4.0, 1.0, 3.0, 2.0, 5.0] {
            s.push(x);
        }
        let (q, exact) = s.quantiles();
        assert!(exact);
        assert_eq!(q, vec![Some(1.2), Some(2.0), Some(3.0), Some(4.0), Some(4.8)]);
    }

    #[test]
    fn signed_zeros_give_the_same_extremes_in_any_order() {
        for order in [[0.0, -0.0], [-0.0, 0.0]] {
            let mut one = Moments::default();
            order.iter().for_each(|x| one.add(*x));
            let (mut a, mut b) = (Moments::default(), Moments::default());
            a.add(order[0]);
            b.add(order[1]);
            a.merge(b);
            for m in [one, a] {
                assert!(m.min == 0.0 && m.min.is_sign_negative(), "{order:?}: min {}", m.min);
                assert!(m.max == 0.0 && m.max.is_sign_positive(), "{order:?}: max {}", m.max);
            }
        }
    }
}
