//! Every scalar function called directly with generated Arrow input, as the engine would call it
//! after planning: for each argument-type list the function's signature accepts (found by asking
//! its coercion about lists of Utf8, Utf8View, Float64, Int64, Boolean, Date32, timestamps and
//! lists of Float64), and each seed, columns of 0, 1, 7 or 200 rows full of hostile values —
//! NULLs, NaN, ±inf, −0.0, subnormals, i64 extremes, empty, 1 MiB and odd Unicode strings, valid
//! and almost-valid phone numbers, ID numbers and e-mails, empty lists — some arguments passed as
//! literals (`ColumnarValue::Scalar`), column arguments sliced at an offset.
//!
//! Invariants: no panic; an error names the function; a result has one value per row and the
//! type the function declared; and (immutable functions) the result does not depend on how the
//! rows are split into batches — the rows cut at a random point and the two results concatenated
//! equal the result over all rows.
//!
//! `PERSONA_SCALAR_FUZZ_SEEDS` (default 24) sets the seeds per argument-type list.
//!
//! The long run: `PERSONA_SCALAR_CALLS=n` calls each function at least `n` times, shared between
//! its argument-type lists, on seeds from `PERSONA_SCALAR_FROM` (default 0);
//! `PERSONA_SCALAR_SHARD=i/k` takes every k-th function from the i-th, so k processes share the
//! run; `PERSONA_SCALAR_FUNCTION=name` runs that function only.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Float64Builder, Int64Array, ListBuilder, StringArray,
    StringViewArray, TimestampMicrosecondArray,
};
use arrow::compute::concat;
use arrow::datatypes::{DataType, Field, FieldRef, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::config::ConfigOptions;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::type_coercion::functions::fields_with_udf;
use datafusion::logical_expr::{ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, Volatility};

#[path = "support/fuzz.rs"]
mod fuzz;
use fuzz::{panic_message, Rng};

const FLOATS: [f64; 12] =
    [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0, 5e-324, 1e300, -1e300, 1.0, 0.5, 3.0, 720.0];
const INTS: [i64; 9] = [i64::MIN, i64::MAX, 0, 1, -1, 5, 3, 100, 1_000_000];

/// The string values, built once (the long one is 1 MiB: built per column, it was most of a
/// call's time).
fn strings() -> &'static [String] {
    static STRINGS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    STRINGS.get_or_init(|| {
        vec![
            String::new(),
            " ".into(),
            "长".repeat(350_000),
            "\u{0}\u{FFFD}\u{202E}🙂".into(),
            "13812345678".into(),
            "1381234567".into(),
            "+86 138 1234 5678".into(),
            "110101199003074514".into(),
            "11010119900307451X".into(),
            "110101199013374514".into(),
            "a.b@example.com".into(),
            "a.b@example".into(),
            "@@".into(),
            "张三".into(),
            "欧阳娜娜".into(),
            "x".into(),
            "tree".into(),
            "chimerge".into(),
            "key-0123456789abcdef".into(),
        ]
    })
}

/// The candidate argument types.
fn menu() -> Vec<DataType> {
    vec![
        DataType::Utf8,
        DataType::Float64,
        DataType::Int64,
        DataType::Boolean,
        DataType::Date32,
        DataType::Timestamp(TimeUnit::Microsecond, None),
        DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true))),
        DataType::Utf8View,
    ]
}

/// Argument-type lists the function accepts (after its own coercion), at most 16.
fn accepted(udf: &ScalarUDF) -> Vec<Vec<DataType>> {
    let menu = menu();
    let mut out: Vec<Vec<DataType>> = Vec::new();
    let mut lists: Vec<Vec<DataType>> = vec![vec![]];
    for _arity in 1..=4 {
        lists = lists
            .iter()
            .flat_map(|l| menu.iter().map(move |t| l.iter().cloned().chain([t.clone()]).collect::<Vec<_>>()))
            .collect();
        for list in &lists {
            let fields = argument_fields(list.iter().cloned());
            if let Ok(coerced) = fields_with_udf(&fields, udf) {
                let coerced: Vec<DataType> = coerced.iter().map(|f| f.data_type().clone()).collect();
                if !out.contains(&coerced) && out.len() < 16 {
                    out.push(coerced);
                }
            }
        }
    }
    out
}

fn column(rng: &mut Rng, data_type: &DataType, n: usize) -> ArrayRef {
    let null = |rng: &mut Rng| rng.chance(0.15);
    match data_type {
        DataType::Float64 => {
            Arc::new((0..n).map(|_| (!null(rng)).then(|| rng.pick(&FLOATS))).collect::<Float64Array>())
        }
        DataType::Int64 => Arc::new((0..n).map(|_| (!null(rng)).then(|| rng.pick(&INTS))).collect::<Int64Array>()),
        DataType::Boolean => Arc::new((0..n).map(|_| (!null(rng)).then(|| rng.chance(0.5))).collect::<BooleanArray>()),
        DataType::Date32 => Arc::new(
            (0..n)
                .map(|_| (!null(rng)).then(|| rng.pick(&[i32::MIN, i32::MAX, 0, 20_089, -1])))
                .collect::<Date32Array>(),
        ),
        DataType::Timestamp(TimeUnit::Microsecond, None) => Arc::new(
            (0..n)
                .map(|_| (!null(rng)).then(|| rng.pick(&[i64::MIN, i64::MAX, 0, 1_735_689_600_000_000])))
                .collect::<TimestampMicrosecondArray>(),
        ),
        DataType::Utf8 | DataType::Utf8View => {
            let pool = strings();
            // the 1 MiB string at most once per column, and in one column of five: it is all of a
            // call's cost where it appears (a long run makes 200k calls with it per function)
            let mut long_used = !rng.chance(0.2);
            let values: Vec<Option<&str>> = (0..n)
                .map(|_| {
                    if null(rng) {
                        return None;
                    }
                    let mut s = pool[rng.below(pool.len())].as_str();
                    if s.len() > 1000 {
                        if long_used {
                            s = "y";
                        }
                        long_used = true;
                    }
                    Some(s)
                })
                .collect();
            if data_type == &DataType::Utf8 {
                Arc::new(StringArray::from(values))
            } else {
                Arc::new(StringViewArray::from(values))
            }
        }
        DataType::List(field) if field.data_type() == &DataType::Float64 => {
            let mut builder = ListBuilder::new(Float64Builder::new());
            for _ in 0..n {
                if null(rng) {
                    builder.append_null();
                    continue;
                }
                for _ in 0..rng.below(4) {
                    builder.values().append_option((!rng.chance(0.1)).then(|| rng.pick(&FLOATS)));
                }
                builder.append(true);
            }
            Arc::new(builder.finish())
        }
        other => arrow::array::new_null_array(other, n),
    }
}

/// The rows of a result as text (NaN prints as NaN, so equal NaNs compare equal).
fn texts(array: &ArrayRef) -> Vec<String> {
    let format = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default()).expect("displayable");
    (0..array.len()).map(|i| format.value(i).to_string()).collect()
}

struct Call<'a> {
    udf: &'a ScalarUDF,
    fields: Vec<FieldRef>,
    return_field: FieldRef,
}

impl Call<'_> {
    fn invoke(&self, args: Vec<ColumnarValue>, rows: usize) -> Result<ColumnarValue> {
        self.udf.invoke_with_args(ScalarFunctionArgs {
            args,
            arg_fields: self.fields.clone(),
            number_rows: rows,
            return_field: Arc::clone(&self.return_field),
            config_options: Arc::new(ConfigOptions::default()),
        })
    }
}

/// One call on generated input; problems go to `report`. Returns whether it ran to a result.
fn run_once(udf: &ScalarUDF, kinds: &[ArgKind], rng: &mut Rng, report: &mut Vec<String>) -> bool {
    let types: Vec<DataType> = kinds.iter().map(ArgKind::data_type).collect();
    let name = udf.name();
    let rows = rng.pick(&[0_usize, 1, 7, 200]);
    // column arguments are slices at an offset of larger arrays
    let offset = rng.below(3);
    let mut args = Vec::new();
    let mut scalars: Vec<Option<ScalarValue>> = Vec::new();
    for (kind, data_type) in kinds.iter().zip(&types) {
        let full = match kind {
            ArgKind::Model(model) => {
                // the model on every row, NULL on some
                let repeated = model.to_array_of_size(rows + offset + 1).expect("model column");
                let keep: BooleanArray = (0..rows + offset + 1).map(|_| Some(!rng.chance(0.1))).collect();
                arrow::compute::nullif(&repeated, &arrow::compute::not(&keep).expect("not")).expect("nulls")
            }
            ArgKind::Of(_) => column(rng, data_type, rows + offset + 1),
        };
        if rng.chance(0.3) {
            let value = ScalarValue::try_from_array(&full, 0).expect("a value");
            scalars.push(Some(value.clone()));
            args.push(ColumnarValue::Scalar(value));
        } else {
            scalars.push(None);
            args.push(ColumnarValue::Array(full.slice(offset, rows)));
        }
    }
    let fields = argument_fields(types.iter().cloned());
    let scalar_refs: Vec<Option<&ScalarValue>> = scalars.iter().map(Option::as_ref).collect();
    let tag =
        format!("{name}({}) on {rows} rows", types.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let return_field =
            udf.return_field_from_args(ReturnFieldArgs { arg_fields: &fields, scalar_arguments: &scalar_refs })?;
        let call = Call { udf, fields: fields.clone(), return_field };
        let whole = call.invoke(args.clone(), rows)?;
        Ok::<_, datafusion::common::DataFusionError>((call, whole))
    }));
    let (call, whole) = match outcome {
        Err(panic) => {
            report.push(format!("{tag}: panicked: {}", panic_message(panic.as_ref())));
            return false;
        }
        Ok(Err(error)) => {
            let text = error.to_string();
            if !text.contains(name) {
                report.push(format!("{tag}: the error does not name the function: {text}"));
            }
            return false;
        }
        Ok(Ok(done)) => done,
    };
    let whole = match whole.into_array(rows) {
        Ok(array) => array,
        Err(e) => {
            report.push(format!("{tag}: the result does not expand to {rows} rows: {e}"));
            return false;
        }
    };
    if whole.len() != rows {
        report.push(format!("{tag}: {} values for {rows} rows", whole.len()));
    }
    if !whole.data_type().equals_datatype(call.return_field.data_type()) {
        report.push(format!("{tag}: result type {}, declared {}", whole.data_type(), call.return_field.data_type()));
    }
    // the same rows in two batches
    if udf.signature().volatility == Volatility::Immutable && rows >= 2 {
        let cut = 1 + rng.below(rows - 1);
        let part = |range: std::ops::Range<usize>| -> Result<ArrayRef> {
            let args = args
                .iter()
                .map(|a| match a {
                    ColumnarValue::Array(array) => ColumnarValue::Array(array.slice(range.start, range.len())),
                    scalar => scalar.clone(),
                })
                .collect();
            call.invoke(args, range.len())?.into_array(range.len())
        };
        match catch_unwind(AssertUnwindSafe(|| {
            Ok::<_, datafusion::common::DataFusionError>((part(0..cut)?, part(cut..rows)?))
        })) {
            Err(_) => report.push(format!("{tag}: panicked on a part of the rows")),
            Ok(Err(e)) => report.push(format!("{tag}: fails on part of the rows but not on all of them: {e}")),
            Ok(Ok((first, second))) => match concat(&[first.as_ref(), second.as_ref()]) {
                Err(e) => report.push(format!("{tag}: parts of different types: {e}")),
                Ok(joined) => {
                    if texts(&joined) != texts(&whole) {
                        report.push(format!("{tag}: rows cut at {cut} give another result"));
                    }
                }
            },
        }
    }
    true
}

/// Fitted models (the structs the scoring functions take), fitted here on small data.
fn models() -> std::collections::BTreeMap<&'static str, ScalarValue> {
    const FITS: [(&str, &str); 9] = [
        ("bgnbd", "SELECT bgnbd_fit(f, r, t) FROM (SELECT CAST(v % 5 AS DOUBLE) AS f, CAST(CASE WHEN v % 5 = 0 THEN 0 ELSE 10 + v % 20 END AS DOUBLE) AS r, 40.0 AS t FROM generate_series(0, 199) s(v))"),
        ("pareto", "SELECT pareto_nbd_fit(f, r, t) FROM (SELECT CAST(v % 5 AS DOUBLE) AS f, CAST(CASE WHEN v % 5 = 0 THEN 0 ELSE 10 + v % 20 END AS DOUBLE) AS r, 40.0 AS t FROM generate_series(0, 199) s(v))"),
        ("gamma_gamma", "SELECT gamma_gamma_fit(CAST(1 + v % 4 AS DOUBLE), CAST(20 + (v * 37) % 50 AS DOUBLE)) FROM generate_series(0, 199) s(v)"),
        ("tree", "SELECT decision_tree_fit(y, [x, z], 2) FROM (VALUES (1, 5, 0), (2, 3, 0), (3, 8, 0), (10, 1, 1), (11, 9, 1), (12, 4, 0)) v(x, z, y)"),
        ("forest", "SELECT isolation_forest_fit([x, y], 50, 256, 7) FROM (SELECT v % 10 AS x, v / 10 AS y FROM generate_series(0, 99) t(v))"),
        ("linear", "SELECT linear_regression(2.0 * v + (v * 7) % 5, [CAST(v AS DOUBLE)]) FROM generate_series(0, 99) t(v)"),
        ("logistic", "SELECT logistic_regression(CASE WHEN (v * 7) % 10 < v % 10 THEN 1 ELSE 0 END, [CAST(v % 10 AS DOUBLE)]) FROM generate_series(0, 199) t(v)"),
        ("als", "SELECT als_fit(u, i, n, 2, 0.1, 10, 2.0, 7) FROM (VALUES (1, 'a', 1), (1, 'b', 2), (2, 'a', 1), (2, 'c', 1), (3, 'b', 3), (3, 'c', 1)) t(u, i, n)"),
        ("centroids", "SELECT m['centroids'] FROM (SELECT kmeans([x, y], 2) AS m FROM (VALUES (0.0, 0.0), (0.0, 1.0), (10.0, 0.0), (10.0, 1.0)) t(x, y))"),
    ];
    let ctx = datafusion::prelude::SessionContext::new();
    persona_udfs::register_all(&ctx).expect("register");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut out = std::collections::BTreeMap::new();
    for (name, sql) in FITS {
        let batches =
            runtime.block_on(async { ctx.sql(sql).await?.collect().await }).unwrap_or_else(|e| panic!("{name}: {e}"));
        out.insert(name, ScalarValue::try_from_array(batches[0].column(0), 0).expect("a model"));
    }
    out
}

/// Argument lists of the functions whose first arguments are fitted models (or dates), which the
/// type menu cannot reach: `Err(model)` is a fitted model, `Ok(type)` a generated column.
fn model_calls(models: &std::collections::BTreeMap<&'static str, ScalarValue>) -> Vec<(&'static str, Vec<ArgKind>)> {
    use ArgKind::{Model, Of};
    let f = || Of(DataType::Float64);
    let list = || Of(DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true))));
    let m = |name: &str| Model(models[name].clone());
    let (date, count) = (|| Of(DataType::Date32), || Of(DataType::Int64));
    let lifecycle = vec![date(), date(), count(), count(), date()];
    vec![
        ("bgnbd_expected_purchases", vec![m("bgnbd"), f(), f(), f(), f()]),
        ("bgnbd_expected_purchases_new", vec![m("bgnbd"), f()]),
        ("bgnbd_p_alive", vec![m("bgnbd"), f(), f(), f()]),
        ("pareto_nbd_expected_purchases", vec![m("pareto"), f(), f(), f(), f()]),
        ("pareto_nbd_expected_purchases_new", vec![m("pareto"), f()]),
        ("pareto_nbd_p_alive", vec![m("pareto"), f(), f(), f()]),
        ("gamma_gamma_expected_spend", vec![m("gamma_gamma"), f(), f()]),
        ("clv", vec![m("bgnbd"), m("gamma_gamma"), f(), f(), f(), f(), f(), f()]),
        ("clv", vec![m("bgnbd"), m("gamma_gamma"), f(), f(), f(), f(), f(), f(), Of(DataType::Utf8)]),
        ("lifecycle_stage", lifecycle.clone()),
        ("lifecycle_stage", lifecycle.iter().cloned().chain([Of(DataType::Int64), Of(DataType::Int64)]).collect()),
        ("decision_tree_predict", vec![m("tree"), list()]),
        ("decision_tree_rules", vec![m("tree")]),
        ("isolation_forest_score", vec![m("forest"), list()]),
        ("linear_predict", vec![m("linear"), list()]),
        ("logistic_predict", vec![m("logistic"), list()]),
        (
            "als_score",
            vec![
                m("als"),
                Of(DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))),
                Of(DataType::Int64),
            ],
        ),
        ("kmeans_assign", vec![list(), m("centroids")]),
    ]
}

#[derive(Debug, Clone)]
enum ArgKind {
    Of(DataType),
    Model(ScalarValue),
}

impl ArgKind {
    fn data_type(&self) -> DataType {
        match self {
            ArgKind::Of(t) => t.clone(),
            ArgKind::Model(m) => m.data_type(),
        }
    }
}

/// Fields `a0, a1, …` of the given types, as the planner names a call's arguments.
fn argument_fields(types: impl IntoIterator<Item = DataType>) -> Vec<FieldRef> {
    types.into_iter().enumerate().map(|(i, t)| Arc::new(Field::new(format!("a{i}"), t, true))).collect()
}

/// A model call's argument kinds with its columns in the types the planner casts them to.
fn coerced_kinds(udf: &ScalarUDF, kinds: Vec<ArgKind>) -> Result<Vec<ArgKind>> {
    let fields = argument_fields(kinds.iter().map(ArgKind::data_type));
    let coerced = fields_with_udf(&fields, udf)?;
    Ok(kinds
        .into_iter()
        .zip(&coerced)
        .map(|(k, field)| match k {
            ArgKind::Of(_) => ArgKind::Of(field.data_type().clone()),
            model => model,
        })
        .collect())
}

/// Which seeds each argument-type list gets and which functions run (see the module docs).
struct Plan {
    /// Calls per function (`PERSONA_SCALAR_CALLS`), or a fixed number of seeds per list.
    per_function: Option<u64>,
    seeds: u64,
    from: u64,
    shard: (usize, usize),
    only: Option<String>,
    /// Argument-type lists per function, to share `per_function` between them.
    lists: std::collections::BTreeMap<String, u64>,
}

impl Plan {
    fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok();
        let number = |name: &str| var(name).and_then(|s| s.parse::<u64>().ok());
        let shard = var("PERSONA_SCALAR_SHARD")
            .and_then(|s| s.split_once('/').and_then(|(i, k)| Some((i.parse().ok()?, k.parse().ok()?))))
            .filter(|&(i, k): &(usize, usize)| i < k)
            .unwrap_or((0, 1));
        let mut lists = std::collections::BTreeMap::new();
        for (udf, _) in all_calls() {
            *lists.entry(udf.name().to_string()).or_default() += 1;
        }
        Self {
            per_function: number("PERSONA_SCALAR_CALLS"),
            seeds: number("PERSONA_SCALAR_FUZZ_SEEDS").unwrap_or(24),
            from: number("PERSONA_SCALAR_FROM").unwrap_or(0),
            shard,
            only: var("PERSONA_SCALAR_FUNCTION"),
            lists,
        }
    }

    /// Whether the function at `index` (in `scalar_functions()` order) runs in this process.
    fn runs(&self, index: usize, name: &str) -> bool {
        index % self.shard.1 == self.shard.0 && self.only.as_deref().is_none_or(|only| only == name)
    }

    /// The seeds one argument-type list of `name` runs on.
    fn seeds(&self, name: &str) -> std::ops::Range<u64> {
        let count = match self.per_function {
            Some(n) => n.div_ceil(self.lists.get(name).copied().unwrap_or(1).max(1)),
            None => self.seeds,
        };
        self.from..self.from + count
    }
}

#[test]
fn every_scalar_function_survives_hostile_input() {
    let plan = Plan::from_env();
    let mut report = Vec::new();
    let (mut ran, mut untested) = (0, Vec::new());
    let mut calls: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let functions = persona_udfs::scalar_functions();
    for (index, udf) in functions.iter().enumerate() {
        let lists = accepted(udf);
        if lists.is_empty() {
            untested.push(udf.name().to_string());
            continue;
        }
        if !plan.runs(index, udf.name()) {
            continue;
        }
        for (l, types) in lists.iter().enumerate() {
            let kinds: Vec<ArgKind> = types.iter().cloned().map(ArgKind::Of).collect();
            for seed in plan.seeds(udf.name()) {
                let mut rng = Rng::at(seed * 7919 + l as u64 * 104_729 + udf.name().len() as u64);
                *calls.entry(udf.name().to_string()).or_default() += 1;
                if run_once(udf, &kinds, &mut rng, &mut report) {
                    ran += 1;
                }
            }
        }
    }
    let index_of: std::collections::BTreeMap<&str, usize> =
        functions.iter().enumerate().map(|(i, f)| (f.name(), i)).collect();
    for (l, (name, kinds)) in model_calls(&models()).into_iter().enumerate() {
        let index = index_of[name];
        let udf = &functions[index];
        untested.retain(|u| u != name);
        let kinds = match coerced_kinds(udf, kinds) {
            Ok(kinds) => kinds,
            Err(e) => {
                report.push(format!("{name}: its documented argument list is refused: {e}"));
                continue;
            }
        };
        if !plan.runs(index, name) {
            continue;
        }
        for seed in plan.seeds(name) {
            let mut rng = Rng::at(seed * 6_151 + l as u64 * 3_571);
            *calls.entry(name.to_string()).or_default() += 1;
            if run_once(udf, &kinds, &mut rng, &mut report) {
                ran += 1;
            }
        }
    }
    eprintln!(
        "scalar fuzz: {} calls, {ran} ran to a result, {} problems; no accepted type list: {untested:?}",
        calls.values().sum::<u64>(),
        report.len()
    );
    eprintln!("calls per function (fewest {:?}): {calls:?}", calls.iter().min_by_key(|(_, n)| **n));
    assert!(report.is_empty(), "{} problems:\n{}", report.len(), report.join("\n"));
    assert!(untested.is_empty(), "functions neither the menu nor model_calls reach: {untested:?}");
}

// ---------------------------------------------------------------------------------------------
// The cargo-fuzz entry (`udfs/fuzz`, target `scalar_functions`).

/// Every call the test above makes, as (function, argument kinds): each function with each
/// argument-type list it accepts, and the model-taking functions with their fitted models.
/// Computed once per process (asking every signature's coercion takes a while).
fn all_calls() -> &'static [(Arc<ScalarUDF>, Vec<ArgKind>)] {
    static CALLS: std::sync::OnceLock<Vec<(Arc<ScalarUDF>, Vec<ArgKind>)>> = std::sync::OnceLock::new();
    CALLS.get_or_init(|| {
        let mut calls = Vec::new();
        for udf in persona_udfs::scalar_functions() {
            for types in accepted(&udf) {
                calls.push((Arc::clone(&udf), types.into_iter().map(ArgKind::Of).collect()));
            }
        }
        let functions: std::collections::BTreeMap<String, Arc<ScalarUDF>> =
            persona_udfs::scalar_functions().into_iter().map(|f| (f.name().to_string(), f)).collect();
        for (name, kinds) in model_calls(&models()) {
            let udf = &functions[name];
            // a refused list is the test's to report
            if let Ok(kinds) = coerced_kinds(udf, kinds) {
                calls.push((Arc::clone(udf), kinds));
            }
        }
        calls
    })
}

/// One coverage-guided call from a fuzzer's bytes: bytes 0–1 (little-endian) pick the call (a
/// function and one argument-type list it accepts), the rest is the tape the rows, values,
/// literals and offsets are drawn from (then SplitMix64). Returns the problems [`run_once`]
/// finds; an input shorter than two bytes is no call.
pub fn fuzz_scalar_function(data: &[u8]) -> Vec<String> {
    let [low, high, tape @ ..] = data else {
        return Vec::new();
    };
    let calls = all_calls();
    let (udf, kinds) = &calls[usize::from(u16::from_le_bytes([*low, *high])) % calls.len()];
    let mut report = Vec::new();
    run_once(udf, kinds, &mut Rng::from_tape(tape), &mut report);
    report
}

/// The fuzz entry runs in CI on fixed inputs, so the target cannot rot: every call once with a
/// tape of zeros and once with a counter.
#[test]
fn the_fuzz_entry_runs_every_call() {
    let count = all_calls().len();
    assert!(count <= usize::from(u16::MAX), "two bytes cannot reach {count} calls");
    let mut problems = Vec::new();
    for which in 0..count {
        let [low, high] = u16::try_from(which).expect("checked above").to_le_bytes();
        for counter in [false, true] {
            let mut input = vec![low, high];
            input.extend((0..256).map(|i: u32| if counter { (i * 37 % 251) as u8 } else { 0 }));
            problems.extend(fuzz_scalar_function(&input));
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}
