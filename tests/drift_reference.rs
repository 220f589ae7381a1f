//! Drift functions against numpy/pandas/scipy on Bank Marketing (fixtures and their provenance
//! in tests/fixtures/drift).

mod common;

use std::collections::HashMap;

use datafusion::prelude::SessionContext;
use persona::EngineBuilder;

use common::rows;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/drift/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// (feature, measure) -> value from drift_refs.csv.
fn references() -> HashMap<(String, String), f64> {
    let text = std::fs::read_to_string(fixture("drift_refs.csv")).expect("drift_refs.csv");
    text.lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            ((fields[0].to_string(), fields[2].to_string()), fields[3].parse().expect("number"))
        })
        .collect()
}

async fn bank() -> SessionContext {
    let ctx = EngineBuilder::new().build().await.expect("engine");
    ctx.register_parquet("raw", fixture("bank_marketing.parquet"), Default::default()).await.expect("fixture");
    ctx.sql("CREATE VIEW bank AS SELECT *, month NOT IN ('may', 'jun', 'jul', 'aug') AS is_actual FROM raw")
        .await
        .expect("view");
    ctx
}

async fn value(ctx: &SessionContext, sql: &str) -> f64 {
    rows(ctx, sql).await[0][0].parse().expect("number")
}

fn assert_close(got: f64, expected: f64, relative: f64, what: &str) {
    let ok = got == expected || (got - expected).abs() <= relative * expected.abs();
    assert!(ok, "{what}: {got} vs reference {expected}");
}

#[tokio::test]
async fn numeric_psi_js_and_ks_equal_numpy_and_scipy() {
    let ctx = bank().await;
    let refs = references();
    for feature in ["age", "balance"] {
        let get = |measure: &str| refs[&(feature.to_string(), measure.to_string())];
        let psi = value(&ctx, &format!("SELECT psi({feature}, is_actual) FROM bank")).await;
        assert_close(psi, get("psi"), 1e-12, &format!("{feature} psi"));
        let raw = value(&ctx, &format!("SELECT psi({feature}, is_actual, 10, 0) FROM bank")).await;
        assert_close(raw, get("psi_no_smoothing"), 1e-12, &format!("{feature} psi without smoothing"));
        let bins = value(&ctx, &format!("SELECT array_length(psi_bins({feature}, is_actual)) FROM bank")).await;
        assert_eq!(bins, get("bins"), "{feature} bins");
        let js = value(&ctx, &format!("SELECT js_divergence({feature}, is_actual) FROM bank")).await;
        assert_close(js, get("js_divergence"), 1e-12, &format!("{feature} js"));
        let ks = rows(
            &ctx,
            &format!("SELECT ks['statistic'], ks['pvalue'], ks['method'] FROM (SELECT ks_2samp({feature}, is_actual) AS ks FROM bank)"),
        )
        .await;
        assert_close(ks[0][0].parse().expect("d"), get("ks_statistic"), 1e-15, &format!("{feature} KS statistic"));
        assert_close(ks[0][1].parse().expect("p"), get("ks_pvalue"), 1e-9, &format!("{feature} KS p-value"));
        assert_eq!(ks[0][2], "asymp");
    }
}

#[tokio::test]
async fn categorical_psi_equals_pandas_with_and_without_smoothing() {
    let ctx = bank().await;
    let refs = references();
    for (feature, column) in [("job", "job"), ("campaign", "CAST(campaign AS VARCHAR)")] {
        let get = |measure: &str| refs[&(feature.to_string(), measure.to_string())];
        let psi = value(&ctx, &format!("SELECT psi({column}, is_actual) FROM bank")).await;
        assert_close(psi, get("psi"), 1e-12, &format!("{feature} psi"));
        let raw = value(&ctx, &format!("SELECT psi({column}, is_actual, NULL, 0) FROM bank")).await;
        assert_close(raw, get("psi_no_smoothing"), 1e-12, &format!("{feature} psi without smoothing"));
        let bins = rows(
            &ctx,
            &format!(
                "SELECT count(*), count(*) FILTER (WHERE b['expected_count'] = 0 OR b['actual_count'] = 0)
                 FROM (SELECT unnest(psi_bins({column}, is_actual)) AS b FROM bank)"
            ),
        )
        .await;
        assert_eq!(bins[0][0].parse::<f64>().expect("bins"), get("bins"), "{feature} categories");
        assert_eq!(bins[0][1].parse::<f64>().expect("empty"), get("empty_bins"), "{feature} empty categories");
    }
    assert_eq!(refs[&("campaign".to_string(), "psi_no_smoothing".to_string())], f64::INFINITY);
}

/// The fixed-baseline paths (psi with cut points, psi_histogram + psi_from_counts) equal the
/// exact quantile path when the cut points come from the same expected sample.
#[tokio::test]
async fn fixed_cut_points_give_the_same_psi() {
    let ctx = bank().await;
    for feature in ["age", "balance"] {
        let exact = value(&ctx, &format!("SELECT psi({feature}, is_actual) FROM bank")).await;
        let with_edges = value(
            &ctx,
            &format!(
                "WITH e AS (SELECT psi_edges({feature}) AS cuts FROM bank WHERE NOT is_actual)
                 SELECT psi({feature}, is_actual, cuts) FROM bank CROSS JOIN e"
            ),
        )
        .await;
        assert_eq!(with_edges, exact, "{feature}");
        let from_counts = value(
            &ctx,
            &format!(
                "WITH e AS (SELECT psi_edges({feature}) AS cuts FROM bank WHERE NOT is_actual),
                      h AS (SELECT is_actual, psi_histogram({feature}, cuts) AS counts FROM bank CROSS JOIN e GROUP BY is_actual)
                 SELECT psi_from_counts(x.counts, y.counts) FROM h x JOIN h y ON NOT x.is_actual AND y.is_actual"
            ),
        )
        .await;
        assert!((from_counts - exact).abs() <= 1e-15 * exact, "{feature}: {from_counts} vs {exact}");
        // the wide form: cut points from a scalar subquery, no join
        let from_subquery = value(
            &ctx,
            &format!(
                "WITH e AS (SELECT psi_edges({feature}) AS cuts FROM bank WHERE NOT is_actual),
                      h AS (SELECT is_actual, psi_histogram({feature}, (SELECT cuts FROM e)) AS counts FROM bank GROUP BY is_actual)
                 SELECT psi_from_counts(x.counts, y.counts) FROM h x JOIN h y ON NOT x.is_actual AND y.is_actual"
            ),
        )
        .await;
        assert_eq!(from_subquery, from_counts, "{feature}: edges from a scalar subquery");
    }
}

/// Per-group PSI (GroupsAccumulator) equals PSI of each group alone.
#[tokio::test]
async fn grouped_psi_equals_each_group_alone() {
    let ctx = bank().await;
    let grouped = rows(&ctx, "SELECT job, psi(balance, is_actual) FROM bank GROUP BY job ORDER BY job").await;
    assert_eq!(grouped.len(), 12);
    for row in &grouped {
        let alone = rows(&ctx, &format!("SELECT psi(balance, is_actual) FROM bank WHERE job = '{}'", row[0])).await;
        assert_eq!(row[1], alone[0][0], "{}", row[0]);
    }
}
