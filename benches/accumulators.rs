//! Throughput of the hot per-group accumulators (rows per second on one core), in the manner
//! of datafusion-functions-aggregate's benches: each iteration creates the function's
//! `GroupsAccumulator`, feeds it 8 batches of 8,192 rows spread over 1,000 groups (10 groups of
//! baskets for `frequent_itemsets`, 12 groups of integer points for the scorecard `auc`) and
//! evaluates every group. DataFusion's own `sum` and `avg` are the baseline.
//!
//! ```sh
//! cargo bench --bench accumulators
//! ```

use std::hint::black_box;
use std::sync::Arc;

use arrow::array::TimestampMicrosecondArray;
use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, ListArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float64Type, Schema, SchemaRef, TimeUnit};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use datafusion::common::ScalarValue;
use datafusion::functions_aggregate::average::Avg;
use datafusion::functions_aggregate::sum::Sum;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDF, EmitTo, GroupsAccumulator};
use datafusion::physical_expr::expressions::{col, lit};
use datafusion::physical_expr::PhysicalExpr;
use persona_udfs::{basket, drift, evaluation, segment};

const BATCH_ROWS: usize = 8192;
const BATCHES: usize = 8;
const GROUPS: usize = 1000;

/// A small deterministic generator (no dependency, same data every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 11
    }

    #[allow(clippy::cast_precision_loss)]
    fn uniform(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 53) as f64
    }
}

/// One input batch of every column the benchmarks use, and its group indices.
fn inputs(seed: u64, groups: usize) -> (RecordBatch, Vec<usize>) {
    let mut rng = Lcg(seed);
    let n = BATCH_ROWS;
    let score: Vec<f64> = (0..n).map(|_| rng.uniform()).collect();
    let label: Vec<bool> = score.iter().map(|s| rng.uniform() < 0.2 + 0.6 * s).collect();
    // a scorecard's points: integers 300 to 800
    let points: Vec<f64> = score.iter().map(|s| (300.0 + 500.0 * s).round()).collect();
    let treated: Vec<bool> = (0..n).map(|_| rng.uniform() < 0.9).collect();
    let amount: Vec<f64> = (0..n).map(|_| (rng.uniform() * 8.0).exp()).collect();
    let day_us = 86_400_000_000_i64;
    let ts: Vec<i64> =
        (0..n).map(|_| i64::try_from(rng.next() % 365).unwrap_or_default() * day_us + 20_089 * day_us).collect();
    let basket: Vec<i64> = (0..n)
        .map(|i| i64::try_from(i / 4).unwrap_or_default() + i64::try_from(seed).unwrap_or_default() * 10_000)
        .collect();
    let item: Vec<String> = (0..n).map(|_| format!("item-{:02}", rng.next() % 40)).collect();
    let edges: Vec<Option<Vec<Option<f64>>>> =
        (0..n).map(|_| Some((1..10).map(|k| Some(f64::from(k) / 10.0)).collect())).collect();
    let group_of = |rng: &mut Lcg| usize::try_from(rng.next()).unwrap_or_default() % groups;
    let groups: Vec<usize> = if groups == GROUPS {
        (0..n).map(|_| group_of(&mut rng)).collect()
    } else {
        basket.iter().map(|b| usize::try_from(*b).unwrap_or_default() % groups).collect()
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Float64Array::from(score)),
        Arc::new(Float64Array::from(points)),
        Arc::new(BooleanArray::from(label)),
        Arc::new(BooleanArray::from(treated)),
        Arc::new(Float64Array::from(amount)),
        Arc::new(TimestampMicrosecondArray::from(ts)),
        Arc::new(Int64Array::from(basket)),
        Arc::new(StringArray::from(item)),
        Arc::new(ListArray::from_iter_primitive::<Float64Type, _, _>(edges)),
    ];
    (RecordBatch::try_new(schema(), columns).expect("benchmark setup"), groups)
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("score", DataType::Float64, false),
        Field::new("points", DataType::Float64, false),
        Field::new("label", DataType::Boolean, false),
        Field::new("treated", DataType::Boolean, false),
        Field::new("amount", DataType::Float64, false),
        Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), false),
        Field::new("basket", DataType::Int64, false),
        Field::new("item", DataType::Utf8, false),
        Field::new("edges", DataType::new_list(DataType::Float64, true), false),
    ]))
}

fn column(name: &str) -> Arc<dyn PhysicalExpr> {
    col(name, &schema()).expect("benchmark setup")
}

fn groups_accumulator(udf: &AggregateUDF, exprs: &[Arc<dyn PhysicalExpr>]) -> Box<dyn GroupsAccumulator> {
    let schema = schema();
    let fields: Vec<_> = exprs.iter().map(|e| e.return_field(&schema).expect("benchmark setup")).collect();
    let return_field = udf.return_field(&fields).expect("benchmark setup");
    let args = AccumulatorArgs {
        return_field,
        schema: &schema,
        expr_fields: &fields,
        ignore_nulls: false,
        order_bys: &[],
        is_reversed: false,
        name: udf.name(),
        is_distinct: false,
        exprs,
    };
    udf.inner().create_groups_accumulator(args).expect("benchmark setup")
}

fn bench(c: &mut Criterion, udf: &AggregateUDF, exprs: &[Arc<dyn PhysicalExpr>], groups: usize) {
    bench_named(c, &format!("{} / {groups} groups", udf.name()), udf, exprs, groups);
}

/// How the rows of a batch are spread over the groups: as `inputs` spreads them, or every row
/// of batch `b` in group `b % groups` (a table stored a month per file, grouped by month).
#[derive(Clone, Copy, PartialEq)]
enum Spread {
    Rows,
    Batches,
}

fn bench_named(c: &mut Criterion, name: &str, udf: &AggregateUDF, exprs: &[Arc<dyn PhysicalExpr>], groups: usize) {
    bench_spread(c, name, udf, exprs, groups, Spread::Rows);
}

fn bench_spread(
    c: &mut Criterion,
    name: &str,
    udf: &AggregateUDF,
    exprs: &[Arc<dyn PhysicalExpr>],
    groups: usize,
    spread: Spread,
) {
    let batches: Vec<(Vec<ArrayRef>, Vec<usize>)> = (0..BATCHES as u64)
        .map(|seed| {
            let (batch, mut group_indices) = inputs(seed + 1, groups);
            if spread == Spread::Batches {
                group_indices.fill(usize::try_from(seed).unwrap_or_default() % groups);
            }
            let arrays = exprs
                .iter()
                .map(|e| e.evaluate(&batch).and_then(|v| v.into_array(batch.num_rows())).expect("benchmark setup"))
                .collect();
            (arrays, group_indices)
        })
        .collect();
    let mut group = c.benchmark_group("accumulators");
    group.throughput(Throughput::Elements((BATCH_ROWS * BATCHES) as u64));
    group.sample_size(20);
    group.bench_function(name, |b| {
        b.iter_batched(
            || groups_accumulator(udf, exprs),
            |mut accumulator| {
                for (arrays, group_indices) in &batches {
                    accumulator.update_batch(arrays, group_indices, None, groups).expect("benchmark setup");
                }
                black_box(accumulator.evaluate(EmitTo::All).expect("benchmark setup"))
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn accumulators(c: &mut Criterion) {
    let date = lit(ScalarValue::Date32(Some(20_454)));
    bench(c, &AggregateUDF::from(Sum::new()), &[column("amount")], GROUPS);
    bench(c, &AggregateUDF::from(Avg::new()), &[column("amount")], GROUPS);
    bench(c, &AggregateUDF::from(segment::Rfm::new()), &[column("ts"), column("amount"), date], GROUPS);
    bench(c, &AggregateUDF::from(drift::Psi::new()), &[column("score"), column("label")], GROUPS);
    let psi_histogram = AggregateUDF::from(drift::PsiHistogram::new());
    bench(c, &psi_histogram, &[column("score"), column("edges")], GROUPS);
    // the long and wide PSI workloads: a month's batch is one group's
    let name = "psi_histogram / a group per batch";
    bench_spread(c, name, &psi_histogram, &[column("score"), column("edges")], 12, Spread::Batches);
    bench(c, &AggregateUDF::from(evaluation::Auc::new()), &[column("score"), column("label")], GROUPS);
    bench(c, &AggregateUDF::from(evaluation::KsStatistic::new()), &[column("score"), column("label")], GROUPS);
    // a scorecard per month: integer points in 12 groups of about 5,500 rows
    let auc = AggregateUDF::from(evaluation::Auc::new());
    bench_named(c, "auc / 12 groups of integer points", &auc, &[column("points"), column("label")], 12);
    bench(c, &AggregateUDF::from(evaluation::ResponseLift::new()), &[column("treated"), column("label")], GROUPS);
    bench(c, &AggregateUDF::from(evaluation::WelchTtest::new()), &[column("treated"), column("amount")], GROUPS);
    bench(
        c,
        &AggregateUDF::from(basket::FrequentItemsets::new()),
        &[column("basket"), column("item"), lit(ScalarValue::Float64(Some(0.01)))],
        10,
    );
}

criterion_group!(benches, accumulators);
criterion_main!(benches);
