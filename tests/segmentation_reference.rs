//! Segmentation functions against the pandas reference on real data (Online Retail and
//! CDNOW; fixtures and their provenance in tests/fixtures/segmentation).

mod common;

use persona::EngineBuilder;

use common::rows;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/segmentation/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// R, F and M scores, the 3-digit cell and the R-F segment of every customer equal pandas.
async fn check_scores(file: &str, customers: &str) {
    let ctx = EngineBuilder::new().build().await.expect("engine");
    ctx.register_parquet("reference", fixture(file), Default::default()).await.expect("fixture");
    let sql = "WITH scored AS (
                 SELECT *,
                        6 - quantile_score(5) OVER (ORDER BY recency_days, customer_id) AS r,
                        quantile_score(5) OVER (ORDER BY frequency, customer_id) AS f,
                        quantile_score(5) OVER (ORDER BY monetary, customer_id) AS m
                 FROM reference)
               SELECT count(*),
                      count(*) FILTER (WHERE r <> r_score),
                      count(*) FILTER (WHERE f <> f_score),
                      count(*) FILTER (WHERE m <> m_score),
                      count(*) FILTER (WHERE rfm_cell(r, f, m) <> CAST(rfm_cell AS VARCHAR)),
                      count(*) FILTER (WHERE rfm_segment(r, f) <> segment)
               FROM scored";
    assert_eq!(rows(&ctx, sql).await, [[customers, "0", "0", "0", "0", "0"]], "{file}");
    // segment counts, compared as sets of (segment, count)
    let ours = rows(
        &ctx,
        "SELECT rfm_segment(6 - quantile_score(5) OVER (ORDER BY recency_days, customer_id),
                            quantile_score(5) OVER (ORDER BY frequency, customer_id)) AS segment, customer_id
         FROM reference",
    )
    .await;
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for row in ours {
        *counts.entry(row[0].clone()).or_default() += 1;
    }
    let expected = rows(&ctx, "SELECT segment, count(*) FROM reference GROUP BY segment ORDER BY segment").await;
    let expected: std::collections::BTreeMap<String, usize> =
        expected.into_iter().map(|r| (r[0].clone(), r[1].parse().expect("count"))).collect();
    assert_eq!(counts, expected, "{file}");
}

#[tokio::test]
async fn online_retail_scores_equal_pandas() {
    check_scores("online_retail_rfm.parquet", "4338").await;
}

#[tokio::test]
async fn cdnow_scores_equal_pandas() {
    check_scores("cdnow_rfm.parquet", "23570").await;
}
