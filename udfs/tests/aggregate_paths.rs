//! DataFusion's state-equivalence test for every Persona aggregate: the ways DataFusion can
//! run an aggregate must give the same result.
//!
//! For each case (an aggregate with argument generators and literal arguments) and seed, on
//! deterministic pseudo-random rows (NULLs everywhere an argument is a column, NaN in float
//! columns where the function accepts it, ties, batches that are slices of larger arrays):
//!
//! * (a) one `Accumulator` fed every row in a few batches gives the reference result;
//! * (b) the rows cut into random splits, each split fed to its own `Accumulator`, plus one
//!   empty `Accumulator` (an empty partition); their `state()`s merged with `merge_batch`
//!   into a fresh `Accumulator`, in random order and random chunks of several state rows;
//! * (c1) `GroupsAccumulator::convert_to_state` on every row, merged into a
//!   `GroupsAccumulator` as one group, equals (a);
//! * (c2) `convert_to_state` with a FILTER mask, merged into a `GroupsAccumulator` with random
//!   group ids, equals one `Accumulator` per group fed the group's kept rows;
//! * (d) `GroupsAccumulator::update_batch` with random group ids and a FILTER mask (`true`,
//!   `false` and NULL) equals one `Accumulator` per group fed the group's kept rows (a group
//!   whose rows are all filtered out is compared with an `Accumulator` that saw none);
//! * (e) two-phase grouping: rows cut into partitions, one `GroupsAccumulator` per partition
//!   with its own group ids, their `state(EmitTo::All)` merged into a final one, equals one
//!   `Accumulator` per group;
//! * (f) `evaluate(EmitTo::First(n))` then `evaluate(EmitTo::All)` gives the rows of (d)'s
//!   `evaluate(EmitTo::All)`, and (g) `state(EmitTo::First(n))` then `state(EmitTo::All)`,
//!   merged, equals (d) too;
//! * every result has the return type, and every state has the types of `state_fields`.
//!
//! Equality: integers, strings, booleans, dates and list lengths exactly; floats within a
//! relative 1e-9 (sums taken in another order), or an absolute 1e-12 for results that cancel
//! to about 0; NaN equals NaN.
//!
//! Every registered aggregate must have a case in [`cases`] (the test fails otherwise, so a
//! new aggregate must add one). Aggregates known to fail today are listed in
//! [`KNOWN_FAILURES`]; the test fails when one of them passes, so the list cannot go stale.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Float64Builder, Int32Array, Int64Array, ListBuilder,
    StringArray, TimestampMicrosecondArray, UInt32Array,
};
use arrow::compute::{cast, take};
use arrow::datatypes::{DataType, Field, FieldRef, Schema};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::type_coercion::functions::fields_with_udf;
use datafusion::logical_expr::{Accumulator, AggregateUDF, EmitTo, GroupsAccumulator};
use datafusion::physical_expr::expressions::{Column, Literal};
use datafusion::physical_expr::PhysicalExpr;

#[path = "support/fuzz.rs"]
mod fuzz;
use fuzz::{panic_message, Rng};

/// The seeds each case runs with, and the rows for each seed.
const RUNS: [(u64, usize); 5] = [(1, 240), (2, 240), (3, 240), (4, 60), (5, 60)];
/// Relative and absolute tolerance for floats.
const REL: f64 = 1e-9;
const ABS: f64 = 1e-12;

/// Aggregates whose paths disagree today, with what differs. The test fails when one of them
/// passes: fix the aggregate, then delete its entry here.
const KNOWN_FAILURES: &[(&str, &str)] = &[];

// ---------------------------------------------------------------------------------------------
// Argument generators.

/// Makes a column of the given number of rows.
type Generator = Box<dyn Fn(&mut Rng, usize) -> ArrayRef>;

/// A column argument (generated in its SQL type, then coerced as the planner would) or a
/// literal argument (a `Literal` expression, and a constant column in the batches).
enum Arg {
    Column(Generator),
    Literal(ScalarValue),
}

fn column(generate: impl Fn(&mut Rng, usize) -> ArrayRef + 'static) -> Arg {
    Arg::Column(Box::new(generate))
}

const NULLS: f64 = 0.05;
const NANS: f64 = 0.04;

/// Float64 scores in [0, 1): half on a grid of 20 values (ties), NULL and NaN included.
fn scores() -> Arg {
    column(|rng, n| {
        let values: Float64Array = (0..n)
            .map(|_| {
                if rng.chance(NULLS) {
                    None
                } else if rng.chance(NANS) {
                    Some(f64::NAN)
                } else if rng.chance(0.5) {
                    Some(rng.below(20) as f64 / 20.0)
                } else {
                    Some(rng.unit())
                }
            })
            .collect();
        Arc::new(values)
    })
}

/// Float64 values in [-50, 150), some repeated, NULL and (when `nan`) NaN included.
fn floats(nan: bool) -> Arg {
    column(move |rng, n| {
        let values: Float64Array = (0..n)
            .map(|_| {
                if rng.chance(NULLS) {
                    None
                } else if nan && rng.chance(NANS) {
                    Some(f64::NAN)
                } else if rng.chance(0.3) {
                    Some(rng.below(10) as f64 * 10.0)
                } else {
                    Some(rng.unit() * 200.0 - 50.0)
                }
            })
            .collect();
        Arc::new(values)
    })
}

/// Int32 values 0..12 (many ties), NULL included.
fn small_ints() -> Arg {
    column(|rng, n| {
        Arc::new((0..n).map(|_| (!rng.chance(NULLS)).then(|| rng.below(12) as i32)).collect::<Int32Array>())
    })
}

/// Booleans, about `p_true` true, NULL included.
fn flags(p_true: f64) -> Arg {
    column(move |rng, n| {
        Arc::new((0..n).map(|_| (!rng.chance(NULLS)).then(|| rng.chance(p_true))).collect::<BooleanArray>())
    })
}

/// Int32 0/1 labels, NULL included.
fn zero_one(p_one: f64) -> Arg {
    column(move |rng, n| {
        Arc::new((0..n).map(|_| (!rng.chance(NULLS)).then(|| i32::from(rng.chance(p_one)))).collect::<Int32Array>())
    })
}

/// Utf8 categories (one of them not ASCII), NULL included.
fn categories() -> Arg {
    const NAMES: [&str; 6] = ["north", "south", "east", "west", "central", "北京"];
    column(|rng, n| {
        Arc::new((0..n).map(|_| (!rng.chance(NULLS)).then(|| NAMES[rng.below(NAMES.len())])).collect::<StringArray>())
    })
}

/// Basket ids, about three rows per basket, a few NULL.
fn basket_ids() -> Arg {
    column(|rng, n| {
        Arc::new((0..n).map(|_| (!rng.chance(0.02)).then(|| (rng.below(n / 3 + 1)) as i64)).collect::<Int64Array>())
    })
}

/// Basket ids as strings.
fn basket_names() -> Arg {
    column(|rng, n| {
        Arc::new(
            (0..n)
                .map(|_| (!rng.chance(0.02)).then(|| format!("order-{}", rng.below(n / 3 + 1))))
                .collect::<StringArray>(),
        )
    })
}

/// Items, skewed so that a few are frequent, NULL included.
fn items() -> Arg {
    const ITEMS: [&str; 7] = ["milk", "bread", "eggs", "tea", "rice", "soap", "salt"];
    column(|rng, n| {
        Arc::new(
            (0..n)
                .map(|_| (!rng.chance(0.03)).then(|| ITEMS[rng.below(ITEMS.len()).min(rng.below(ITEMS.len()))]))
                .collect::<StringArray>(),
        )
    })
}

/// Integer items.
fn item_codes() -> Arg {
    column(|rng, n| {
        Arc::new(
            (0..n).map(|_| (!rng.chance(0.03)).then(|| rng.below(6).min(rng.below(6)) as i32)).collect::<Int32Array>(),
        )
    })
}

/// Floats in [lo, lo + width) rounded to tenths (so customers repeat), NULL and NaN included.
fn spans(lo: f64, width: f64) -> Arg {
    column(move |rng, n| {
        Arc::new(
            (0..n)
                .map(|_| {
                    if rng.chance(NULLS) {
                        None
                    } else if rng.chance(NANS) {
                        Some(f64::NAN)
                    } else {
                        Some(lo + (rng.unit() * width * 10.0).floor() / 10.0)
                    }
                })
                .collect::<Float64Array>(),
        )
    })
}

/// Two-coordinate feature vectors around three centres; some NULL vectors and some holding a NULL.
fn features() -> Arg {
    column(|rng, n| {
        const CENTRES: [(f64, f64); 3] = [(0.0, 0.0), (5.0, 5.0), (10.0, 0.0)];
        let mut builder = ListBuilder::new(Float64Builder::new());
        for _ in 0..n {
            if rng.chance(0.04) {
                builder.append_null();
                continue;
            }
            let (x, y) = CENTRES[rng.below(3)];
            builder.values().append_value(x + rng.unit() * 2.0 - 1.0);
            if rng.chance(0.03) {
                builder.values().append_null();
            } else {
                builder.values().append_value(y + rng.unit() * 2.0 - 1.0);
            }
            builder.append(true);
        }
        Arc::new(builder.finish())
    })
}

/// 2025-01-01 as days since the epoch.
const DAY0: i32 = 20_089;

/// Timestamps (microseconds, no zone) in 2025, NULL included.
fn timestamps() -> Arg {
    column(|rng, n| {
        Arc::new(
            (0..n)
                .map(|_| {
                    (!rng.chance(NULLS)).then(|| {
                        (i64::from(DAY0) + rng.below(365) as i64) * 86_400_000_000
                            + rng.below(86_400) as i64 * 1_000_000
                    })
                })
                .collect::<TimestampMicrosecondArray>(),
        )
    })
}

/// Dates in 2025, NULL included.
fn dates() -> Arg {
    column(|rng, n| {
        Arc::new((0..n).map(|_| (!rng.chance(NULLS)).then(|| DAY0 + rng.below(365) as i32)).collect::<Date32Array>())
    })
}

/// Purchase amounts (some refunds), NULL included; no NaN (rfm rejects it).
fn amounts() -> Arg {
    column(|rng, n| {
        Arc::new(
            (0..n)
                .map(|_| {
                    (!rng.chance(NULLS)).then(|| if rng.chance(0.05) { -rng.unit() * 50.0 } else { rng.unit() * 500.0 })
                })
                .collect::<Float64Array>(),
        )
    })
}

/// Integer order keys, NULL included.
fn order_keys() -> Arg {
    column(|rng, n| {
        Arc::new((0..n).map(|_| (!rng.chance(0.03)).then(|| rng.below(n / 4 + 1) as i64)).collect::<Int64Array>())
    })
}

fn lit(value: ScalarValue) -> Arg {
    Arg::Literal(value)
}

fn f64_lit(v: f64) -> Arg {
    lit(ScalarValue::Float64(Some(v)))
}

fn i64_lit(v: i64) -> Arg {
    lit(ScalarValue::Int64(Some(v)))
}

/// A list literal such as `[10, 40, 80]`.
fn list_lit<T: Copy>(values: &[T], item: fn(T) -> ScalarValue, item_type: DataType) -> Arg {
    let items: Vec<ScalarValue> = values.iter().map(|v| item(*v)).collect();
    lit(ScalarValue::List(ScalarValue::new_list_nullable(&items, &item_type)))
}

fn f64_list(values: &[f64]) -> Arg {
    list_lit(values, |v| ScalarValue::Float64(Some(v)), DataType::Float64)
}

fn i64_list(values: &[i64]) -> Arg {
    list_lit(values, |v| ScalarValue::Int64(Some(v)), DataType::Int64)
}

/// Cut points as `shared_edges` gives them (the optimizer wraps `psi_histogram`'s edges): a
/// dictionary of one list, every row key 0.
fn shared_f64_list(values: &[f64]) -> Arg {
    let items: Vec<ScalarValue> = values.iter().map(|v| ScalarValue::Float64(Some(*v))).collect();
    let list = ScalarValue::List(ScalarValue::new_list_nullable(&items, &DataType::Float64));
    lit(ScalarValue::Dictionary(Box::new(DataType::Int32), Box::new(list)))
}

/// One way to call an aggregate.
struct Case {
    function: &'static str,
    label: &'static str,
    args: Vec<Arg>,
}

fn case(function: &'static str, label: &'static str, args: Vec<Arg>) -> Case {
    Case { function, label, args }
}

/// The cases, per aggregate: argument types and literals from each function's documentation.
fn cases() -> Vec<Case> {
    vec![
        // basket
        case("frequent_itemsets", "int baskets, string items", vec![basket_ids(), items(), f64_lit(0.2)]),
        case(
            "frequent_itemsets",
            "string baskets, integer items, max_len",
            vec![basket_names(), item_codes(), f64_lit(0.15), i64_lit(2)],
        ),
        case("rule_stats", "flags", vec![flags(0.4), flags(0.5)]),
        // drift
        case("js_divergence", "floats, default bins", vec![floats(true), flags(0.5)]),
        case("js_divergence", "ints, 4 bins", vec![small_ints(), flags(0.5), i64_lit(4)]),
        case("js_divergence", "categories", vec![categories(), flags(0.5)]),
        case("js_divergence", "cut points", vec![floats(true), flags(0.5), f64_list(&[0.0, 25.5, 50.0, 100.0])]),
        case("ks_2samp", "floats", vec![floats(true), flags(0.5)]),
        case("ks_2samp", "ints (ties)", vec![small_ints(), flags(0.4)]),
        case("psi", "floats, default bins", vec![floats(true), flags(0.5)]),
        case("psi", "ints, 5 bins, epsilon", vec![small_ints(), flags(0.5), i64_lit(5), f64_lit(0.001)]),
        case(
            "psi",
            "cut points, no smoothing",
            vec![floats(true), flags(0.5), i64_list(&[0, 25, 50, 100]), f64_lit(0.0)],
        ),
        case("psi", "categories", vec![categories(), flags(0.5)]),
        case("psi", "boolean categories, NULL bins", vec![flags(0.3), flags(0.5), lit(ScalarValue::Null)]),
        case("psi_bins", "floats, 4 bins", vec![floats(true), flags(0.5), i64_lit(4)]),
        case("psi_bins", "cut points, epsilon", vec![floats(true), flags(0.5), f64_list(&[10.0, 60.0]), f64_lit(0.01)]),
        case("psi_bins", "categories", vec![categories(), flags(0.5)]),
        case("psi_edges", "floats", vec![floats(true)]),
        case("psi_edges", "ints, 4 bins", vec![small_ints(), i64_lit(4)]),
        case("psi_histogram", "floats", vec![floats(true), f64_list(&[0.0, 20.0, 40.0, 90.0])]),
        case("psi_histogram", "ints, integer cut points", vec![small_ints(), i64_list(&[2, 5, 9])]),
        case("psi_histogram", "floats, shared edges", vec![floats(true), shared_f64_list(&[0.0, 20.0, 40.0, 90.0])]),
        // evaluation
        case("auc", "0/1 labels", vec![scores(), zero_one(0.3)]),
        case("auc", "boolean labels", vec![scores(), flags(0.5)]),
        case("gini", "0/1 labels", vec![scores(), zero_one(0.4)]),
        case("ks_statistic", "0/1 labels", vec![scores(), zero_one(0.4)]),
        case("ks_statistic", "boolean labels", vec![small_ints(), flags(0.3)]),
        case("gains_table", "4 groups", vec![scores(), zero_one(0.3), i64_lit(4)]),
        case("gains_table", "default groups, boolean labels", vec![scores(), flags(0.4)]),
        case("information_value", "breaks", vec![floats(true), zero_one(0.3), i64_list(&[10, 40, 80])]),
        case(
            "information_value",
            "breaks, right closed",
            vec![floats(true), flags(0.3), f64_list(&[0.0, 50.0]), lit(ScalarValue::Boolean(Some(true)))],
        ),
        case("information_value", "categories", vec![categories(), zero_one(0.3)]),
        case("woe_table", "breaks", vec![floats(true), zero_one(0.3), i64_list(&[10, 40, 80])]),
        case("woe_table", "categories, NULL breaks", vec![categories(), flags(0.4), lit(ScalarValue::Null)]),
        case("woe_table", "boolean categories", vec![flags(0.6), zero_one(0.3)]),
        case("qini_auc_score", "0/1", vec![scores(), zero_one(0.3), zero_one(0.5)]),
        case("qini_auc_score", "booleans", vec![scores(), flags(0.3), flags(0.6)]),
        case("qini_curve", "0/1", vec![scores(), zero_one(0.3), zero_one(0.5)]),
        case("uplift_auc_score", "0/1", vec![scores(), zero_one(0.3), zero_one(0.5)]),
        case("uplift_curve", "booleans", vec![scores(), flags(0.3), flags(0.5)]),
        case("uplift_at_k", "overall", vec![scores(), zero_one(0.3), zero_one(0.5), f64_lit(0.3)]),
        case(
            "uplift_at_k",
            "by_group",
            vec![scores(), flags(0.3), flags(0.5), f64_lit(0.5), lit(ScalarValue::Utf8(Some("by_group".into())))],
        ),
        case("response_lift", "0/1 outcome", vec![flags(0.5), zero_one(0.3)]),
        case("response_lift", "boolean outcome, confidence", vec![flags(0.6), flags(0.4), f64_lit(0.9)]),
        case("welch_ttest", "floats", vec![flags(0.5), floats(true)]),
        case("column_profile", "floats", vec![floats(true)]),
        case("column_profile", "ints", vec![small_ints()]),
        case("column_profile", "categories", vec![categories()]),
        case("column_profile", "timestamps, as_of", vec![timestamps(), lit(ScalarValue::Utf8(None)), timestamps()]),
        case("column_profile", "dates", vec![dates()]),
        case("welch_ttest", "ints, confidence", vec![flags(0.5), small_ints(), f64_lit(0.99)]),
        // lifetime: recency in [0, 40) never exceeds T in [40, 50)
        case("bgnbd_fit", "whole frequencies", vec![small_ints(), spans(0.0, 40.0), spans(40.0, 10.0)]),
        case("bgnbd_fit", "penalizer", vec![small_ints(), spans(0.0, 40.0), spans(40.0, 10.0), f64_lit(0.01)]),
        case("pareto_nbd_fit", "whole frequencies", vec![small_ints(), spans(0.0, 40.0), spans(40.0, 10.0)]),
        case("gamma_gamma_fit", "amounts, refunds skipped", vec![small_ints(), amounts()]),
        case("clv_summary", "timestamps", vec![timestamps(), amounts(), lit(ScalarValue::Date32(Some(DAY0 + 300)))]),
        case(
            "clv_summary",
            "dates, weeks",
            vec![
                dates(),
                small_ints(),
                lit(ScalarValue::Date32(Some(DAY0 + 365))),
                lit(ScalarValue::Utf8(Some("week".into()))),
            ],
        ),
        case(
            "clv_holdout",
            "dates",
            vec![dates(), lit(ScalarValue::Date32(Some(DAY0 + 150))), lit(ScalarValue::Date32(Some(DAY0 + 300)))],
        ),
        // model
        case("auto_bins", "tree, 0/1 labels", vec![floats(true), zero_one(0.3)]),
        case(
            "auto_bins",
            "chimerge, booleans, limits",
            vec![floats(true), flags(0.4), lit(ScalarValue::Utf8(Some("chimerge".into()))), i64_lit(5), f64_lit(0.1)],
        ),
        case("decision_tree_fit", "0/1 labels, defaults", vec![zero_one(0.3), features()]),
        case(
            "decision_tree_fit",
            "boolean labels, depth 3, leaf 5, entropy",
            vec![flags(0.4), features(), i64_lit(3), i64_lit(5), lit(ScalarValue::Utf8(Some("entropy".into())))],
        ),
        case("isolation_forest_fit", "10 trees of 32", vec![features(), i64_lit(10), i64_lit(32)]),
        case("isolation_forest_fit", "5 trees of 500, seed", vec![features(), i64_lit(5), i64_lit(500), i64_lit(3)]),
        case("linear_regression", "floats with NaN", vec![floats(true), features()]),
        case("logistic_regression", "0/1 labels", vec![zero_one(0.3), features()]),
        case(
            "logistic_regression",
            "boolean labels, l2, max_iter",
            vec![flags(0.4), features(), f64_lit(0.5), i64_lit(50)],
        ),
        // recommend
        case(
            "als_fit",
            "int feedback, 3 factors",
            vec![basket_ids(), items(), small_ints(), i64_lit(3), f64_lit(0.1), i64_lit(5)],
        ),
        case(
            "als_fit",
            "string users, integer items, alpha, seed",
            vec![
                basket_names(),
                item_codes(),
                small_ints(),
                i64_lit(2),
                f64_lit(0.5),
                i64_lit(3),
                f64_lit(2.0),
                i64_lit(11),
            ],
        ),
        case("item_similarity", "int users, string items", vec![basket_ids(), items()]),
        case(
            "item_similarity",
            "string users, integer items, jaccard, min 2",
            vec![basket_names(), item_codes(), lit(ScalarValue::Utf8(Some("jaccard".into()))), i64_lit(2)],
        ),
        case(
            "item_similarity",
            "lift",
            vec![basket_ids(), items(), lit(ScalarValue::Utf8(Some("lift".into()))), i64_lit(1)],
        ),
        case(
            "item_similarity",
            "conditional, min 3",
            vec![basket_ids(), items(), lit(ScalarValue::Utf8(Some("conditional".into()))), i64_lit(3)],
        ),
        case("item_similarity_weighted", "weights with NaN", vec![basket_ids(), items(), floats(true)]),
        case(
            "item_similarity_weighted",
            "string users, integer items, min 2",
            vec![basket_names(), item_codes(), floats(false), i64_lit(2)],
        ),
        // segment
        case("kmeans", "k 2", vec![features(), i64_lit(2)]),
        case("kmeans", "k 3, seed, n_init", vec![features(), i64_lit(3), i64_lit(7), i64_lit(2)]),
        case("rfm", "timestamps, by day", vec![timestamps(), amounts(), lit(ScalarValue::Date32(Some(DAY0 + 365)))]),
        case(
            "rfm",
            "dates, integer amounts, order keys",
            vec![dates(), small_ints(), lit(ScalarValue::Date32(Some(DAY0 + 200))), order_keys()],
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Building accumulators as the physical planner does.

/// An aggregate call with its coerced argument fields and expressions.
struct Call {
    udaf: Arc<AggregateUDF>,
    name: String,
    schema: Schema,
    exprs: Vec<Arc<dyn PhysicalExpr>>,
    fields: Vec<FieldRef>,
    return_field: FieldRef,
    state_types: Vec<DataType>,
}

impl Call {
    fn args(&self) -> AccumulatorArgs<'_> {
        AccumulatorArgs {
            return_field: Arc::clone(&self.return_field),
            schema: &self.schema,
            ignore_nulls: false,
            order_bys: &[],
            is_reversed: false,
            name: &self.name,
            is_distinct: false,
            exprs: &self.exprs,
            expr_fields: &self.fields,
        }
    }

    fn accumulator(&self) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(Counted(self.udaf.accumulator(self.args())?)))
    }

    fn groups_supported(&self) -> bool {
        self.udaf.groups_accumulator_supported(self.args())
    }

    fn groups(&self) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(CountedGroups(self.udaf.create_groups_accumulator(self.args())?)))
    }
}

thread_local! {
    /// The batches this thread has fed to accumulators: every `update_batch`, `merge_batch` and
    /// `convert_to_state` call, counted by the wrappers below (the long run's figures).
    static BATCHES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn fed() {
    BATCHES.with(|b| b.set(b.get() + 1));
}

fn batches_fed() -> u64 {
    BATCHES.with(std::cell::Cell::get)
}

/// An `Accumulator` that counts the batches it is given.
#[derive(Debug)]
struct Counted(Box<dyn Accumulator>);

impl Accumulator for Counted {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        fed();
        self.0.update_batch(values)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.0.evaluate()
    }

    fn size(&self) -> usize {
        self.0.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.0.state()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        fed();
        self.0.merge_batch(states)
    }
}

/// A `GroupsAccumulator` that counts the batches it is given.
struct CountedGroups(Box<dyn GroupsAccumulator>);

impl GroupsAccumulator for CountedGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        fed();
        self.0.update_batch(values, group_indices, opt_filter, total_num_groups)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        self.0.evaluate(emit_to)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        self.0.state(emit_to)
    }

    fn merge_batch(&mut self, values: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        fed();
        self.0.merge_batch(values, group_indices, total_num_groups)
    }

    fn convert_to_state(&self, values: &[ArrayRef], opt_filter: Option<&BooleanArray>) -> Result<Vec<ArrayRef>> {
        fed();
        self.0.convert_to_state(values, opt_filter)
    }

    fn size(&self) -> usize {
        self.0.size()
    }
}

/// Coerces the case's arguments, builds the call and the input columns (coerced, `rows` long).
fn prepare(udaf: &Arc<AggregateUDF>, case: &Case, rng: &mut Rng, rows: usize) -> Result<(Call, Vec<ArrayRef>)> {
    /// An argument before coercion.
    enum Raw {
        Column(ArrayRef),
        Literal(ScalarValue),
    }
    let raw: Vec<Raw> = case
        .args
        .iter()
        .map(|arg| match arg {
            Arg::Column(generate) => Raw::Column(generate(rng, rows)),
            Arg::Literal(value) => Raw::Literal(value.clone()),
        })
        .collect();
    let input_fields: Vec<FieldRef> = raw
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let data_type = match a {
                Raw::Column(array) => array.data_type().clone(),
                Raw::Literal(value) => value.data_type(),
            };
            Arc::new(Field::new(format!("c{i}"), data_type, true))
        })
        .collect();
    let fields = fields_with_udf(&input_fields, udaf.as_ref())?;
    let mut exprs: Vec<Arc<dyn PhysicalExpr>> = Vec::new();
    let mut inputs = Vec::new();
    for (i, (a, field)) in raw.into_iter().zip(&fields).enumerate() {
        match a {
            Raw::Column(array) => {
                inputs.push(cast(&array, field.data_type())?);
                exprs.push(Arc::new(Column::new(&format!("c{i}"), i)));
            }
            Raw::Literal(value) => {
                let value = value.cast_to(field.data_type())?;
                inputs.push(value.to_array_of_size(rows)?);
                exprs.push(Arc::new(Literal::new(value)));
            }
        }
    }
    let return_field = udaf.return_field(&fields)?;
    let name = format!("{}({})", udaf.name(), (0..fields.len()).map(|i| format!("c{i}")).collect::<Vec<_>>().join(","));
    let state_types = udaf
        .state_fields(StateFieldsArgs {
            name: &name,
            input_fields: &fields,
            return_field: Arc::clone(&return_field),
            ordering_fields: &[],
            is_distinct: false,
        })?
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    let schema = Schema::new(fields.clone());
    Ok((Call { udaf: Arc::clone(udaf), name, schema, exprs, fields, return_field, state_types }, inputs))
}

// ---------------------------------------------------------------------------------------------
// Comparable values.

/// A result value, nested values included, with floats compared within the tolerance.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    List(Vec<V>),
    Struct(Vec<(String, V)>),
    /// Anything else (dates, timestamps) by its text.
    Other(String),
}

fn cell(array: &dyn Array, row: usize) -> Result<V> {
    scalar(&ScalarValue::try_from_array(array, row)?)
}

fn list(values: &ArrayRef) -> Result<V> {
    Ok(V::List((0..values.len()).map(|i| cell(values.as_ref(), i)).collect::<Result<_>>()?))
}

fn scalar(s: &ScalarValue) -> Result<V> {
    if s.is_null() {
        return Ok(V::Null);
    }
    Ok(match s {
        ScalarValue::Boolean(Some(b)) => V::Bool(*b),
        ScalarValue::Int8(Some(v)) => V::Int(i128::from(*v)),
        ScalarValue::Int16(Some(v)) => V::Int(i128::from(*v)),
        ScalarValue::Int32(Some(v)) => V::Int(i128::from(*v)),
        ScalarValue::Int64(Some(v)) => V::Int(i128::from(*v)),
        ScalarValue::UInt8(Some(v)) => V::Int(i128::from(*v)),
        ScalarValue::UInt16(Some(v)) => V::Int(i128::from(*v)),
        ScalarValue::UInt32(Some(v)) => V::Int(i128::from(*v)),
        ScalarValue::UInt64(Some(v)) => V::Int(i128::from(*v)),
        ScalarValue::Float32(Some(v)) => V::Float(f64::from(*v)),
        ScalarValue::Float64(Some(v)) => V::Float(*v),
        ScalarValue::Utf8(Some(v)) | ScalarValue::LargeUtf8(Some(v)) | ScalarValue::Utf8View(Some(v)) => {
            V::Str(v.clone())
        }
        ScalarValue::List(a) => list(&a.value(0))?,
        ScalarValue::LargeList(a) => list(&a.value(0))?,
        ScalarValue::FixedSizeList(a) => list(&a.value(0))?,
        ScalarValue::Struct(a) => V::Struct(
            a.fields()
                .iter()
                .zip(a.columns())
                .map(|(f, c)| Ok((f.name().clone(), cell(c.as_ref(), 0)?)))
                .collect::<Result<_>>()?,
        ),
        other => V::Other(other.to_string()),
    })
}

fn floats_equal(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true; // equal infinities too
    }
    if a.is_infinite() || b.is_infinite() {
        return false;
    }
    let d = (a - b).abs();
    d <= REL * a.abs().max(b.abs()) || d <= ABS
}

/// Short text of a value for a report.
fn show(v: &V) -> String {
    let text = format!("{v:?}");
    if text.chars().count() > 300 {
        format!("{}…", text.chars().take(300).collect::<String>())
    } else {
        text
    }
}

/// Where `got` and `want` differ first, or `None` when they are equal.
fn diff(got: &V, want: &V, path: &str) -> Option<String> {
    match (got, want) {
        (V::Float(a), V::Float(b)) => (!floats_equal(*a, *b)).then(|| format!("{path}: {a:?}, expected {b:?}")),
        (V::List(a), V::List(b)) => {
            if a.len() != b.len() {
                return Some(format!(
                    "{path}: {} elements, expected {}: {} vs {}",
                    a.len(),
                    b.len(),
                    show(got),
                    show(want)
                ));
            }
            a.iter().zip(b).enumerate().find_map(|(i, (x, y))| diff(x, y, &format!("{path}[{i}]")))
        }
        (V::Struct(a), V::Struct(b)) => {
            if a.iter().map(|f| &f.0).ne(b.iter().map(|f| &f.0)) {
                return Some(format!("{path}: fields {} vs {}", show(got), show(want)));
            }
            a.iter().zip(b).find_map(|((name, x), (_, y))| diff(x, y, &format!("{path}.{name}")))
        }
        _ => (got != want).then(|| format!("{path}: {}, expected {}", show(got), show(want))),
    }
}

// ---------------------------------------------------------------------------------------------
// The paths.

/// Random contiguous batches covering 0..n.
fn batches(rng: &mut Rng, n: usize) -> Vec<Range<usize>> {
    let mut points: Vec<usize> = (0..rng.below(4)).map(|_| rng.below(n + 1)).collect();
    points.extend([0, n]);
    points.sort_unstable();
    points.dedup();
    points.windows(2).map(|w| w[0]..w[1]).collect()
}

fn slice(arrays: &[ArrayRef], range: &Range<usize>) -> Vec<ArrayRef> {
    arrays.iter().map(|a| a.slice(range.start, range.len())).collect()
}

fn take_rows(arrays: &[ArrayRef], rows: &[u32]) -> Result<Vec<ArrayRef>> {
    let indices = UInt32Array::from(rows.to_vec());
    Ok(arrays.iter().map(|a| take(a.as_ref(), &indices, None)).collect::<Result<_, _>>()?)
}

fn rows_of(array: &ArrayRef) -> Result<Vec<V>> {
    (0..array.len()).map(|i| cell(array.as_ref(), i)).collect()
}

/// Rows as state arrays: one array per state field.
fn state_arrays(states: &[Vec<ScalarValue>], fields: usize) -> Result<Vec<ArrayRef>> {
    (0..fields).map(|f| ScalarValue::iter_to_array(states.iter().map(|s| s[f].clone()))).collect()
}

/// Group ids as DataFusion assigns them: in order of first appearance.
struct Groups {
    index: Vec<usize>,
    /// Groups seen in rows 0..=r.
    seen: Vec<usize>,
    total: usize,
}

impl Groups {
    fn new(keys: &[usize]) -> Self {
        let mut ids = HashMap::new();
        let mut seen = Vec::with_capacity(keys.len());
        let index = keys
            .iter()
            .map(|k| {
                let next = ids.len();
                let id = *ids.entry(*k).or_insert(next);
                seen.push(ids.len());
                id
            })
            .collect();
        Self { index, seen, total: ids.len() }
    }

    /// `total_num_groups` after the rows before `end`.
    fn total_at(&self, end: usize) -> usize {
        if end == 0 {
            0
        } else {
            self.seen[end - 1]
        }
    }
}

/// One Accumulator per group over the rows `keep` accepts (possibly none).
fn per_group(call: &Call, inputs: &[ArrayRef], groups: &Groups, keep: &dyn Fn(usize) -> bool) -> Result<Vec<V>> {
    let mut rows: Vec<Vec<u32>> = vec![Vec::new(); groups.total];
    for (r, &g) in groups.index.iter().enumerate() {
        if keep(r) {
            rows[g].push(r as u32);
        }
    }
    rows.iter()
        .map(|rows| {
            let mut acc = call.accumulator()?;
            acc.update_batch(&take_rows(inputs, rows)?)?;
            scalar(&acc.evaluate()?)
        })
        .collect()
}

/// A state change for the self-test: applied to the first split's state in path (b).
type Perturb = fn(&mut [ScalarValue]);

/// Runs every path for one case and seed; the differences found, as text.
fn check(udaf: &Arc<AggregateUDF>, case: &Case, seed: u64, rows: usize, perturb: Option<Perturb>) -> Vec<String> {
    let tag = format!("{} [{}] seed {seed}, {rows} rows", case.function, case.label);
    match run_paths(udaf, case, Rng::new(seed), rows, perturb, None) {
        Ok(failures) => failures.into_iter().map(|f| format!("{tag}: {f}")).collect(),
        Err(e) => vec![format!("{tag}: {e}")],
    }
}

fn run_paths(
    udaf: &Arc<AggregateUDF>,
    case: &Case,
    mut rng: Rng,
    rows: usize,
    perturb: Option<Perturb>,
    hostile: Option<bool>,
) -> Result<Vec<String>> {
    let (call, mut inputs) =
        prepare(udaf, case, &mut rng, rows).map_err(|e| e.context("coercing the arguments and building the call"))?;
    if let Some(huge) = hostile {
        for (input, arg) in inputs.iter_mut().zip(&case.args) {
            if matches!(arg, Arg::Column(_)) {
                *input = hostile_values(&mut rng, input, huge)?;
            }
        }
    }
    let return_type = call.return_field.data_type().clone();
    let mut failures = Vec::new();

    // (a) one Accumulator over every row
    let mut acc = call.accumulator()?;
    for range in batches(&mut rng, rows) {
        acc.update_batch(&slice(&inputs, &range)).map_err(|e| e.context("(a) update_batch"))?;
    }
    let whole = acc.evaluate().map_err(|e| e.context("(a) evaluate"))?;
    check_type(&mut failures, "(a) the Accumulator's result", &whole.data_type(), &return_type);
    let whole = scalar(&whole)?;

    // (b) random splits, states merged in random order
    let mut parts: Vec<Vec<u32>> = vec![Vec::new(); 2 + rng.below(4)];
    for r in 0..rows {
        let p = rng.below(parts.len());
        parts[p].push(r as u32);
    }
    let mut states = Vec::new();
    for part in &parts {
        let mut acc = call.accumulator()?;
        let arrays = take_rows(&inputs, part)?;
        for range in batches(&mut rng, part.len()) {
            acc.update_batch(&slice(&arrays, &range)).map_err(|e| e.context("(b) update_batch of a split"))?;
        }
        states.push(acc.state().map_err(|e| e.context("(b) state of a split"))?);
    }
    states.push(call.accumulator()?.state().map_err(|e| e.context("(b) state of an empty accumulator"))?);
    for state in &states {
        let types: Vec<DataType> = state.iter().map(ScalarValue::data_type).collect();
        if types.len() != call.state_types.len()
            || types.iter().zip(&call.state_types).any(|(a, b)| !a.equals_datatype(b))
        {
            failures.push(format!("(b) Accumulator::state types {types:?}, state_fields say {:?}", call.state_types));
            break;
        }
    }
    if let Some(perturb) = perturb {
        perturb(&mut states[0]);
    }
    rng.shuffle(&mut states);
    let mut merged = call.accumulator()?;
    let mut i = 0;
    while i < states.len() {
        let chunk = 1 + rng.below(states.len() - i);
        let arrays = state_arrays(&states[i..i + chunk], call.state_types.len())?;
        merged.merge_batch(&arrays).map_err(|e| e.context("(b) merge_batch"))?;
        i += chunk;
    }
    let merged = scalar(&merged.evaluate().map_err(|e| e.context("(b) evaluate after merging"))?)?;
    if let Some(d) = diff(&merged, &whole, "result") {
        failures.push(format!("(b) split states merged differ from one Accumulator: {d}"));
    }

    if !call.groups_supported() {
        return Ok(failures);
    }

    // groups and FILTER mask shared by (c2)-(g): four groups of unequal size, and a fifth
    // whose three rows are all filtered out (it exists, but no row reaches the aggregate)
    let mut keys: Vec<usize> = (0..rows).map(|_| [0, 0, 0, 0, 1, 1, 1, 2, 2, 3][rng.below(10)]).collect();
    let mut mask: Vec<Option<bool>> =
        (0..rows).map(|_| if rng.chance(0.05) { None } else { Some(rng.chance(0.85)) }).collect();
    for _ in 0..3 {
        let r = rng.below(rows);
        keys[r] = 4;
        mask[r] = if rng.chance(0.5) { None } else { Some(false) };
    }
    let groups = Groups::new(&keys);
    let mask = BooleanArray::from(mask);
    let kept = |r: usize| mask.is_valid(r) && mask.value(r);
    let filtered_refs = per_group(&call, &inputs, &groups, &kept).map_err(|e| e.context("per-group Accumulators"))?;
    let all_refs = per_group(&call, &inputs, &groups, &|_| true).map_err(|e| e.context("per-group Accumulators"))?;
    if std::env::var_os("AGGREGATE_PATHS_DUMP").is_some() {
        eprintln!(
            "{} [{}]: {}\n  per group: {}",
            case.function,
            case.label,
            show(&whole),
            show(&V::List(filtered_refs.clone()))
        );
    }
    // a case whose results are all NULL would compare nothing (small runs may: some functions
    // give NULL for groups of a few rows)
    if rows >= 200 && (whole == V::Null || filtered_refs.iter().filter(|v| **v != V::Null).count() < 2) {
        failures.push(format!(
            "the case checks little: NULL over all rows, or fewer than 2 non-NULL groups: {} / {}",
            show(&whole),
            show(&V::List(filtered_refs.clone()))
        ));
    }

    // (c1) convert_to_state of every row, merged as one group
    let converter = call.groups()?;
    let mut one = call.groups()?;
    for range in batches(&mut rng, rows) {
        let states = converter
            .convert_to_state(&slice(&inputs, &range), None)
            .map_err(|e| e.context("(c1) convert_to_state"))?;
        one.merge_batch(&states, &vec![0; range.len()], 1).map_err(|e| e.context("(c1) merge_batch"))?;
    }
    let got = rows_of(&one.evaluate(EmitTo::All).map_err(|e| e.context("(c1) evaluate"))?)?;
    failures.extend(compare(
        "(c1) convert_to_state + merge as one group vs one Accumulator",
        &got,
        std::slice::from_ref(&whole),
    ));

    // (c2) convert_to_state with a FILTER mask, merged into random groups
    let mut grouped = call.groups()?;
    for range in batches(&mut rng, rows) {
        let states = converter
            .convert_to_state(&slice(&inputs, &range), Some(&mask.slice(range.start, range.len())))
            .map_err(|e| e.context("(c2) convert_to_state"))?;
        if states.len() != call.state_types.len()
            || states.iter().zip(&call.state_types).any(|(a, b)| !a.data_type().equals_datatype(b))
        {
            let types: Vec<&DataType> = states.iter().map(|a| a.data_type()).collect();
            failures.push(format!("(c2) convert_to_state types {types:?}, state_fields say {:?}", call.state_types));
        }
        grouped
            .merge_batch(&states, &groups.index[range.clone()], groups.total_at(range.end))
            .map_err(|e| e.context("(c2) merge_batch"))?;
    }
    let got = rows_of(&grouped.evaluate(EmitTo::All).map_err(|e| e.context("(c2) evaluate"))?)?;
    failures.extend(compare("(c2) filtered convert_to_state + merge vs per-group Accumulators", &got, &filtered_refs));

    // (d) GroupsAccumulator with a FILTER mask vs one Accumulator per group
    let ranges = batches(&mut rng, rows);
    let feed = |ga: &mut Box<dyn GroupsAccumulator>| -> Result<()> {
        for range in &ranges {
            ga.update_batch(
                &slice(&inputs, range),
                &groups.index[range.clone()],
                Some(&mask.slice(range.start, range.len())),
                groups.total_at(range.end),
            )
            .map_err(|e| e.context("(d) update_batch"))?;
        }
        Ok(())
    };
    let mut ga = call.groups()?;
    feed(&mut ga)?;
    let all = ga.evaluate(EmitTo::All).map_err(|e| e.context("(d) evaluate"))?;
    check_type(&mut failures, "(d) the GroupsAccumulator's result", all.data_type(), &return_type);
    let all = rows_of(&all)?;
    failures.extend(compare("(d) GroupsAccumulator with FILTER vs per-group Accumulators", &all, &filtered_refs));

    // (e) two-phase: a GroupsAccumulator per partition, states merged into a final one
    let mut partitions: Vec<Vec<usize>> = vec![Vec::new(); 2 + rng.below(3)];
    for r in 0..rows {
        let p = rng.below(partitions.len());
        partitions[p].push(r);
    }
    rng.shuffle(&mut partitions);
    let mut last = call.groups()?;
    for rows in &partitions {
        let local = Groups::new(&rows.iter().map(|&r| groups.index[r]).collect::<Vec<_>>());
        let mut to_global = vec![0; local.total];
        for (i, &r) in rows.iter().enumerate() {
            to_global[local.index[i]] = groups.index[r];
        }
        let arrays = take_rows(&inputs, &rows.iter().map(|&r| r as u32).collect::<Vec<_>>())?;
        let mut partial = call.groups()?;
        for range in batches(&mut rng, rows.len()) {
            partial
                .update_batch(&slice(&arrays, &range), &local.index[range.clone()], None, local.total_at(range.end))
                .map_err(|e| e.context("(e) update_batch of a partition"))?;
        }
        let states = partial.state(EmitTo::All).map_err(|e| e.context("(e) state of a partition"))?;
        if states.iter().zip(&call.state_types).any(|(a, b)| !a.data_type().equals_datatype(b)) {
            let types: Vec<&DataType> = states.iter().map(|a| a.data_type()).collect();
            failures
                .push(format!("(e) GroupsAccumulator::state types {types:?}, state_fields say {:?}", call.state_types));
        }
        last.merge_batch(&states, &to_global, groups.total).map_err(|e| e.context("(e) merge_batch"))?;
    }
    let got = rows_of(&last.evaluate(EmitTo::All).map_err(|e| e.context("(e) evaluate"))?)?;
    failures.extend(compare("(e) two-phase GroupsAccumulators vs per-group Accumulators", &got, &all_refs));

    // (f) evaluate(First(n)) then evaluate(All) vs evaluate(All)
    let n = 1 + rng.below(groups.total);
    let mut ga = call.groups()?;
    feed(&mut ga)?;
    let mut got = rows_of(&ga.evaluate(EmitTo::First(n)).map_err(|e| e.context("(f) evaluate(First)"))?)?;
    got.extend(rows_of(&ga.evaluate(EmitTo::All).map_err(|e| e.context("(f) evaluate(All) after First"))?)?);
    failures.extend(compare(&format!("(f) evaluate(First({n})) + evaluate(All) vs evaluate(All)"), &got, &all));

    // (g) state(First(n)) then state(All), merged, vs evaluate(All)
    let mut ga = call.groups()?;
    feed(&mut ga)?;
    let first = ga.state(EmitTo::First(n)).map_err(|e| e.context("(g) state(First)"))?;
    let rest = ga.state(EmitTo::All).map_err(|e| e.context("(g) state(All) after First"))?;
    let mut last = call.groups()?;
    last.merge_batch(&first, &(0..n).collect::<Vec<_>>(), groups.total).map_err(|e| e.context("(g) merge_batch"))?;
    last.merge_batch(&rest, &(n..groups.total).collect::<Vec<_>>(), groups.total)
        .map_err(|e| e.context("(g) merge_batch"))?;
    let got = rows_of(&last.evaluate(EmitTo::All).map_err(|e| e.context("(g) evaluate"))?)?;
    failures.extend(compare(&format!("(g) state(First({n})) + state(All), merged, vs evaluate(All)"), &got, &all));

    Ok(failures)
}

/// The first group whose value differs, as text.
fn compare(what: &str, got: &[V], want: &[V]) -> Option<String> {
    if got.len() != want.len() {
        return Some(format!("{what}: {} groups, expected {}", got.len(), want.len()));
    }
    got.iter()
        .zip(want)
        .enumerate()
        .find_map(|(g, (a, b))| diff(a, b, "result").map(|d| format!("{what}: group {g}: {d}")))
}

fn check_type(failures: &mut Vec<String>, what: &str, got: &DataType, want: &DataType) {
    if !got.equals_datatype(want) {
        failures.push(format!("{what} has type {got}, expected {want}"));
    }
}

fn aggregates() -> BTreeMap<String, Arc<AggregateUDF>> {
    persona_udfs::aggregate_functions().into_iter().map(|f| (f.name().to_string(), f)).collect()
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn every_aggregate_has_a_case() -> Result<()> {
    let registered: BTreeSet<String> = aggregates().into_keys().collect();
    let covered: BTreeSet<String> = cases().iter().map(|c| c.function.to_string()).collect();
    let missing: Vec<&String> = registered.difference(&covered).collect();
    let unknown: Vec<&String> = covered.difference(&registered).collect();
    assert!(missing.is_empty(), "aggregates without a case in cases(): {missing:?}");
    assert!(unknown.is_empty(), "cases for functions that are not registered aggregates: {unknown:?}");
    assert!(registered.len() >= 24, "expected Persona's 24 aggregates, found {}", registered.len());
    Ok(())
}

#[test]
fn every_aggregate_gives_the_same_result_on_every_path() -> Result<()> {
    let aggregates = aggregates();
    let mut failures: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for case in cases() {
        let udaf = aggregates
            .get(case.function)
            .ok_or_else(|| DataFusionError::Internal(format!("{} is not a registered aggregate", case.function)))?;
        for (seed, rows) in RUNS {
            let found = check(udaf, &case, seed, rows, None);
            if !found.is_empty() {
                failures.entry(case.function).or_default().extend(found);
            }
        }
    }
    let mut report = Vec::new();
    for (function, found) in &failures {
        if !KNOWN_FAILURES.iter().any(|(f, _)| f == function) {
            report.extend(found.iter().cloned());
        }
    }
    for (function, why) in KNOWN_FAILURES {
        if !failures.contains_key(function) {
            report.push(format!("{function}: listed in KNOWN_FAILURES ({why}) but every path agrees now: remove it"));
        }
    }
    assert!(report.is_empty(), "{} differences:\n{}", report.len(), report.join("\n"));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Hostile values.

/// `array` (already of the type the signature asks for) with about a quarter of its values
/// replaced by special values of its type: NaN, ±inf, −0.0 and subnormals for floats (also in
/// lists, and empty lists); empty, 1 MiB and odd Unicode strings; with `huge`, also ±1e300 and
/// ±f64::MAX, and the extremes of integers, dates and timestamps. One array in eight is all NULL.
fn hostile_values(rng: &mut Rng, array: &ArrayRef, huge: bool) -> Result<ArrayRef> {
    use arrow::array::{new_null_array, Float64Builder, ListArray};
    use arrow::datatypes::{Float64Type, Int32Type, Int64Type};
    const SPECIAL: [f64; 6] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 5e-324, 2.5e-308];
    const HUGE: [f64; 10] =
        [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 5e-324, 2.5e-308, 1e300, -1e300, f64::MAX, f64::MIN];
    let floats: &[f64] = if huge { &HUGE } else { &SPECIAL };
    let n = array.len();
    if rng.chance(0.125) {
        return Ok(new_null_array(array.data_type(), n));
    }
    let hit = |rng: &mut Rng| rng.chance(0.25);
    let out: ArrayRef = match array.data_type() {
        DataType::Float64 => {
            let values = array.as_any().downcast_ref::<Float64Array>().expect("f64");
            Arc::new(
                values
                    .iter()
                    .map(|v| if hit(rng) { Some(floats[rng.below(floats.len())]) } else { v })
                    .collect::<Float64Array>(),
            )
        }
        DataType::Int64 if huge => {
            let values = arrow::array::AsArray::as_primitive::<Int64Type>(array.as_ref());
            Arc::new(
                values
                    .iter()
                    .map(|v| if hit(rng) { Some([i64::MIN, i64::MAX, 0, -1][rng.below(4)]) } else { v })
                    .collect::<Int64Array>(),
            )
        }
        DataType::Int32 if huge => {
            let values = arrow::array::AsArray::as_primitive::<Int32Type>(array.as_ref());
            Arc::new(
                values
                    .iter()
                    .map(|v| if hit(rng) { Some([i32::MIN, i32::MAX, 0, -1][rng.below(4)]) } else { v })
                    .collect::<Int32Array>(),
            )
        }
        DataType::Date32 if huge => {
            let values = array.as_any().downcast_ref::<Date32Array>().expect("date");
            Arc::new(
                values
                    .iter()
                    .map(|v| if hit(rng) { Some([i32::MIN, i32::MAX, 0][rng.below(3)]) } else { v })
                    .collect::<Date32Array>(),
            )
        }
        DataType::Timestamp(_, _) if huge => {
            let micros = cast(array, &DataType::Int64)?;
            let values = arrow::array::AsArray::as_primitive::<Int64Type>(micros.as_ref());
            let changed: Int64Array =
                values.iter().map(|v| if hit(rng) { Some([i64::MIN, i64::MAX, 0][rng.below(3)]) } else { v }).collect();
            cast(&(Arc::new(changed) as ArrayRef), array.data_type())?
        }
        DataType::Utf8 => {
            let long = "长".repeat(350_000); // 1 MiB of UTF-8
            let values = array.as_any().downcast_ref::<StringArray>().expect("utf8");
            let mut used_long = false;
            let changed: StringArray = values
                .iter()
                .map(|v| {
                    if !hit(rng) {
                        return v.map(str::to_string);
                    }
                    Some(match rng.below(4) {
                        0 => String::new(),
                        1 if !used_long => {
                            used_long = true;
                            long.clone()
                        }
                        2 => "\u{0}\u{FFFD}\u{202E}🙂".to_string(),
                        _ => " ".to_string(),
                    })
                })
                .collect();
            Arc::new(changed)
        }
        DataType::List(field) if field.data_type() == &DataType::Float64 => {
            let lists = array.as_any().downcast_ref::<ListArray>().expect("list");
            let mut builder = ListBuilder::new(Float64Builder::new());
            for i in 0..lists.len() {
                if lists.is_null(i) {
                    builder.append_null();
                    continue;
                }
                let row = lists.value(i);
                let row = arrow::array::AsArray::as_primitive::<Float64Type>(row.as_ref());
                if hit(rng) && rng.chance(0.3) {
                    builder.append(true); // an empty list
                    continue;
                }
                for v in row {
                    builder.values().append_option(if hit(rng) { Some(floats[rng.below(floats.len())]) } else { v });
                }
                builder.append(true);
            }
            Arc::new(builder.finish())
        }
        _ => Arc::clone(array),
    };
    Ok(out)
}

/// The hostile seeds: `PERSONA_HOSTILE_SEEDS` (default 4) per case from `PERSONA_HOSTILE_FROM`
/// (default 0, to share a long run between processes), 60 or 240 rows.
fn hostile_seeds() -> Range<u64> {
    let var = |name: &str, default: u64| std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default);
    let from = var("PERSONA_HOSTILE_FROM", 0);
    from..from + var("PERSONA_HOSTILE_SEEDS", 4)
}

/// What one hostile run of [`run_paths`] came to.
enum Verdict {
    /// Every path ran; the problems found (none when the paths agree).
    Ran(Vec<String>),
    /// The first path refused the input with the function's own error.
    Refused,
    /// A panic, an error from a later path only, or an error that does not name the function.
    Problem(String),
}

/// Hostile values (see [`hostile_values`]) through every path of one case, judged: no panic; an
/// error is the function's own (it names the function) and comes from the first path, which sees
/// every row first — a later path failing where one Accumulator succeeded is a disagreement; and
/// when every path succeeds on special values, the paths agree (NaN equal to NaN, ±inf exact).
/// With `huge` values sums overflow or cancel differently in another order (a mean of ±f64::MAX
/// is inf in one order and finite in another), so only the first two hold.
fn hostile_run(udaf: &Arc<AggregateUDF>, case: &Case, rng: Rng, rows: usize, huge: bool) -> Verdict {
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_paths(udaf, case, rng, rows, None, Some(huge))));
    match outcome {
        Err(panic) => Verdict::Problem(format!("panicked: {}", panic_message(panic.as_ref()))),
        Ok(Ok(failures)) => Verdict::Ran(
            failures
                .into_iter()
                // all-NULL inputs are among the hostile ones
                .filter(|f| !huge && !f.starts_with("the case checks little"))
                .collect(),
        ),
        Ok(Err(error)) => {
            let text = error.to_string();
            let first_path = text.starts_with("(a)") || text.starts_with("coercing");
            if !first_path {
                Verdict::Problem(format!("a later path failed where one Accumulator succeeded: {text}"))
            } else if !text.contains(case.function) && !text.starts_with("coercing") {
                Verdict::Problem(format!("the error does not name the function: {text}"))
            } else {
                Verdict::Refused
            }
        }
    }
}

/// Hostile values through every path of every case (see [`hostile_run`]); even seeds special
/// values, odd seeds also huge ones. Prints the runs and the batches each function was fed.
///
/// The long run: `PERSONA_HOSTILE_BATCHES=n` runs each case on seeds from `PERSONA_HOSTILE_FROM`
/// until its function has been fed at least `n` batches over its cases (instead of a fixed number
/// of seeds), and `PERSONA_HOSTILE_SHARD=i/k` takes every k-th case from the i-th, so k processes
/// share the run; `PERSONA_HOSTILE_FUNCTION=name` runs that function's cases only.
#[test]
fn hostile_values_neither_panic_nor_split_the_paths() {
    let var = |name: &str| std::env::var(name).ok();
    let target: Option<u64> = var("PERSONA_HOSTILE_BATCHES").and_then(|s| s.parse().ok());
    let (shard, shards) = var("PERSONA_HOSTILE_SHARD")
        .and_then(|s| s.split_once('/').and_then(|(i, k)| Some((i.parse::<usize>().ok()?, k.parse::<usize>().ok()?))))
        .filter(|&(i, k)| i < k)
        .unwrap_or((0, 1));
    let aggregates = aggregates();
    let cases = cases();
    let mut cases_of: BTreeMap<&str, u64> = BTreeMap::new();
    for case in &cases {
        *cases_of.entry(case.function).or_default() += 1;
    }
    let (mut runs, mut refused, mut report) = (0, 0, Vec::new());
    let mut fed_per_function: BTreeMap<&str, u64> = BTreeMap::new();
    let only = var("PERSONA_HOSTILE_FUNCTION");
    for case in cases.iter().filter(|c| only.as_deref().is_none_or(|f| f == c.function)).skip(shard).step_by(shards) {
        let udaf = &aggregates[case.function];
        let share = target.map(|n| n.div_ceil(cases_of[case.function]));
        let mut fed_here = 0;
        let mut seeds = hostile_seeds();
        let from = seeds.start;
        loop {
            let seed = match share {
                // a run feeds at least one batch unless it is refused before any; a case refused
                // every time would never reach its share, so it stops after `share` runs
                Some(share) if fed_here >= share || seeds.start - from >= share => break,
                Some(_) => {
                    let seed = seeds.start;
                    seeds.start += 1;
                    seed
                }
                None => match seeds.next() {
                    Some(seed) => seed,
                    None => break,
                },
            };
            let huge = seed % 2 == 1;
            let rows = if seed % 4 < 2 { 240 } else { 60 };
            runs += 1;
            let before = batches_fed();
            match hostile_run(udaf, case, Rng::new(1_000 + seed), rows, huge) {
                Verdict::Ran(problems) => report.extend(
                    problems
                        .into_iter()
                        .map(|p| format!("{} [{}] hostile seed {seed}: {p}", case.function, case.label)),
                ),
                Verdict::Refused => refused += 1,
                Verdict::Problem(p) => {
                    report.push(format!("{} [{}] hostile seed {seed}: {p}", case.function, case.label))
                }
            }
            fed_here += batches_fed() - before;
        }
        *fed_per_function.entry(case.function).or_default() += fed_here;
    }
    eprintln!("hostile values: {runs} runs, {refused} refused with the function's error, {} problems", report.len());
    let fewest = fed_per_function.iter().min_by_key(|(_, n)| **n);
    eprintln!(
        "batches fed: {} in all, fewest {:?}; per function: {fed_per_function:?}",
        fed_per_function.values().sum::<u64>(),
        fewest
    );
    assert!(report.is_empty(), "{} problems:\n{}", report.len(), report.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// The cargo-fuzz entry (`udfs/fuzz`, target `aggregate_paths`).

/// One coverage-guided case from a fuzzer's bytes: byte 0 picks the case (an aggregate and its
/// kind of arguments), byte 1 the number of rows (1–256), byte 2's low bit whether huge values are
/// drawn, and the rest is the tape every later choice and value is drawn from (then SplitMix64).
/// Returns the problems [`hostile_run`] finds, each naming the case; an input shorter than three
/// bytes is no case.
pub fn fuzz_aggregate_paths(data: &[u8]) -> Vec<String> {
    let [which, rows, flags, tape @ ..] = data else {
        return Vec::new();
    };
    let cases = cases();
    let case = &cases[usize::from(*which) % cases.len()];
    let aggregates = aggregates();
    let Some(udaf) = aggregates.get(case.function) else {
        return vec![format!("{} is not a registered aggregate", case.function)];
    };
    let rows = 1 + usize::from(*rows);
    let tag = format!("{} [{}] {rows} rows", case.function, case.label);
    match hostile_run(udaf, case, Rng::from_tape(tape), rows, flags & 1 == 1) {
        Verdict::Ran(problems) => problems.into_iter().map(|p| format!("{tag}: {p}")).collect(),
        Verdict::Refused => Vec::new(),
        Verdict::Problem(p) => vec![format!("{tag}: {p}")],
    }
}

/// The fuzz entry runs in CI on fixed inputs, so the target cannot rot: every case once, with
/// tapes of zeros, of ones and of a counter (a zero tape makes every `chance` true — NULLs and
/// special values everywhere — and picks the first choice; a tape of ones the opposite).
#[test]
fn the_fuzz_entry_runs_every_case() {
    let count = cases().len();
    let mut problems = Vec::new();
    let before = batches_fed();
    for which in 0..count {
        for (k, fill) in [0u8, 0xff, 0x5a].into_iter().enumerate() {
            let mut input = vec![u8::try_from(which).expect("fewer than 256 cases"), 40 + 50 * k as u8, k as u8];
            input.extend((0..512).map(|i: u32| if fill == 0x5a { (i * 37 % 251) as u8 } else { fill }));
            problems.extend(fuzz_aggregate_paths(&input));
        }
    }
    assert!(batches_fed() - before >= 3 * count as u64, "the fuzz entry fed almost nothing");
    assert!(count <= 256, "byte 0 of a fuzz input cannot reach {count} cases");
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

/// One more basket in a rule_stats state (its first field is the basket count).
fn add_a_basket(state: &mut [ScalarValue]) {
    if let ScalarValue::Int64(Some(n)) = &mut state[0] {
        *n += 1;
    }
}

#[test]
fn a_perturbed_state_is_detected() -> Result<()> {
    // one more basket in the first split's state of rule_stats changes every share: the test
    // must see it, or it checks nothing
    let aggregates = aggregates();
    let udaf = aggregates.get("rule_stats").expect("rule_stats is registered");
    let rule_stats = case("rule_stats", "flags", vec![flags(0.4), flags(0.5)]);
    assert_eq!(check(udaf, &rule_stats, 1, 240, None), Vec::<String>::new(), "unperturbed, every path agrees");
    let found = check(udaf, &rule_stats, 1, 240, Some(add_a_basket));
    assert!(found.iter().any(|f| f.contains("(b) split states merged differ")), "the change was not seen: {found:?}");
    Ok(())
}

#[test]
fn floats_compare_within_the_stated_tolerance() {
    assert!(floats_equal(1.0, 1.0 + 1e-12));
    assert!(!floats_equal(1.0, 1.0 + 1e-6));
    assert!(floats_equal(f64::NAN, f64::NAN));
    assert!(!floats_equal(f64::NAN, 0.0));
    assert!(floats_equal(f64::INFINITY, f64::INFINITY));
    assert!(!floats_equal(f64::INFINITY, f64::NEG_INFINITY));
    assert!(!floats_equal(f64::INFINITY, 1e300));
    assert!(floats_equal(0.0, 1e-13));
    assert!(!floats_equal(0.0, 1e-6));
    let list = |x: f64| V::List(vec![V::Int(1), V::Float(x)]);
    assert_eq!(diff(&list(0.5), &list(0.5 + 1e-15), "r"), None);
    assert_eq!(diff(&list(0.5), &list(0.6), "r").as_deref(), Some("r[1]: 0.5, expected 0.6"));
}
