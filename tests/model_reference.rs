//! Model functions against statsmodels and scikit-learn on German Credit and Bank Marketing
//! (../shared/data; fixtures made by tests/fixtures/model/make_refs.py, see its SOURCE.md), and
//! MADlib's documented `logregr` example.

mod common;

use datafusion::prelude::{ParquetReadOptions, SessionContext};
use persona::EngineBuilder;
use serde_json::Value;

use common::rows;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/model/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn refs() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("refs.json")).expect("refs.json")).expect("json")
}

fn numbers(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(items) => items.iter().flat_map(numbers).collect(),
        Value::Bool(b) => vec![f64::from(u8::from(*b))],
        v => vec![v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))],
    }
}

async fn engine() -> SessionContext {
    let ctx = EngineBuilder::new().target_partitions(3).build().await.expect("engine");
    for (table, file) in [
        ("german", fixture("german_credit.parquet")),
        ("german_full", fixture("german_credit_full.parquet")),
        ("bank", fixture("bank.parquet")),
    ] {
        ctx.register_parquet(table, &file, ParquetReadOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    ctx
}

/// The fields of the one-row struct `fit`, lists flattened, as numbers (true = 1).
async fn fields(ctx: &SessionContext, fit: &str, fields: &[(&str, usize)]) -> Vec<Vec<f64>> {
    let mut select = Vec::new();
    for (field, len) in fields {
        if *len == 0 {
            select.push(format!("m['{field}']"));
        } else {
            select.extend((1..=*len).map(|i| format!("m['{field}'][{i}]")));
        }
    }
    let sql = format!("SELECT {} FROM ({fit}) AS fit(m)", select.join(", "));
    let row: Vec<f64> = rows(ctx, &sql).await[0]
        .iter()
        .map(|v| match v.as_str() {
            "true" => 1.0,
            "false" => 0.0,
            v => v.parse().unwrap_or_else(|_| panic!("{sql}: {v}")),
        })
        .collect();
    let mut at = 0;
    fields
        .iter()
        .map(|(_, len)| {
            let take = (*len).max(1);
            at += take;
            row[at - take..at].to_vec()
        })
        .collect()
}

fn assert_close(what: &str, got: &[f64], expected: &[f64], rel: f64) {
    assert_eq!(got.len(), expected.len(), "{what}");
    for (g, e) in got.iter().zip(expected) {
        assert!(
            (g - e).abs() <= rel * e.abs(),
            "{what}: got {got:?}, expected {expected:?} (relative tolerance {rel})"
        );
    }
}

const GERMAN: &str =
    "[duration_in_month, credit_amount, age_in_years, installment_rate_in_percentage_of_disposable_income]";
const LOGIT_FIELDS: [(&str, usize); 6] =
    [("coefficients", 5), ("std_errors", 5), ("z", 5), ("p_values", 5), ("log_likelihood", 0), ("n", 0)];

#[tokio::test]
async fn logistic_regression_equals_statsmodels_logit() {
    let ctx = engine().await;
    let refs = refs();
    let fit = format!("SELECT logistic_regression(creditability = 'bad', {GERMAN}) FROM german");
    let got = fields(&ctx, &fit, &LOGIT_FIELDS).await;
    for (i, (field, _)) in LOGIT_FIELDS.iter().enumerate() {
        let expected = numbers(&refs["german_logit"][field]);
        assert_close(&format!("german {field}"), &got[i], &expected, 1e-8);
    }
    assert_eq!(fields(&ctx, &fit, &[("converged", 0)]).await, [[1.0]]);
    // 45,211 rows, three features, from a label string
    let fit = "SELECT logistic_regression(y = 'yes', [age, duration, campaign]) FROM bank";
    let got = fields(&ctx, fit, &LOGIT_FIELDS.map(|(f, n)| (f, n.min(4)))).await;
    for (i, (field, _)) in LOGIT_FIELDS.iter().enumerate() {
        assert_close(&format!("bank {field}"), &got[i], &numbers(&refs["bank_logit"][field]), 1e-8);
    }
}

#[tokio::test]
async fn logistic_regression_with_l2_equals_scikit_learn() {
    let ctx = engine().await;
    let refs = refs();
    for l2 in ["0.1", "1.0", "10.0"] {
        let fit = format!("SELECT logistic_regression(creditability = 'bad', {GERMAN}, {l2}) FROM german");
        let got = fields(&ctx, &fit, &[("coefficients", 5)]).await;
        assert_close(&format!("l2 = {l2}"), &got[0], &numbers(&refs["german_sklearn_l2"][l2]), 1e-6);
    }
}

#[tokio::test]
async fn the_madlib_patients_example() {
    // MADlib's documentation: coef {-6.36346994178192, -1.02410605239327, 0.119044916668607},
    // log_likelihood -9.41018298388876, printed to 15 digits but converged to its own tolerance:
    // statsmodels (tolerance 1e-14) and Persona agree to 2e-15 and differ from MADlib by 1e-11
    // relative, so MADlib is checked to 1e-9 and statsmodels to 1e-12
    let ctx = engine().await;
    let fit = "SELECT logistic_regression(second_attack, [treatment, trait_anxiety]) FROM (VALUES
        (1, 1, 70), (1, 1, 80), (1, 1, 50), (1, 0, 60), (1, 0, 40), (1, 0, 65), (1, 0, 75), (1, 0, 80), (1, 0, 70),
        (1, 0, 60), (0, 1, 65), (0, 1, 50), (0, 1, 45), (0, 1, 35), (0, 1, 40), (0, 1, 50), (0, 0, 55), (0, 0, 45),
        (0, 0, 50), (0, 0, 60)) p(second_attack, treatment, trait_anxiety)";
    let got = fields(&ctx, fit, &[("coefficients", 3), ("log_likelihood", 0)]).await;
    assert_close("MADlib coefficients", &got[0], &[-6.36346994178192, -1.02410605239327, 0.119044916668607], 1e-9);
    assert_close("MADlib log-likelihood", &got[1], &[-9.41018298388876], 1e-9);
    let statsmodels = &refs()["madlib_patients"];
    assert_close("statsmodels coefficients", &got[0], &numbers(&statsmodels["coefficients"]), 1e-12);
    assert_close(
        "statsmodels std errors",
        &fields(&ctx, fit, &[("std_errors", 3)]).await[0],
        &numbers(&statsmodels["std_errors"]),
        1e-8,
    );
}

#[tokio::test]
async fn linear_regression_equals_statsmodels_ols() {
    let ctx = engine().await;
    let refs = &refs()["bank_ols"];
    let fit = "SELECT linear_regression(balance, [age, duration, campaign]) FROM bank";
    let spec = [
        ("coefficients", 4),
        ("std_errors", 4),
        ("t", 4),
        ("p_values", 4),
        ("r_squared", 0),
        ("adj_r_squared", 0),
        ("n", 0),
    ];
    let got = fields(&ctx, fit, &spec).await;
    for (i, (field, _)) in spec.iter().enumerate() {
        // p-values down to 8e-97: the t tail's continued fraction is good to ~1e-12 relative
        let rel = if *field == "p_values" { 1e-8 } else { 1e-9 };
        assert_close(field, &got[i], &numbers(&refs[field]), rel);
    }
}

#[tokio::test]
async fn predictions_score_a_table_from_a_model_in_a_subquery() {
    let ctx = engine().await;
    // the score equations of a logistic fit with an intercept: mean probability = share of ones;
    // of least squares: mean prediction = mean response, residuals orthogonal to each feature
    let sql = format!(
        "WITH model AS (SELECT logistic_regression(creditability = 'bad', {GERMAN}) AS m FROM german)
         SELECT round(avg(logistic_predict((SELECT m FROM model), {GERMAN})), 12),
                round(avg(CASE WHEN creditability = 'bad' THEN 1.0 ELSE 0.0 END), 12)
         FROM german"
    );
    let out = rows(&ctx, &sql).await;
    assert_eq!(out[0][0], out[0][1], "{out:?}");
    let sql = "WITH model AS (SELECT linear_regression(balance, [age, duration, campaign]) AS m FROM bank),
                    scored AS (SELECT *, balance - linear_predict((SELECT m FROM model), [age, duration, campaign]) AS r FROM bank)
               SELECT abs(avg(r)) < 1e-6, abs(sum(r * age)) / sum(abs(r * age)) < 1e-9, abs(sum(r * duration)) / sum(abs(r * duration)) < 1e-9
               FROM scored";
    assert_eq!(rows(&ctx, sql).await, [["true", "true", "true"]]);
    // per group, a model per segment scores that segment's rows
    let sql = format!(
        "WITH models AS (SELECT age_in_years >= 35 AS older, logistic_regression(creditability = 'bad', {GERMAN}) AS m
                         FROM german GROUP BY 1)
         SELECT g.older, abs(round(avg(logistic_predict(models.m, {GERMAN})) - avg(CASE WHEN creditability = 'bad' THEN 1.0 ELSE 0.0 END), 12))
         FROM (SELECT *, age_in_years >= 35 AS older FROM german) g JOIN models USING (older) GROUP BY 1 ORDER BY 1"
    );
    assert_eq!(rows(&ctx, &sql).await, [["false", "0.0"], ["true", "0.0"]]);
}

/// woebin_reference.csv (scorecardpy 0.1.9.7's `woebin` on German Credit): per (method,
/// variable) the break list (the `breaks` column without `inf`) and the total IV.
fn woebin_reference() -> Vec<(String, String, Vec<f64>, f64)> {
    let text = std::fs::read_to_string(fixture("woebin_reference.csv")).expect("woebin_reference.csv");
    let mut out: Vec<(String, String, Vec<f64>, f64)> = Vec::new();
    for line in text.lines().skip(1) {
        // method,variable,"[lo,hi)",breaks,count,count_distr,good,bad,badprob,woe,bin_iv,total_iv
        let (head, rest) = line.split_once(",\"").expect("quoted bin");
        let (method, variable) = head.split_once(',').expect("method,variable");
        let fields: Vec<&str> = rest.split_once("\",").expect("bin").1.split(',').collect();
        let total_iv: f64 = fields[8].parse().expect("total_iv");
        if out.last().is_none_or(|(m, v, _, _)| m != method || v != variable) {
            out.push((method.to_string(), variable.to_string(), Vec::new(), total_iv));
        }
        if fields[0] != "inf" && fields[0] != "missing" {
            out.last_mut().expect("row").2.push(fields[0].parse().expect("break"));
        }
    }
    out
}

#[tokio::test]
async fn auto_bins_equals_scorecardpy_woebin_on_every_numeric_column() {
    let ctx = engine().await;
    let reference = woebin_reference();
    assert_eq!(reference.len(), 14);
    for (method, variable, expected, total_iv) in reference {
        let sql = format!("SELECT auto_bins({variable}, creditability = 'bad', '{method}') FROM german");
        let got = rows(&ctx, &sql).await[0][0].clone();
        let expected_text = format!("[{}]", expected.iter().map(|b| format!("{b:?}")).collect::<Vec<_>>().join(", "));
        assert_eq!(got, expected_text, "{method} {variable}");
        let sql = format!(
            "SELECT information_value({variable}, creditability = 'bad', (SELECT auto_bins({variable}, creditability = 'bad', '{method}') FROM german)) FROM german"
        );
        let iv: f64 = rows(&ctx, &sql).await[0][0].parse().expect("iv");
        assert!(
            (iv - total_iv).abs() <= 1e-12 * total_iv.max(1e-300),
            "{method} {variable}: IV {iv} vs scorecardpy {total_iv}"
        );
    }
}

/// auto_bins on a string column groups its categories as scorecardpy's `woebin` does (the groups
/// are its bin labels, in its order), and woe_table / information_value on those groups give its
/// counts, WoE and IV (woebin_categorical_reference.json), for all 13 string columns of German
/// Credit and both methods; woe codes every applicant with its group's WoE.
#[tokio::test]
async fn auto_bins_groups_categories_as_scorecardpy_woebin() {
    let ctx = engine().await;
    let text = std::fs::read_to_string(fixture("woebin_categorical_reference.json")).expect("reference");
    let reference: Value = serde_json::from_str(&text).expect("json");
    let mut checked = 0;
    for (method, columns) in reference.as_object().expect("methods") {
        for (variable, expected) in columns.as_object().expect("columns") {
            let groups: Vec<&str> =
                expected["groups"].as_array().expect("groups").iter().map(|g| g.as_str().expect("group")).collect();
            let bins = format!("(SELECT auto_bins({variable}, creditability = 'bad', '{method}') FROM german_full)");
            let got = rows(&ctx, &format!("SELECT unnest({bins})")).await;
            let got: Vec<&str> = got.iter().map(|r| r[0].as_str()).collect();
            assert_eq!(got, groups, "{method} {variable}");
            let table = rows(
                &ctx,
                &format!(
                    "SELECT b['bin'], b['good'], b['bad'], b['woe'] FROM \
                     (SELECT unnest(woe_table({variable}, creditability = 'bad', {bins})) AS b FROM german_full)"
                ),
            )
            .await;
            assert_eq!(table.len(), groups.len(), "{method} {variable}: bins");
            for (i, row) in table.iter().enumerate() {
                assert_eq!(row[0], groups[i], "{method} {variable}: bin {i}");
                assert_eq!(row[1], expected["good"][i].to_string(), "{method} {variable}: good {i}");
                assert_eq!(row[2], expected["bad"][i].to_string(), "{method} {variable}: bad {i}");
                let (woe, want) = (row[3].parse::<f64>().expect("woe"), expected["woe"][i].as_f64().expect("woe"));
                assert!(
                    (woe - want).abs() <= 1e-12 * want.abs().max(1e-300),
                    "{method} {variable}: woe {woe} vs {want}"
                );
            }
            let iv: f64 = rows(
                &ctx,
                &format!("SELECT information_value({variable}, creditability = 'bad', {bins}) FROM german_full"),
            )
            .await[0][0]
                .parse()
                .expect("iv");
            let want = expected["total_iv"].as_f64().expect("iv");
            assert!((iv - want).abs() <= 1e-12 * want.max(1e-300), "{method} {variable}: IV {iv} vs {want}");
            // every applicant coded with the WoE of the group that lists its category
            let coded = rows(
                &ctx,
                &format!(
                    "WITH t AS (SELECT woe_table({variable}, creditability = 'bad', {bins}) AS t FROM german_full) \
                     SELECT count(*), count(woe({variable}, t.t)), round(sum(woe({variable}, t.t)), 9) FROM german_full, t"
                ),
            )
            .await;
            let counts =
                expected["good"].as_array().expect("good").iter().zip(expected["bad"].as_array().expect("bad"));
            let sum: f64 = counts
                .zip(expected["woe"].as_array().expect("woe"))
                .map(|((g, b), w)| (g.as_f64().expect("n") + b.as_f64().expect("n")) * w.as_f64().expect("w"))
                .sum();
            assert_eq!(coded[0][..2], ["1000", "1000"], "{method} {variable}");
            let total: f64 = coded[0][2].parse().expect("sum");
            assert!((total - sum).abs() < 1e-8, "{method} {variable}: Σ woe {total} vs {sum}");
            checked += 1;
        }
    }
    assert_eq!(checked, 26);
}

const GERMAN_NUMERIC: [&str; 7] = [
    "duration_in_month",
    "credit_amount",
    "age_in_years",
    "installment_rate_in_percentage_of_disposable_income",
    "present_residence_since",
    "number_of_existing_credits_at_this_bank",
    "number_of_people_being_liable_to_provide_maintenance_for",
];

/// The whole scorecard in SQL — auto_bins, woe_table, woe, logistic_regression on the WoE codes,
/// points with scorecardpy's scaling — gives every German Credit applicant the points of
/// scorecardpy's scorecard + scorecard_ply (scorecard_make_reference.py), per feature and in total.
#[tokio::test]
async fn the_scorecard_gives_every_applicant_scorecardpys_points() {
    let ctx = engine().await;
    // ids fixed once (a materialised table), so every branch of the pipeline sees the same ones
    let columns = GERMAN_NUMERIC.join(", ");
    let batches = ctx
        .sql(&format!("SELECT row_number() OVER () AS id, {columns}, creditability = 'bad' AS bad FROM german"))
        .await
        .expect("plan")
        .collect()
        .await
        .expect("ids");
    let table = datafusion::datasource::MemTable::try_new(batches[0].schema(), vec![batches]).expect("table");
    ctx.register_table("applicants", std::sync::Arc::new(table)).expect("register");
    let features = GERMAN_NUMERIC
        .iter()
        .enumerate()
        .map(|(k, c)| format!("SELECT id, bad, {} AS k, CAST({c} AS DOUBLE) AS value FROM applicants", k + 1))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let points = (1..=7).map(|k| format!("p[{k}]")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "WITH features AS ({features}), \
         bins AS (SELECT k AS bk, auto_bins(value, bad) AS breaks FROM features GROUP BY k), \
         tables AS (SELECT f.k, woe_table(f.value, f.bad, b.breaks) AS t FROM features f JOIN bins b ON b.bk = f.k GROUP BY f.k), \
         coded AS (SELECT f.*, woe(f.value, t.t) AS w FROM features f JOIN tables t USING (k)), \
         model AS (SELECT logistic_regression(bad, x) AS m, 50 / ln(2) AS b \
                   FROM (SELECT bool_or(bad) AS bad, array_agg(w ORDER BY k) AS x FROM coded GROUP BY id)), \
         card AS (SELECT c.id, any_value(round(600 + b * ln(1.0 / 19) - b * m['coefficients'][1])) AS base, \
                         array_agg(round(-b * m['coefficients'][c.k + 1] * c.w) ORDER BY c.k) AS p \
                  FROM coded c, model GROUP BY c.id) \
         SELECT {columns}, {points}, base + {sum} FROM card JOIN applicants USING (id)",
        sum = (1..=7).map(|k| format!("p[{k}]")).collect::<Vec<_>>().join(" + ")
    );
    let parse = |row: &[String]| -> Vec<f64> { row.iter().map(|v| v.parse::<f64>().expect("number")).collect() };
    let mut ours: Vec<Vec<f64>> = rows(&ctx, &sql).await.iter().map(|r| parse(r)).collect();
    let text = std::fs::read_to_string(fixture("scorecard_points.csv")).expect("scorecard_points.csv");
    let mut reference: Vec<Vec<f64>> =
        text.lines().skip(1).map(|line| parse(&line.split(',').map(str::to_string).collect::<Vec<_>>())).collect();
    // -0 and 0 are the same points
    for row in ours.iter_mut().chain(reference.iter_mut()) {
        for v in row.iter_mut() {
            *v += 0.0;
        }
    }
    let order = |a: &Vec<f64>, b: &Vec<f64>| {
        a.iter().zip(b).map(|(x, y)| x.total_cmp(y)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
    };
    ours.sort_by(order);
    reference.sort_by(order);
    assert_eq!(ours.len(), 1000);
    assert_eq!(ours, reference);
}

/// The same scorecard on 3 numeric and 8 categorical features (string columns binned into groups
/// of categories by auto_bins): every applicant's 11 points and total equal scorecardpy's
/// (scorecard_mixed_points.csv, scorecard_make_reference.py).
#[tokio::test]
async fn a_scorecard_with_categorical_features_gives_scorecardpys_points() {
    let ctx = engine().await;
    let numeric = ["duration_in_month", "credit_amount", "age_in_years"];
    let categorical = [
        "status_of_existing_checking_account",
        "credit_history",
        "purpose",
        "savings_account_and_bonds",
        "present_employment_since",
        "property",
        "other_installment_plans",
        "housing",
    ];
    let union = |columns: &[&str], first: usize, cast: &str| -> String {
        columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                format!(
                    "SELECT id, creditability = 'bad' AS bad, {} AS k, CAST({c} AS {cast}) AS value FROM german_full",
                    first + i
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ")
    };
    let n = numeric.len() + categorical.len();
    let points = (1..=n).map(|k| format!("p[{k}]")).collect::<Vec<_>>();
    let sql = format!(
        "WITH nf AS ({nf}), cf AS ({cf}), \
         nbins AS (SELECT k AS bk, auto_bins(value, bad) AS breaks FROM nf GROUP BY k), \
         cbins AS (SELECT k AS bk, auto_bins(value, bad) AS groups FROM cf GROUP BY k), \
         ntables AS (SELECT f.k, woe_table(f.value, f.bad, b.breaks) AS t FROM nf f JOIN nbins b ON b.bk = f.k GROUP BY f.k), \
         ctables AS (SELECT f.k, woe_table(f.value, f.bad, b.groups) AS t FROM cf f JOIN cbins b ON b.bk = f.k GROUP BY f.k), \
         coded AS (SELECT f.id, f.bad, f.k, woe(f.value, t.t) AS w FROM nf f JOIN ntables t USING (k) \
                   UNION ALL SELECT f.id, f.bad, f.k, woe(f.value, t.t) AS w FROM cf f JOIN ctables t USING (k)), \
         model AS (SELECT logistic_regression(bad, x) AS m, 50 / ln(2) AS b \
                   FROM (SELECT bool_or(bad) AS bad, array_agg(w ORDER BY k) AS x FROM coded GROUP BY id)), \
         card AS (SELECT c.id, any_value(round(600 + b * ln(1.0 / 19) - b * m['coefficients'][1])) AS base, \
                         array_agg(round(-b * m['coefficients'][c.k + 1] * c.w) ORDER BY c.k) AS p \
                  FROM coded c, model GROUP BY c.id) \
         SELECT id, {list}, base + {sum} FROM card ORDER BY id",
        nf = union(&numeric, 1, "DOUBLE"),
        cf = union(&categorical, numeric.len() + 1, "VARCHAR"),
        list = points.join(", "),
        sum = points.join(" + "),
    );
    let parse = |row: &[String]| -> Vec<f64> { row.iter().map(|v| v.parse::<f64>().expect("number") + 0.0).collect() };
    let ours: Vec<Vec<f64>> = rows(&ctx, &sql).await.iter().map(|r| parse(r)).collect();
    let text = std::fs::read_to_string(fixture("scorecard_mixed_points.csv")).expect("scorecard_mixed_points.csv");
    let reference: Vec<Vec<f64>> =
        text.lines().skip(1).map(|line| parse(&line.split(',').map(str::to_string).collect::<Vec<_>>())).collect();
    assert_eq!(ours.len(), 1000);
    for (got, want) in ours.iter().zip(&reference) {
        assert_eq!(got, want, "applicant {}", want[0]);
    }
}

/// decision_tree_fit grows scikit-learn's DecisionTreeClassifier trees on German Credit: the same
/// nodes in the same order, splits, thresholds, counts and impurities (tree_make_reference.py; in
/// every case each of five random states gives one tree, so no tie is broken by chance).
#[tokio::test]
async fn decision_trees_equal_scikit_learn() {
    let ctx = engine().await;
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("tree_reference.json")).expect("tree_reference.json"))
            .expect("json");
    let features = reference["features"].as_array().expect("features").iter().map(|f| f.as_str().expect("name"));
    let features = features.collect::<Vec<_>>().join(", ");
    for case in reference["cases"].as_array().expect("cases") {
        assert_eq!(case["same_for_every_random_state"], Value::Bool(true));
        let (depth, leaf, criterion) =
            (&case["max_depth"], &case["min_samples_leaf"], case["criterion"].as_str().expect("c"));
        let sql = format!(
            "SELECT n['feature'], n['threshold'], n['left'], n['right'], n['samples'], n['positives'], n['impurity'] \
             FROM (SELECT unnest(t['nodes']) AS n \
                   FROM (SELECT decision_tree_fit(creditability = 'bad', [{features}], {depth}, {leaf}, '{criterion}') AS t FROM german))"
        );
        let got = rows(&ctx, &sql).await;
        let nodes = case["nodes"].as_array().expect("nodes");
        assert_eq!(got.len(), nodes.len(), "{criterion} depth {depth} leaf {leaf}: node count");
        for (i, (row, node)) in got.iter().zip(nodes).enumerate() {
            let what = format!("{criterion} depth {depth} leaf {leaf}: node {i}");
            let expect = |v: &Value| if v.is_null() { "NULL".to_string() } else { v.to_string() };
            assert_eq!(row[0], expect(&node["feature"]), "{what}: feature");
            assert_eq!(row[2], expect(&node["left"]), "{what}: left");
            assert_eq!(row[3], expect(&node["right"]), "{what}: right");
            assert_eq!(row[4], expect(&node["samples"]), "{what}: samples");
            assert_eq!(row[5], expect(&node["positives"]), "{what}: positives");
            if let Some(threshold) = node["threshold"].as_f64() {
                assert_eq!(row[1].parse::<f64>().expect("threshold"), threshold, "{what}: threshold");
            }
            let impurity = node["impurity"].as_f64().expect("impurity");
            let got: f64 = row[6].parse().expect("impurity");
            assert!((got - impurity).abs() <= 1e-12, "{what}: impurity {got} vs {impurity}");
        }
    }
}

/// isolation_forest_score on a fixed forest equals a NumPy transcription of the paper's
/// path-length scoring (forest_make_reference.py), and isolation_forest_fit detects German Credit's
/// bad risks as well as scikit-learn's IsolationForest (mean AUC of five seeds within 0.01).
#[tokio::test]
async fn isolation_forests_score_as_the_paper_and_detect_as_scikit_learn() {
    let ctx = engine().await;
    for (table, file) in [("forest_model", "forest_model.parquet"), ("forest_points", "forest_points.parquet")] {
        ctx.register_parquet(table, &fixture(file), ParquetReadOptions::default()).await.expect(file);
    }
    let scores =
        rows(&ctx, "SELECT isolation_forest_score((SELECT model FROM forest_model), x), score FROM forest_points")
            .await;
    assert_eq!(scores.len(), 220);
    for row in &scores {
        let (got, expected): (f64, f64) = (row[0].parse().expect("ours"), row[1].parse().expect("numpy"));
        assert!((got - expected).abs() <= 1e-12, "{got} vs {expected}");
    }
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("forest_reference.json")).expect("json")).expect("json");
    let x = GERMAN_NUMERIC.join(", ");
    let mut total = 0.0;
    for seed in 0..5 {
        let sql = format!(
            "WITH g AS (SELECT *, [{x}] AS x FROM german) \
             SELECT auc(isolation_forest_score((SELECT isolation_forest_fit(x, 100, 256, {seed}) FROM g), x), creditability = 'bad') FROM g"
        );
        total += rows(&ctx, &sql).await[0][0].parse::<f64>().expect("auc");
    }
    let (ours, sklearn) = (total / 5.0, reference["german_sklearn_auc_mean"].as_f64().expect("auc"));
    assert!((ours - sklearn).abs() <= 0.01, "mean AUC {ours} vs scikit-learn {sklearn}");
}
