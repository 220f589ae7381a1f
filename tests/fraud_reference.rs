//! Fraud functions against pandas: robust z-scores of CDNOW purchase amounts against each
//! customer's previous ten purchases (fixture and provenance in tests/fixtures/fraud).

mod common;

use datafusion::prelude::{CsvReadOptions, ParquetReadOptions};
use persona::EngineBuilder;

use common::rows;

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
