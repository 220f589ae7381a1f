//! The demo-lake generator: determinism, validity, atomicity and the planted truths.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use persona::generate::truth::Truth;
use persona::generate::{generate, GenerateOptions};

use common::{rows, scalar_f64, test_engine, test_lake};

fn options(out: &Path, seed: u64) -> GenerateOptions {
    GenerateOptions { out: out.to_path_buf(), customers: 700, seed, months: 7, force: false, progress: false }
}

/// Every file of a lake, by relative path.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = fs::read(&path).expect("read");
                out.insert(path.strip_prefix(dir).expect("prefix").to_path_buf(), bytes);
            }
        }
    }
    out
}

fn truth(dir: &Path) -> Truth {
    serde_json::from_str(&fs::read_to_string(dir.join("_truth.json")).expect("truth")).expect("json")
}

#[test]
fn the_same_seed_gives_byte_identical_files_and_another_seed_does_not() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b, c) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"));
    generate(&options(&a, 3)).expect("a");
    generate(&options(&b, 3)).expect("b");
    generate(&options(&c, 4)).expect("c");
    let (fa, fb, fc) = (files(&a), files(&b), files(&c));
    assert!(fa.keys().any(|p| p.starts_with("transactions/month=2025-07")), "{:?}", fa.keys());
    assert_eq!(fa.len(), fb.len());
    for (path, bytes) in &fa {
        assert!(fb.get(path) == Some(bytes), "{} differs between two runs with one seed", path.display());
    }
    let customers = Path::new("customers/part-00000.parquet");
    assert_ne!(fa[customers], fc[customers], "another seed must give other customers");
}

#[test]
fn an_existing_lake_is_kept_unless_forced_and_no_staging_is_left() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("lake");
    generate(&options(&out, 1)).expect("first");
    let error = generate(&options(&out, 2)).expect_err("exists");
    assert!(error.to_string().contains("already exists and force is not set"), "{error}");
    assert_eq!(truth(&out).seed, 1);
    generate(&GenerateOptions { force: true, ..options(&out, 2) }).expect("forced");
    assert_eq!(truth(&out).seed, 2);
    let names: Vec<_> = fs::read_dir(tmp.path()).expect("ls").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(names, ["lake"]);
}

#[test]
fn bad_sizes_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (customers, months) in [(0, 12), (-5, 12), (10, 0), (10, 121)] {
        let options = GenerateOptions { customers, months, ..options(&tmp.path().join("x"), 1) };
        let error = generate(&options).expect_err("refused").to_string();
        // the library names its own options; the CLI maps them to its flags
        let field = if customers < 1 {
            "customers must be between 1 and 100000000"
        } else {
            "months must be between 1 and 120"
        };
        assert!(error.contains(field), "{customers} customers, {months} months: {error}");
        assert!(!error.contains("--"), "{error}");
    }
    assert!(!tmp.path().join("x").exists());
}

#[tokio::test]
async fn plain_sql_finds_the_planted_peak_month() {
    let truth = truth(&test_lake());
    let ctx = test_engine().await;
    let busiest = rows(&ctx, "SELECT month FROM transactions GROUP BY month ORDER BY count(*) DESC LIMIT 1").await;
    assert_eq!(busiest[0][0], truth.transactions.peak_month);
    assert_eq!(truth.transactions.peak_month, "2025-11");
}

#[tokio::test]
async fn plain_sql_recovers_the_planted_basket_rules() {
    let truth = truth(&test_lake());
    let ctx = test_engine().await;
    // item pairs over orders by plain SQL: lift = P(a and b) / (P(a) P(b)), confidence = P(b | a)
    let sql = "WITH n AS (SELECT count(DISTINCT order_id) AS orders FROM baskets),
               s AS (SELECT item, count(DISTINCT order_id) AS k FROM baskets GROUP BY item),
               p AS (SELECT a.item AS a, b.item AS b, count(DISTINCT a.order_id) AS k
                     FROM baskets a JOIN baskets b ON a.order_id = b.order_id AND a.item <> b.item GROUP BY 1, 2)
               SELECT p.a, p.b, p.k * n.orders * 1.0 / (sa.k * sb.k) AS lift, p.k * 1.0 / sa.k AS confidence
               FROM p JOIN s sa ON sa.item = p.a JOIN s sb ON sb.item = p.b CROSS JOIN n
               WHERE p.k >= 10 AND p.a < p.b ORDER BY lift DESC";
    let pairs = rows(&ctx, sql).await;
    let mut planted: Vec<(String, String)> = Vec::new();
    for rule in &truth.baskets.planted_rules {
        let items: Vec<&String> = rule.antecedent.iter().chain(&rule.consequent).collect();
        for a in &items {
            for b in &items {
                if a < b && !planted.contains(&((*a).clone(), (*b).clone())) {
                    planted.push(((*a).clone(), (*b).clone()));
                }
            }
        }
    }
    // the planted pairs are exactly the top of the lift ranking, far above the rest
    let top: Vec<(String, String)> = pairs.iter().take(planted.len()).map(|r| (r[0].clone(), r[1].clone())).collect();
    for pair in &planted {
        assert!(top.contains(pair), "planted pair {pair:?} is not in the top {}: {top:?}", planted.len());
    }
    let lift = |row: &Vec<String>| row[2].parse::<f64>().expect("lift");
    let weakest_planted = lift(&pairs[planted.len() - 1]);
    let strongest_other = lift(&pairs[planted.len()]);
    assert!(weakest_planted > 3.0 && strongest_other < weakest_planted / 1.5, "{weakest_planted} vs {strongest_other}");
    // single-item rules: the observed confidence is near the planted probability
    for rule in truth.baskets.planted_rules.iter().filter(|r| r.antecedent.len() == 1) {
        let (a, b) = (&rule.antecedent[0], &rule.consequent[0]);
        let (first, second) = if a < b { (a, b) } else { (b, a) };
        assert!(pairs.iter().any(|r| &r[0] == first && &r[1] == second), "{a} -> {b} not found");
    }
    let confidence = rows(
        &ctx,
        "SELECT count(DISTINCT b.order_id) * 1.0 / count(DISTINCT a.order_id) FROM baskets a
         LEFT JOIN baskets b ON a.order_id = b.order_id AND b.item = 'phone_case' WHERE a.item = 'iphone_16'",
    )
    .await[0][0]
        .parse::<f64>()
        .expect("confidence");
    let planted_confidence = truth.baskets.planted_rules[0].probability;
    assert!((confidence - planted_confidence).abs() < 0.1, "iphone_16 -> phone_case: {confidence}");
}

#[tokio::test]
async fn plain_sql_sees_the_planted_drift_and_nothing_else() {
    let truth = truth(&test_lake());
    let ctx = test_engine().await;
    let from = |feature: &str| {
        truth
            .drift
            .drifted
            .iter()
            .find(|d| d.feature == feature)
            .map(|d| format!("{}-01", d.from_month))
            .expect("drift")
    };
    let mean = |feature: &str, months: &str| format!("SELECT avg({feature}) FROM credit_scores WHERE {months}");
    let utilization_from = from("credit_utilization");
    let before =
        scalar_f64(&ctx, &mean("credit_utilization", &format!("snapshot_month < DATE '{utilization_from}'"))).await;
    let after =
        scalar_f64(&ctx, &mean("credit_utilization", &format!("snapshot_month >= DATE '{utilization_from}'"))).await;
    assert!(after - before > 0.12, "utilization {before} -> {after}");
    let logins_from = from("app_logins_30d");
    let before = scalar_f64(&ctx, &mean("app_logins_30d", &format!("snapshot_month < DATE '{logins_from}'"))).await;
    let after = scalar_f64(&ctx, &mean("app_logins_30d", &format!("snapshot_month >= DATE '{logins_from}'"))).await;
    assert!(after / before < 0.55, "logins {before} -> {after}");
    // a stable feature stays within 2% month to month
    let incomes = rows(&ctx, "SELECT avg(debt_to_income) FROM credit_scores GROUP BY snapshot_month").await;
    let values: Vec<f64> = incomes.iter().map(|r| r[0].parse().expect("mean")).collect();
    let (lo, hi) = values.iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    assert!(hi / lo < 1.02, "debt_to_income means {values:?}");
}

#[tokio::test]
async fn plain_sql_uplift_estimates_agree_with_the_planted_uplift() {
    let truth = truth(&test_lake());
    let ctx = test_engine().await;
    // pooled over segments, each campaign's estimated uplift is within 4 standard errors of the truth
    let sql = format!(
        "SELECT campaign_id, {segment} AS age_band,
                avg(CASE WHEN converted THEN 1.0 ELSE 0.0 END) FILTER (WHERE arm = 'treatment') AS p_t,
                avg(CASE WHEN converted THEN 1.0 ELSE 0.0 END) FILTER (WHERE arm = 'control') AS p_c,
                count(*) FILTER (WHERE arm = 'treatment') AS n_t,
                count(*) FILTER (WHERE arm = 'control') AS n_c
         FROM campaign_contacts JOIN customers USING (customer_id) GROUP BY 1, 2",
        segment = truth.campaigns.segment_sql
    );
    let cells = rows(&ctx, &sql).await;
    for plan in &truth.campaigns.campaigns {
        for segment in &plan.segments {
            let row =
                cells.iter().find(|r| r[0] == plan.campaign_id.to_string() && r[1] == segment.age_band).expect("cell");
            let v: Vec<f64> = row[2..].iter().map(|x| x.parse().expect("number")).collect();
            let (p_t, p_c, n_t, n_c) = (v[0], v[1], v[2], v[3]);
            let true_t = segment.control_rate + segment.true_uplift;
            let se = (true_t * (1.0 - true_t) / n_t + segment.control_rate * (1.0 - segment.control_rate) / n_c).sqrt();
            let z = (p_t - p_c - segment.true_uplift) / se;
            assert!(
                z.abs() < 4.0,
                "campaign {} {}: uplift {} vs true {} (z {z})",
                plan.campaign_id,
                segment.age_band,
                p_t - p_c,
                segment.true_uplift
            );
        }
    }
}
