//! Brute-force oracles on random data, through SQL (so planning, batching and partitioning are in
//! play): `auc` against counting every (positive, negative) pair, `psi_histogram` against
//! counting each value's bin, `frequent_itemsets` against counting every subset of every basket,
//! `quantile_score` against its stated rank formula. Each seed draws new sizes, ties, NULLs and
//! NaNs, and the table is cut into several partitions of several batches.
//!
//! `PERSONA_ORACLE_SEEDS` (default 12) sets the seeds per function.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{Array, AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};

#[path = "support/fuzz.rs"]
mod fuzz;
use fuzz::Rng;

fn seeds() -> u64 {
    std::env::var("PERSONA_ORACLE_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(12)
}

/// A session with Persona's functions over `batch` as table `t`, cut into 1–4 partitions of
/// batches of random sizes.
fn session(rng: &mut Rng, batch: &RecordBatch) -> SessionContext {
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1 + rng.below(4)));
    persona_udfs::register_all(&ctx).expect("register");
    let partitions = 1 + rng.below(4);
    let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions];
    let mut start = 0;
    while start < batch.num_rows() {
        let len = (1 + rng.below(64)).min(batch.num_rows() - start);
        parts[rng.below(partitions)].push(batch.slice(start, len));
        start += len;
    }
    let table = MemTable::try_new(batch.schema(), parts).expect("table");
    ctx.register_table("t", Arc::new(table)).expect("register table");
    ctx
}

fn run(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async { ctx.sql(sql).await.expect("plans").collect().await.expect("runs") })
}

fn schema(fields: &[(&str, DataType)]) -> SchemaRef {
    Arc::new(Schema::new(fields.iter().map(|(n, t)| Field::new(*n, t.clone(), true)).collect::<Vec<_>>()))
}

#[test]
fn auc_equals_counting_every_pair() {
    for seed in 0..seeds() {
        let mut rng = Rng::at(seed + 1);
        let n = 1 + rng.below(400);
        let grid = 1 + rng.below(30); // few distinct scores: many ties
        let scores: Vec<Option<f64>> = (0..n)
            .map(|_| {
                if rng.chance(0.05) {
                    None
                } else if rng.chance(0.03) {
                    Some(f64::NAN)
                } else {
                    Some(rng.below(grid) as f64 / grid as f64)
                }
            })
            .collect();
        let labels: Vec<Option<i64>> =
            (0..n).map(|_| (!rng.chance(0.05)).then(|| i64::from(rng.chance(0.3)))).collect();
        let batch = RecordBatch::try_new(
            schema(&[("s", DataType::Float64), ("y", DataType::Int64)]),
            vec![Arc::new(Float64Array::from(scores.clone())), Arc::new(Int64Array::from(labels.clone()))],
        )
        .expect("batch");
        let ctx = session(&mut rng, &batch);
        let got = run(&ctx, "SELECT auc(s, y) AS a FROM t");
        let got = got[0].column(0).as_primitive::<Float64Type>();

        let rows: Vec<(f64, i64)> =
            scores.iter().zip(&labels).filter_map(|(s, y)| Some((s.filter(|v| !v.is_nan())?, (*y)?))).collect();
        let (pos, neg): (Vec<_>, Vec<_>) = rows.iter().partition(|(_, y)| *y == 1);
        if pos.is_empty() || neg.is_empty() {
            assert!(got.is_null(0), "seed {seed}: one class is empty, expected NULL");
            continue;
        }
        let mut wins = 0.0;
        for (p, _) in &pos {
            for (q, _) in &neg {
                wins += if p > q {
                    1.0
                } else if p == q {
                    0.5
                } else {
                    0.0
                };
            }
        }
        let want = wins / (pos.len() * neg.len()) as f64;
        assert!((got.value(0) - want).abs() <= 1e-12, "seed {seed}: auc {} vs pairs {want}", got.value(0));
    }
}

#[test]
fn psi_histogram_equals_counting_each_bin() {
    for seed in 0..seeds() {
        let mut rng = Rng::at(seed + 100);
        let n = rng.below(500);
        let values: Vec<Option<f64>> = (0..n)
            .map(|_| match rng.below(20) {
                0 => None,
                1 => Some(f64::NAN),
                2 => Some(f64::INFINITY),
                3 => Some(f64::NEG_INFINITY),
                _ => Some((rng.unit() * 20.0 - 10.0).round() / 2.0),
            })
            .collect();
        // mostly short lists like deciles; one seed in five up to 60 (bin_of searches past 32)
        let count = 1 + if rng.chance(0.2) { rng.below(60) } else { rng.below(6) };
        let mut edges: Vec<f64> = (0..count).map(|_| (rng.unit() * 80.0 - 40.0).round() / 4.0).collect();
        edges.sort_by(f64::total_cmp);
        edges.dedup();
        let groups: Vec<Option<i64>> = (0..n).map(|_| Some(rng.below(3) as i64)).collect();
        let batch = RecordBatch::try_new(
            schema(&[("v", DataType::Float64), ("g", DataType::Int64)]),
            vec![Arc::new(Float64Array::from(values.clone())), Arc::new(Int64Array::from(groups.clone()))],
        )
        .expect("batch");
        let ctx = session(&mut rng, &batch);
        let list = edges.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>().join(", ");
        // the edges as a literal, from a scalar subquery (one dictionary value per batch once the
        // optimizer wraps them in shared_edges) and as a joined column (a list per row)
        let forms = [
            format!("SELECT g, psi_histogram(v, [{list}]) AS h FROM t GROUP BY g ORDER BY g"),
            format!("SELECT g, psi_histogram(v, (SELECT [{list}])) AS h FROM t GROUP BY g ORDER BY g"),
            format!(
                "SELECT g, psi_histogram(v, e) AS h FROM t CROSS JOIN (SELECT [{list}] AS e) GROUP BY g ORDER BY g"
            ),
        ];
        let got_forms: Vec<BTreeMap<i64, Vec<i64>>> = forms
            .iter()
            .map(|sql| {
                let mut got_rows = BTreeMap::new();
                for batch in &run(&ctx, sql) {
                    let g = batch.column(0).as_primitive::<Int64Type>();
                    let h = batch.column(1).as_list::<i32>();
                    for i in 0..batch.num_rows() {
                        let counts = h.value(i);
                        let counts: Vec<i64> = counts.as_primitive::<Int64Type>().values().to_vec();
                        got_rows.insert(g.value(i), counts);
                    }
                }
                got_rows
            })
            .collect();
        let mut want: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for (v, g) in values.iter().zip(&groups) {
            let counts = want.entry(g.expect("group")).or_insert_with(|| vec![0; edges.len() + 2]);
            let bin = match v {
                None => edges.len() + 1,
                Some(x) if x.is_nan() => edges.len() + 1,
                Some(x) => edges.iter().position(|e| x <= e).unwrap_or(edges.len()),
            };
            counts[bin] += 1;
        }
        for (got_rows, sql) in got_forms.iter().zip(&forms) {
            assert_eq!(got_rows, &want, "seed {seed}: edges {edges:?}: {sql}");
        }
    }
}

#[test]
fn frequent_itemsets_equal_counting_every_subset() {
    const ITEMS: [&str; 6] = ["milk", "bread", "eggs", "tea", "rice", "soap"];
    for seed in 0..seeds() {
        let mut rng = Rng::at(seed + 200);
        let baskets = 1 + rng.below(40);
        let (mut ids, mut items) = (Vec::new(), Vec::new());
        let mut contents: BTreeMap<i64, BTreeSet<&str>> = BTreeMap::new();
        for b in 0..baskets as i64 {
            for _ in 0..1 + rng.below(4) {
                let item = ITEMS[rng.below(ITEMS.len()).min(rng.below(ITEMS.len()))];
                let item = (!rng.chance(0.05)).then_some(item);
                ids.push(Some(b));
                items.push(item);
                if let Some(item) = item {
                    contents.entry(b).or_default().insert(item);
                }
            }
        }
        let min_support = [0.05, 0.1, 0.2, 0.35][rng.below(4)];
        let batch = RecordBatch::try_new(
            schema(&[("b", DataType::Int64), ("i", DataType::Utf8)]),
            vec![Arc::new(Int64Array::from(ids)), Arc::new(StringArray::from(items))],
        )
        .expect("batch");
        let ctx = session(&mut rng, &batch);
        let got = run(
            &ctx,
            &format!(
                "SELECT array_to_string(s['items'], ',') AS items, s['count'] AS n \
                 FROM (SELECT unnest(frequent_itemsets(b, i, {min_support})) AS s FROM t)"
            ),
        );
        let mut got_sets = BTreeMap::new();
        for batch in &got {
            let items = arrow::compute::cast(batch.column(0), &DataType::Utf8).expect("text");
            let items = items.as_string::<i32>();
            let n = arrow::compute::cast(batch.column(1), &DataType::Int64).expect("count");
            let n = n.as_primitive::<Int64Type>();
            for r in 0..batch.num_rows() {
                got_sets.insert(items.value(r).to_string(), n.value(r));
            }
        }
        // every subset of every basket, counted
        let total = contents.len() as f64;
        let mut counts: BTreeMap<Vec<&str>, i64> = BTreeMap::new();
        for items in contents.values() {
            let items: Vec<&str> = items.iter().copied().collect();
            for mask in 1..(1u32 << items.len()) {
                let subset: Vec<&str> = (0..items.len()).filter(|i| mask & (1 << i) != 0).map(|i| items[i]).collect();
                *counts.entry(subset).or_default() += 1;
            }
        }
        let want: BTreeMap<String, i64> = counts
            .into_iter()
            .filter(|(_, n)| *n as f64 / total >= min_support)
            .map(|(items, n)| (items.join(","), n))
            .collect();
        assert_eq!(got_sets, want, "seed {seed}: {baskets} baskets, min_support {min_support}");
    }
}

#[test]
fn quantile_score_follows_its_rank_formula() {
    for seed in 0..seeds() {
        let mut rng = Rng::at(seed + 300);
        let rows = rng.below(300);
        let bins = 1 + rng.below(10) as i64;
        let values: Vec<Option<f64>> = (0..rows)
            .map(|_| {
                if rng.chance(0.05) {
                    None
                } else {
                    let spread = 1 + rng.below(50);
                    Some(rng.below(spread) as f64)
                }
            })
            .collect();
        let keys: Vec<Option<i64>> = (0..rows as i64).map(Some).collect();
        let batch = RecordBatch::try_new(
            schema(&[("v", DataType::Float64), ("k", DataType::Int64)]),
            vec![Arc::new(Float64Array::from(values.clone())), Arc::new(Int64Array::from(keys))],
        )
        .expect("batch");
        let ctx = session(&mut rng, &batch);
        let got = run(&ctx, &format!("SELECT k, quantile_score({bins}) OVER (ORDER BY v, k) AS q FROM t ORDER BY k"));
        let mut got_scores = Vec::new();
        for batch in &got {
            let q = arrow::compute::cast(batch.column(1), &DataType::Int64).expect("ints");
            let q = q.as_primitive::<Int64Type>();
            got_scores.extend((0..batch.num_rows()).map(|r| q.is_valid(r).then(|| q.value(r))));
        }
        // rn: position among the non-NULL values ordered by (v, k); score = min k with (rn-1)*n <= (N-1)*k
        let mut order: Vec<usize> = (0..rows).filter(|&r| values[r].is_some()).collect();
        order.sort_by(|&a, &b| values[a].partial_cmp(&values[b]).expect("no NaN").then(a.cmp(&b)));
        let total = order.len() as i64;
        let mut want = vec![None; rows];
        for (position, &row) in order.iter().enumerate() {
            let rn = position as i64 + 1;
            want[row] = (1..=bins).find(|k| (rn - 1) * bins <= (total - 1) * k);
        }
        assert_eq!(got_scores, want, "seed {seed}: {rows} rows, {bins} bins");
    }
}
