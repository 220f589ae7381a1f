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

/// sklearn's inertia and the best inertia seen over 100 seeded runs, by (dataset, k).
fn sklearn_inertia() -> Vec<(String, i64, f64, f64)> {
    let text = std::fs::read_to_string(fixture("kmeans_inertia.csv")).expect("kmeans_inertia.csv");
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            (f[0].to_string(), f[1].parse().expect("k"), f[2].parse().expect("inertia"), f[3].parse().expect("best"))
        })
        .collect()
}

/// kmeans on standardised log(R, F, M) reaches sklearn KMeans(n_init=10)'s inertia within 1%.
async fn check_kmeans(dataset: &str, ks: &[i64]) {
    let ctx = EngineBuilder::new().build().await.expect("engine");
    ctx.register_parquet("reference", fixture(&format!("{dataset}_rfm.parquet")), Default::default())
        .await
        .expect("fixture");
    let standardised =
        "WITH l AS (SELECT ln(1 + recency_days) AS r, ln(1 + frequency) AS f, ln(1 + monetary) AS m FROM reference)
        SELECT (r - avg(r) OVER ()) / stddev_pop(r) OVER () AS zr, (f - avg(f) OVER ()) / stddev_pop(f) OVER () AS zf,
               (m - avg(m) OVER ()) / stddev_pop(m) OVER () AS zm FROM l";
    ctx.sql(&format!("CREATE VIEW z AS {standardised}")).await.expect("view");
    for (name, k, sklearn, best) in sklearn_inertia().into_iter().filter(|r| r.0 == dataset && ks.contains(&r.1)) {
        let ours: f64 = rows(&ctx, &format!("SELECT kmeans([zr, zf, zm], {k})['inertia'] FROM z")).await[0][0]
            .parse()
            .expect("inertia");
        assert!(ours <= sklearn * 1.01, "{name} k={k}: inertia {ours} vs sklearn {sklearn}");
        assert!(ours >= best * 0.999, "{name} k={k}: inertia {ours} below the best of 100 sklearn runs {best}?");
    }
}

#[tokio::test]
async fn kmeans_matches_sklearn_inertia_on_online_retail() {
    check_kmeans("online_retail", &[2, 3, 4, 5, 6, 7, 8]).await;
}

#[tokio::test]
async fn kmeans_matches_sklearn_inertia_on_cdnow() {
    check_kmeans("cdnow", &[3, 5, 8]).await;
}
