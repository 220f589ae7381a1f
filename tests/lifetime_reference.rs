//! Customer-lifetime functions against lifetimes 0.11.3 and the published values on the CDNOW
//! data (../shared/data/cdnow; fixtures made by tests/fixtures/lifetime/make_reference.py, see
//! its SOURCE.md). The raw transactions are read from the repository's copy of the data set.

mod common;

use datafusion::prelude::{CsvReadOptions, SessionContext};
use persona::EngineBuilder;
use serde_json::Value;

use common::rows;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/lifetime/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn fits() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("sample_fits.json")).expect("sample_fits.json"))
        .expect("json")
}

fn number(v: &Value, path: &str) -> f64 {
    let mut at = v;
    for key in path.split('/') {
        at = &at[key];
    }
    at.as_f64().unwrap_or_else(|| panic!("{path} is not a number: {at}"))
}

async fn engine() -> SessionContext {
    let ctx = EngineBuilder::new().target_partitions(3).build().await.expect("engine");
    for (table, file) in [
        ("sample_tx", fixture("cdnow_sample_tx.csv")),
        ("sample_summary", fixture("sample_summary_week.csv")),
        ("sample_predictions", fixture("sample_predictions.csv")),
        ("unconditional", fixture("sample_unconditional.csv")),
    ] {
        ctx.register_csv(table, &file, CsvReadOptions::new()).await.unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    ctx
}

/// The fields of a one-row struct query, as numbers.
async fn model(ctx: &SessionContext, sql: &str, fields: &[&str]) -> Vec<f64> {
    let select: Vec<String> = fields.iter().map(|f| format!("m['{f}']")).collect();
    let sql = format!("SELECT {} FROM ({sql}) AS fit(m)", select.join(", "));
    let out = rows(ctx, &sql).await;
    out[0]
        .iter()
        .map(|v| match v.as_str() {
            "true" => 1.0,
            "false" => 0.0,
            v => v.parse().unwrap_or_else(|_| panic!("{sql}: {v}")),
        })
        .collect()
}

fn assert_close(what: &str, got: f64, expected: f64, rel: f64) {
    assert!(
        (got - expected).abs() <= rel * expected.abs(),
        "{what}: got {got}, expected {expected} (relative tolerance {rel})"
    );
}

#[tokio::test]
async fn clv_summary_equals_lifetimes_on_the_cdnow_sample() {
    let ctx = engine().await;
    let sql = "WITH ours AS (
                 SELECT customer_id, clv_summary(date, amount, DATE '1997-09-30', 'week') AS s
                 FROM sample_tx GROUP BY customer_id)
               SELECT count(*),
                      count(*) FILTER (WHERE s['frequency'] = r.frequency),
                      count(*) FILTER (WHERE abs(s['recency'] - r.recency) <= 1e-12 * r.recency),
                      count(*) FILTER (WHERE abs(s['T'] - r.\"T\") <= 1e-12 * r.\"T\"),
                      count(*) FILTER (WHERE abs(s['monetary_value'] - r.monetary_value) <= 1e-12 * r.monetary_value)
               FROM ours JOIN sample_summary r USING (customer_id)";
    assert_eq!(rows(&ctx, sql).await, [["2357", "2357", "2357", "2357", "2357"]]);
}

#[tokio::test]
async fn bgnbd_fit_equals_lifetimes_and_the_published_values() {
    let ctx = engine().await;
    let reference = fits();
    let fit = model(
        &ctx,
        "SELECT bgnbd_fit(frequency, recency, \"T\") FROM sample_summary",
        &["r", "alpha", "a", "b", "log_likelihood", "n", "converged"],
    )
    .await;
    for (i, p) in ["r", "alpha", "a", "b"].iter().enumerate() {
        assert_close(p, fit[i], number(&reference, &format!("bg_nbd/params/{p}")), 1e-4);
        assert_close(p, fit[i], number(&reference, &format!("bg_nbd/high_precision/params/{p}")), 1e-5);
        // the published digits of Fader, Hardie & Lee (2005)
        let published = number(&reference, &format!("published_bgnbd_FHL2005/{p}"));
        assert!((fit[i] - published).abs() <= 0.0005, "{p}: {} vs published {published}", fit[i]);
    }
    assert_close("ll", fit[4], number(&reference, "bg_nbd/high_precision/total_ll"), 1e-10);
    assert!((fit[4] - -9582.4).abs() <= 0.05, "published LL -9582.4, got {}", fit[4]);
    assert_eq!((fit[5], fit[6]), (2357.0, 1.0));
}

#[tokio::test]
async fn bgnbd_fit_from_raw_transactions_in_one_query() {
    let ctx = engine().await;
    let fit = model(
        &ctx,
        "SELECT bgnbd_fit(s['frequency'], s['recency'], s['T'])
         FROM (SELECT clv_summary(date, amount, DATE '1997-09-30', 'week') AS s FROM sample_tx GROUP BY customer_id)",
        &["r", "alpha", "a", "b"],
    )
    .await;
    let reference = fits();
    for (i, p) in ["r", "alpha", "a", "b"].iter().enumerate() {
        assert_close(p, fit[i], number(&reference, &format!("bg_nbd/params/{p}")), 1e-4);
    }
}

#[tokio::test]
async fn bgnbd_penalizer_equals_lifetimes() {
    let ctx = engine().await;
    let reference = fits();
    let fit =
        model(&ctx, "SELECT bgnbd_fit(frequency, recency, \"T\", 0.01) FROM sample_summary", &["r", "alpha", "a", "b"])
            .await;
    for (i, p) in ["r", "alpha", "a", "b"].iter().enumerate() {
        assert_close(p, fit[i], number(&reference, &format!("bg_nbd_penalizer_0.01/high_precision/params/{p}")), 1e-5);
    }
}

#[tokio::test]
async fn gamma_gamma_fit_equals_lifetimes_and_the_published_values() {
    let ctx = engine().await;
    let reference = fits();
    let fit = model(
        &ctx,
        "SELECT gamma_gamma_fit(frequency, monetary_value) FROM sample_summary",
        &["p", "q", "v", "log_likelihood", "n", "converged"],
    )
    .await;
    for (i, (p, published)) in [("p", 6.25), ("q", 3.74), ("v", 15.44)].iter().enumerate() {
        assert_close(p, fit[i], number(&reference, &format!("gamma_gamma/params/{p}")), 1e-6);
        assert!((fit[i] - published).abs() <= 0.005, "{p}: {} vs published {published}", fit[i]);
    }
    assert_close("ll", fit[3], number(&reference, "gamma_gamma/high_precision/total_ll"), 1e-10);
    assert_eq!((fit[4], fit[5]), (946.0, 1.0));
}

#[tokio::test]
async fn pareto_nbd_fit_reaches_the_maximum_lifetimes_approaches() {
    let ctx = engine().await;
    let reference = fits();
    let fit = model(
        &ctx,
        "SELECT pareto_nbd_fit(frequency, recency, \"T\") FROM sample_summary",
        &["r", "alpha", "s", "beta", "log_likelihood", "converged"],
    )
    .await;
    // lifetimes stops Nelder-Mead at tol 1e-4: its parameters are within 1e-4 of the maximum
    for (i, p) in ["r", "alpha", "s", "beta"].iter().enumerate() {
        assert_close(p, fit[i], number(&reference, &format!("pareto_nbd/params/{p}")), 2e-4);
        assert_close(p, fit[i], number(&reference, &format!("pareto_nbd/high_precision/params/{p}")), 2e-5);
    }
    let ll = fit[4];
    assert!(ll >= number(&reference, "pareto_nbd/total_ll") - 1e-9, "ours {ll} below lifetimes'");
    assert_close("ll", ll, number(&reference, "pareto_nbd/high_precision/total_ll"), 1e-11);
    assert_eq!(fit[5], 1.0);
}

#[tokio::test]
async fn predictions_equal_lifetimes_for_every_customer() {
    let ctx = engine().await;
    let bg = "named_struct('r', 0.243, 'alpha', 4.414, 'a', 0.793, 'b', 2.426)";
    let pnbd = "named_struct('r', 0.55, 'alpha', 10.58, 's', 0.61, 'beta', 11.67)";
    let gg = "named_struct('p', 6.25, 'q', 3.74, 'v', 15.44)";
    let close = |ours: String, column: &str| {
        format!("count(*) FILTER (WHERE abs({ours} - {column}) <= 1e-9 * abs({column}) + 1e-300)")
    };
    let checks = [
        close(format!("bgnbd_p_alive({bg}, frequency, recency, \"T\")"), "bg_p_alive"),
        close(format!("bgnbd_expected_purchases({bg}, 39, frequency, recency, \"T\")"), "bg_expected_39"),
        close(format!("bgnbd_expected_purchases({bg}, 52, frequency, recency, \"T\")"), "bg_expected_52"),
        close(format!("pareto_nbd_p_alive({pnbd}, frequency, recency, \"T\")"), "pnbd_p_alive"),
        close(format!("pareto_nbd_expected_purchases({pnbd}, 39, frequency, recency, \"T\")"), "pnbd_expected_39"),
        close(format!("pareto_nbd_expected_purchases({pnbd}, 52, frequency, recency, \"T\")"), "pnbd_expected_52"),
        close(format!("gamma_gamma_expected_spend({gg}, frequency, monetary_value)"), "gg_expected_spend"),
        close(format!("clv({bg}, {gg}, frequency, recency, \"T\", monetary_value, 12, 0.01, 'week')"), "clv_12"),
    ];
    let sql = format!("SELECT count(*), {} FROM sample_predictions", checks.join(", "));
    assert_eq!(rows(&ctx, &sql).await, [vec!["2357".to_string(); 9]]);
    let sql = format!(
        "SELECT count(*), {}, {} FROM unconditional",
        close(format!("bgnbd_expected_purchases_new({bg}, t)"), "bg_expected_new"),
        close(format!("pareto_nbd_expected_purchases_new({pnbd}, t)"), "pnbd_expected_new")
    );
    assert_eq!(rows(&ctx, &sql).await, [["8", "8", "8"]]);
}

async fn master_engine() -> SessionContext {
    let ctx = EngineBuilder::new().target_partitions(3).build().await.expect("engine");
    let gz = CsvReadOptions::new()
        .file_extension(".csv.gz")
        .file_compression_type(datafusion::datasource::file_format::file_compression_type::FileCompressionType::GZIP);
    ctx.register_csv("master_tx", &fixture("cdnow_master_tx.csv.gz"), gz).await.expect("master transactions");
    for (table, file) in [("master_summary", "master_summary_day.csv"), ("master_holdout", "master_holdout_day.csv")] {
        ctx.register_csv(table, &fixture(file), CsvReadOptions::new()).await.expect(file);
    }
    ctx
}

#[tokio::test]
async fn clv_summary_equals_lifetimes_for_every_cdnow_customer() {
    let ctx = master_engine().await;
    let sql = "WITH ours AS (
                 SELECT customer_id, clv_summary(date, amount, DATE '1998-06-30') AS s
                 FROM master_tx GROUP BY customer_id)
               SELECT count(*),
                      count(*) FILTER (WHERE s['frequency'] = r.frequency AND s['recency'] = r.recency AND s['T'] = r.\"T\"),
                      count(*) FILTER (WHERE abs(s['monetary_value'] - r.monetary_value) <= 1e-12 * r.monetary_value)
               FROM ours JOIN master_summary r USING (customer_id)";
    assert_eq!(rows(&ctx, sql).await, [["23570", "23570", "23570"]]);
}

#[tokio::test]
async fn calibration_and_holdout_equal_lifetimes() {
    let ctx = master_engine().await;
    let sql = "WITH ours AS (
                 SELECT customer_id,
                        clv_summary(date, amount, DATE '1997-09-30') AS s,
                        clv_holdout(date, DATE '1997-09-30', DATE '1998-06-30') AS h
                 FROM master_tx GROUP BY customer_id)
               SELECT count(*),
                      count(*) FILTER (WHERE s['frequency'] = r.frequency_cal AND s['recency'] = r.recency_cal
                                         AND s['T'] = r.\"T_cal\"),
                      count(*) FILTER (WHERE abs(s['monetary_value'] - r.monetary_value_cal) <= 1e-12 * r.monetary_value_cal),
                      count(*) FILTER (WHERE h['frequency_holdout'] = r.frequency_holdout
                                         AND h['duration_holdout'] = r.duration_holdout)
               FROM ours JOIN master_holdout r USING (customer_id)";
    assert_eq!(rows(&ctx, sql).await, [["23570", "23570", "23570", "23570"]]);
    // a customer with no purchase by the calibration end has no holdout row, as in lifetimes
    let sql = "SELECT clv_holdout(d, DATE '1997-09-30', DATE '1998-06-30') IS NULL
               FROM (VALUES (DATE '1997-11-01')) t(d)";
    assert_eq!(rows(&ctx, sql).await, [["true"]]);
}

/// The whole pipeline on the 23,570 CDNOW customers in weeks: summary, the three fits and the
/// summed 12-month CLV, against lifetimes (its Pareto/NBD stops short of the maximum: 2.4e-4).
#[tokio::test]
async fn master_fits_and_clv_agree_with_lifetimes() {
    let ctx = master_engine().await;
    let reference: Value = serde_json::from_str(&std::fs::read_to_string(fixture("master_fits.json")).expect("json"))
        .expect("master_fits.json");
    ctx.sql(
        "CREATE VIEW summary AS
         SELECT customer_id, s['frequency'] AS x, s['recency'] AS t_x, s['T'] AS age, s['monetary_value'] AS m
         FROM (SELECT customer_id, clv_summary(date, amount, DATE '1998-06-30', 'week') AS s
               FROM master_tx GROUP BY customer_id)",
    )
    .await
    .expect("view");
    for (sql, name, params, rel) in [
        ("SELECT bgnbd_fit(x, t_x, age) FROM summary", "bg_nbd", ["r", "alpha", "a", "b"].as_slice(), 1e-5),
        ("SELECT gamma_gamma_fit(x, m) FROM summary", "gamma_gamma", ["p", "q", "v"].as_slice(), 1e-5),
        ("SELECT pareto_nbd_fit(x, t_x, age) FROM summary", "pareto_nbd", ["r", "alpha", "s", "beta"].as_slice(), 1e-4),
    ] {
        let mut fields = params.to_vec();
        fields.push("log_likelihood");
        let fit = model(&ctx, sql, &fields).await;
        for (i, p) in params.iter().enumerate() {
            assert_close(p, fit[i], number(&reference, &format!("{name}/params/{p}")), 1e-3);
            assert_close(p, fit[i], number(&reference, &format!("{name}/high_precision/params/{p}")), rel);
        }
        let ll = fit[params.len()];
        assert!(ll >= number(&reference, &format!("{name}/total_ll")) - 1e-6, "{name}: ours {ll} below lifetimes'");
        assert_close(name, ll, number(&reference, &format!("{name}/high_precision/total_ll")), 1e-12);
    }
    let total = common::scalar_f64(
        &ctx,
        "WITH bg AS (SELECT bgnbd_fit(x, t_x, age) AS bg_model FROM summary),
              gg AS (SELECT gamma_gamma_fit(x, m) AS gg_model FROM summary)
         SELECT sum(clv(bg_model, gg_model, x, t_x, age, m, 12, 0.01, 'week')) FROM summary, bg, gg",
    )
    .await;
    assert_close("summed CLV", total, number(&reference, "timing_lifetimes/clv_sum_all_customers"), 1e-5);
}
