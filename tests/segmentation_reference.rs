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

#[tokio::test]
async fn rfm_inputs_equal_pandas_on_online_retail_lines() {
    let ctx = EngineBuilder::new().target_partitions(3).build().await.expect("engine");
    ctx.register_parquet("lines", fixture("online_retail_lines_excerpt.parquet"), Default::default())
        .await
        .expect("lines");
    ctx.register_parquet("reference", fixture("online_retail_rfm.parquet"), Default::default())
        .await
        .expect("reference");
    let sql = "WITH ours AS (
                 SELECT customer_id, rfm(invoice_ts, quantity * unit_price, DATE '2011-12-10', invoice_no) AS v
                 FROM lines GROUP BY customer_id)
               SELECT count(*),
                      count(*) FILTER (WHERE v['recency_days'] = r.recency_days),
                      count(*) FILTER (WHERE v['frequency'] = r.frequency),
                      count(*) FILTER (WHERE abs(v['monetary'] - r.monetary) <= 1e-9 * abs(r.monetary))
               FROM ours JOIN reference r USING (customer_id)";
    assert_eq!(rows(&ctx, sql).await, [["60", "60", "60", "60"]]);
}
