//! Fraud functions against pandas and scikit-learn (fixtures and provenance in tests/fixtures/fraud):
//! robust z-scores of CDNOW purchase amounts against each customer's previous ten purchases; the
//! behavioural features of sql/fraud_monitor.sql on demo-lake transactions; isolation-forest
//! detection of the demo lake's planted fraud.

mod common;

use datafusion::prelude::{CsvReadOptions, ParquetReadOptions};
use persona::EngineBuilder;

use common::{rows, scalar_f64};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn robust_zscore_equals_pandas_rolling_windows_on_cdnow() {
    let ctx = EngineBuilder::new().target_partitions(3).build().await.expect("engine");
    let csv = CsvReadOptions::new()
        .file_extension(".csv.gz")
        .file_compression_type(datafusion::datasource::file_format::file_compression_type::FileCompressionType::GZIP);
    ctx.register_csv("tx", &fixture("lifetime/cdnow_master_tx.csv.gz"), csv).await.expect("cdnow");
    ctx.register_parquet("reference", &fixture("fraud/robust_zscore_cdnow.parquet"), ParquetReadOptions::default())
        .await
        .expect("reference");
    // ties on a date are ordered by amount and quantity, as the reference sorted them
    let ours = rows(
        &ctx,
        "SELECT customer_id, CAST(date AS VARCHAR), amount, quantity,
                robust_zscore(amount) OVER (PARTITION BY customer_id ORDER BY date, amount, quantity
                                            ROWS BETWEEN 10 PRECEDING AND 1 PRECEDING)
         FROM tx WHERE customer_id <= 3000",
    )
    .await;
    let reference = rows(&ctx, "SELECT customer_id, CAST(date AS VARCHAR), amount, quantity, z FROM reference").await;
    let key = |r: &Vec<String>| -> (i64, String, String, String, f64) {
        let z = if r[4] == "NULL" { f64::NEG_INFINITY } else { r[4].parse().expect("z") };
        (r[0].parse().expect("id"), r[1].clone(), r[2].clone(), r[3].clone(), z)
    };
    let mut ours: Vec<_> = ours.iter().map(key).collect();
    let mut reference: Vec<_> = reference.iter().map(key).collect();
    let order = |a: &(i64, String, String, String, f64), b: &(i64, String, String, String, f64)| {
        (a.0, &a.1, &a.2, &a.3).cmp(&(b.0, &b.1, &b.2, &b.3)).then(a.4.total_cmp(&b.4))
    };
    ours.sort_by(order);
    reference.sort_by(order);
    assert_eq!(ours.len(), 9_481);
    assert_eq!(ours.len(), reference.len());
    let mut scored = 0;
    for (a, b) in ours.iter().zip(&reference) {
        assert_eq!((a.0, &a.1, &a.2, &a.3), (b.0, &b.1, &b.2, &b.3));
        if b.4.is_finite() {
            scored += 1;
        }
        assert!(a.4 == b.4 || (a.4 - b.4).abs() <= 1e-12 * b.4.abs().max(1.0), "{a:?} vs pandas {b:?}");
    }
    assert_eq!(scored, 4_858);
}

#[tokio::test]
async fn behavioural_features_equal_pandas_on_demo_lake_transactions() {
    let ctx = EngineBuilder::new().target_partitions(3).build().await.expect("engine");
    ctx.register_parquet("reference", &fixture("fraud/demo_features.parquet"), ParquetReadOptions::default())
        .await
        .expect("reference");
    let result = rows(
        &ctx,
        "WITH ours AS (
             SELECT *,
                    robust_zscore(amount, 20) OVER w AS our_z,
                    category_novelty(merchant_category) OVER w AS our_novelty,
                    hour_rarity(txn_ts) OVER w AS our_rarity,
                    count(*) OVER last_hour AS our_n_1h,
                    sum(amount) OVER last_hour AS our_amount_1h,
                    velocity_count(txn_ts, INTERVAL '1' HOUR) OVER w AS our_count_stream,
                    velocity_sum(amount, txn_ts, INTERVAL '60' MINUTE) OVER w AS our_sum_stream
             FROM reference
             WINDOW w AS (PARTITION BY customer_id ORDER BY txn_ts, txn_id),
                    last_hour AS (PARTITION BY customer_id ORDER BY txn_ts RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW)
         )
         SELECT count(*),
                count(*) FILTER (WHERE (our_z IS NULL) <> (z20 IS NULL OR isnan(z20))),
                count(*) FILTER (WHERE (our_novelty IS NULL) <> (novelty IS NULL OR isnan(novelty))),
                count(*) FILTER (WHERE (our_rarity IS NULL) <> (rarity IS NULL OR isnan(rarity))),
                count(*) FILTER (WHERE our_n_1h <> n_1h),
                coalesce(max(abs(our_z - z20) / greatest(1.0, abs(z20))), 0),
                coalesce(max(abs(our_novelty - novelty)), 0),
                coalesce(max(abs(our_rarity - rarity)), 0),
                max(abs(our_amount_1h - amount_1h) / greatest(1.0, abs(amount_1h))),
                count(our_z), count(*) FILTER (WHERE our_n_1h > 1),
                count(*) FILTER (WHERE our_count_stream <> n_1h_stream),
                max(abs(our_sum_stream - amount_1h_stream) / greatest(1.0, abs(amount_1h_stream)))
         FROM ours",
    )
    .await;
    let r = &result[0];
    assert_eq!(r[0], "12838", "rows");
    assert_eq!(r[1..5], ["0", "0", "0", "0"], "NULL patterns and counts differ from pandas: {r:?}");
    for (i, what) in [(5, "robust_zscore"), (6, "category_novelty"), (7, "hour_rarity"), (8, "amount in the last hour")]
    {
        let error: f64 = r[i].parse().expect("error");
        assert!(error <= 1e-12, "{what}: largest difference from pandas {error}");
    }
    assert_eq!(r[9], "12288", "scored amounts");
    assert_eq!(r[10], "351", "transactions with another in the hour before");
    assert_eq!(r[11], "0", "velocity_count differs from pandas rolling('1h', closed='both').count()");
    let error: f64 = r[12].parse().expect("error");
    assert!(error <= 1e-12, "velocity_sum: largest difference from pandas {error}");
}

#[tokio::test]
async fn isolation_forest_detects_planted_fraud_as_scikit_learn() {
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("fraud/planted_fraud_forest.json")).expect("planted_fraud_forest.json"),
    )
    .expect("json");
    let ctx = EngineBuilder::new().target_partitions(3).build().await.expect("engine");
    ctx.register_parquet("f", &fixture("fraud/planted_fraud_features.parquet"), ParquetReadOptions::default())
        .await
        .expect("features");
    let seeds = reference["seeds"].as_array().expect("seeds");
    let mut total = 0.0;
    for seed in seeds {
        let x = "[amount_z, category_novelty, hour_rarity, txns_1h, log_amount_1h]";
        total += scalar_f64(
            &ctx,
            &format!(
                "SELECT auc(isolation_forest_score((SELECT isolation_forest_fit({x}, 200, 256, {seed}) FROM f), {x}), fraud) FROM f"
            ),
        )
        .await;
    }
    #[allow(clippy::cast_precision_loss)]
    let ours = total / seeds.len() as f64;
    let sklearn = reference["mean_auc"].as_f64().expect("mean_auc");
    assert!(ours > 0.9, "the forest finds the planted fraud: AUC {ours}");
    assert!((ours - sklearn).abs() <= 0.01, "mean AUC over 5 seeds {ours} vs scikit-learn {sklearn}");
}

#[tokio::test]
async fn behavioural_features_stream_through_the_bounded_window_operator() {
    let ctx = EngineBuilder::new().target_partitions(2).build().await.expect("engine");
    let plan = rows(
        &ctx,
        "EXPLAIN SELECT robust_zscore(x, 20) OVER w, category_novelty(k) OVER w, hour_rarity(ts) OVER w,
                        velocity_count(ts, INTERVAL '1' HOUR) OVER w, velocity_sum(x, ts, INTERVAL '1' HOUR) OVER w
         FROM (VALUES (1, 1.0, 'a', TIMESTAMP '2024-01-01 10:00:00')) v(c, x, k, ts)
         WINDOW w AS (PARTITION BY c ORDER BY ts)",
    )
    .await;
    let physical = plan.iter().find(|r| r[0] == "physical_plan").map(|r| r[1].clone()).expect("physical plan");
    assert!(physical.contains("BoundedWindowAggExec"), "{physical}");
    assert!(!physical.contains(" WindowAggExec"), "{physical}");
}
