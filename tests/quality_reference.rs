//! `column_profile` against pandas on real data (fixtures/quality/refs.json, made by
//! fixtures/quality/make_refs.py with pandas 2.2.3 from the German Credit and Bank Marketing
//! fixtures of tests/fixtures/model): German Credit's 1,000 rows are profiled exactly (counts,
//! distinct values, moments to 1e-12, quantiles as `Series.quantile`, top values with shares);
//! Bank Marketing's 45,211 rows take the estimates (HyperLogLog distinct counts within three
//! standard errors, t-digest quantiles within 1% of rank: between the data's quantiles q ∓ 0.01). The grouped and the plain aggregate agree.

use std::collections::HashMap;

use datafusion::prelude::{ParquetReadOptions, SessionContext};
use serde_json::Value;

fn fixture(path: &str) -> String {
    format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))
}

async fn context() -> SessionContext {
    let ctx = SessionContext::new();
    persona_udfs::register_all(&ctx).expect("register");
    for table in ["german_credit", "bank"] {
        ctx.register_parquet(table, fixture(&format!("model/{table}.parquet")), ParquetReadOptions::default())
            .await
            .expect("register fixture");
    }
    ctx
}

fn refs() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("quality/refs.json")).expect("refs")).expect("json")
}

/// The profile of `column` of `table` as JSON (one row, `to_json`-like via the struct's fields).
async fn profile(ctx: &SessionContext, table: &str, column: &str, grouped: bool) -> HashMap<String, Value> {
    let group = if grouped { " GROUP BY 'all'" } else { "" };
    let sql = format!("SELECT column_profile(\"{column}\") AS p FROM {table}{group}");
    let batches = ctx.sql(&sql).await.expect("plan").collect().await.expect("run");
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    for batch in &batches {
        writer.write(batch).expect("json");
    }
    writer.finish().expect("json");
    let rows: Vec<Value> = serde_json::from_slice(&writer.into_inner()).expect("parse");
    let p = rows.first().and_then(|r| r.get("p")).and_then(Value::as_object).expect("one profile");
    p.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn close(actual: f64, expected: f64, rel: f64) -> bool {
    (actual - expected).abs() <= rel * expected.abs().max(1.0)
}

fn num(p: &HashMap<String, Value>, key: &str) -> f64 {
    p.get(key).and_then(Value::as_f64).unwrap_or_else(|| panic!("{key} missing in {p:?}"))
}

#[tokio::test]
async fn german_credit_is_profiled_exactly_as_pandas() {
    let ctx = context().await;
    let refs = refs();
    for (column, r) in refs["german_credit"].as_object().expect("columns") {
        let p = profile(&ctx, "german_credit", column, false).await;
        assert_eq!(num(&p, "rows"), r["rows"].as_f64().expect("rows"), "{column}");
        assert_eq!(num(&p, "nulls"), r["nulls"].as_f64().expect("nulls"), "{column}");
        assert_eq!(num(&p, "distinct"), r["distinct"].as_f64().expect("distinct"), "{column}");
        assert_eq!(p["distinct_exact"], Value::Bool(true), "{column}");
        if let Some(top) = r.get("top").and_then(Value::as_array) {
            let shown = p["top_values"].as_array().expect("top values");
            assert_eq!(shown.len(), top.len(), "{column}");
            for (s, t) in shown.iter().zip(top) {
                assert_eq!(s["value"], t[0], "{column}");
                assert_eq!(s["count"].as_f64(), t[1].as_f64(), "{column}");
                assert!(close(s["share"].as_f64().expect("share"), t[2].as_f64().expect("share"), 1e-15), "{column}");
            }
            assert_eq!(p["top_values_exact"], Value::Bool(true));
            assert_eq!(p["min"], r["min"], "{column}");
            assert_eq!(p["max"], r["max"], "{column}");
        } else {
            assert!(close(num(&p, "mean"), r["mean"].as_f64().expect("mean"), 1e-12), "{column} mean");
            assert!(close(num(&p, "std_dev"), r["std"].as_f64().expect("std"), 1e-12), "{column} std");
            for q in ["p05", "p25", "p50", "p75", "p95"] {
                assert!(close(num(&p, q), r[q].as_f64().expect("q"), 1e-12), "{column} {q}: {} vs {}", p[q], r[q]);
            }
            assert_eq!(p["quantiles_exact"], Value::Bool(true));
            let min: f64 = p["min"].as_str().expect("min").parse().expect("number");
            let max: f64 = p["max"].as_str().expect("max").parse().expect("number");
            assert_eq!((min, max), (r["min"].as_f64().expect("min"), r["max"].as_f64().expect("max")), "{column}");
            assert_eq!(num(&p, "negative"), r["negative"].as_f64().expect("negative"), "{column}");
        }
    }
}

#[tokio::test]
async fn bank_marketing_estimates_are_within_their_stated_error() {
    let ctx = context().await;
    let refs = refs();
    for (column, r) in refs["bank"].as_object().expect("columns") {
        let p = profile(&ctx, "bank", column, false).await;
        assert_eq!(num(&p, "rows"), 45_211.0);
        let distinct = r["distinct"].as_f64().expect("distinct");
        if distinct <= 1024.0 {
            assert_eq!(num(&p, "distinct"), distinct, "{column}");
        } else {
            assert_eq!(p["distinct_exact"], Value::Bool(false));
            let error = (num(&p, "distinct") - distinct).abs() / distinct;
            assert!(error < 3.0 * 0.0081, "{column}: {} vs {distinct}", p["distinct"]);
        }
        if r.get("top").is_some() {
            continue;
        }
        assert!(close(num(&p, "mean"), r["mean"].as_f64().expect("mean"), 1e-12), "{column} mean");
        assert!(close(num(&p, "std_dev"), r["std"].as_f64().expect("std"), 1e-12), "{column} std");
        assert_eq!(p["quantiles_exact"], Value::Bool(false));
        for q in ["p05", "p25", "p50", "p75", "p95"] {
            // within 1% of rank, up to the neighbouring distinct values (see make_refs.py)
            let estimate = num(&p, q);
            let bounds = r["bounds"][q].as_array().expect("bounds");
            let (lo, hi) = (bounds[0].as_f64().expect("lo"), bounds[1].as_f64().expect("hi"));
            assert!((lo..=hi).contains(&estimate), "{column} {q} = {estimate}, outside [{lo}, {hi}]");
        }
    }
}

#[tokio::test]
async fn grouped_and_plain_paths_agree() {
    let ctx = context().await;
    for (table, column) in
        [("bank", "balance"), ("bank", "y"), ("german_credit", "credit_amount"), ("german_credit", "creditability")]
    {
        let plain = profile(&ctx, table, column, false).await;
        let grouped = profile(&ctx, table, column, true).await;
        assert_eq!(plain, grouped, "{table}.{column}");
    }
}
