//! The analyst recipes of sql/ (the ones `persona demo` runs) on the test lake.

mod common;

use persona::demo::{steps, RECIPES};

use common::{rows, test_engine, test_truth};

fn recipe(name: &str) -> &'static str {
    RECIPES.iter().find(|(file, _)| *file == name).map(|(_, sql)| *sql).expect("recipe")
}

#[tokio::test]
async fn every_recipe_step_runs_and_returns_rows() {
    let ctx = test_engine().await;
    for (file, sql) in RECIPES {
        let steps = steps(sql);
        assert!(!steps.is_empty(), "{file} has no statements");
        for step in steps {
            assert!(!step.title.is_empty(), "{file}: a statement without a title comment:\n{}", step.sql);
            let result = rows(&ctx, &step.sql).await;
            assert!(!result.is_empty(), "{file}: '{}' returned no rows", step.title);
        }
    }
}

#[tokio::test]
async fn customer_profile_finds_the_planted_invalid_personal_data_and_the_november_peak() {
    let ctx = test_engine().await;
    let steps = steps(recipe("customer_profile.sql"));
    let quality = rows(&ctx, &steps.last().expect("steps").sql).await;
    let truth = common::test_truth().quality;
    assert_eq!(
        quality[0][..4],
        [
            "3000".to_string(),
            truth.invalid_id_numbers.to_string(),
            truth.invalid_phones.to_string(),
            truth.missing_emails.to_string()
        ]
    );
    assert_eq!(quality[0][4], "0");
    assert_eq!(quality[0][5], truth.invalid_emails.to_string());
    let missing: f64 = quality[0][3].parse().expect("count");
    assert!((200.0..=500.0).contains(&missing), "about 12% of e-mails are missing, got {missing}");
    let monthly = rows(&ctx, &steps[2].sql).await;
    let busiest = monthly.iter().max_by_key(|r| r[1].parse::<i64>().expect("count")).expect("months");
    assert_eq!(busiest[0], "2025-11");
}

#[test]
fn steps_are_split_on_semicolons_with_their_titles() {
    let parsed = steps("-- header\n\n-- first\nSELECT 1;\n-- second\n-- more\nSELECT\n  2;\nSELECT 3");
    let titles: Vec<_> = parsed.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["first", "second more", ""]);
    assert_eq!(parsed[1].sql, "SELECT\n  2;\n");
}

#[tokio::test]
async fn segmentation_puts_every_purchasing_customer_in_one_known_segment() {
    let ctx = test_engine().await;
    let steps = steps(recipe("segmentation.sql"));
    let segments = rows(&ctx, &steps[0].sql).await;
    let total: i64 = segments.iter().map(|r| r[1].parse::<i64>().expect("count")).sum();
    let buyers = rows(&ctx, "SELECT count(DISTINCT customer_id) FROM transactions WHERE amount > 0").await;
    assert_eq!(total.to_string(), buyers[0][0]);
    let known = [
        "Champions",
        "Loyal Customers",
        "Potential Loyalists",
        "New Customers",
        "Promising",
        "Need Attention",
        "About To Sleep",
        "At Risk",
        "Cannot Lose Them",
        "Hibernating",
    ];
    for row in &segments {
        assert!(known.contains(&row[0].as_str()), "unknown segment {}", row[0]);
    }
    // Champions buy more recently, more often and more than Hibernating customers
    let get = |name: &str| segments.iter().find(|r| r[0] == name).expect("segment").clone();
    let (champions, hibernating) = (get("Champions"), get("Hibernating"));
    let num = |row: &Vec<String>, i: usize| row[i].parse::<f64>().expect("number");
    assert!(num(&champions, 3) < num(&hibernating, 3));
    assert!(num(&champions, 4) > num(&hibernating, 4));
    assert!(num(&champions, 5) > num(&hibernating, 5));
}

#[tokio::test]
async fn basket_analysis_recovers_exactly_the_planted_rules() {
    let ctx = test_engine().await;
    let steps = steps(recipe("basket_analysis.sql"));
    let rules = rows(&ctx, &steps[2].sql).await;
    let planted = test_truth().baskets.planted_rules;
    let items = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = s.split(" + ").map(str::to_string).collect();
        v.sort();
        v
    };
    // every planted rule is found, in its planted direction
    for rule in &planted {
        let found = rules.iter().any(|r| items(&r[0]) == rule.antecedent && items(&r[1]) == rule.consequent);
        assert!(found, "planted rule {:?} -> {:?} not recovered: {rules:?}", rule.antecedent, rule.consequent);
    }
    // and every rule found lies inside one planted association
    for r in &rules {
        let mut all = items(&r[0]);
        all.extend(items(&r[1]));
        let inside = planted.iter().any(|p| {
            let planted_items: Vec<&String> = p.antecedent.iter().chain(&p.consequent).collect();
            all.iter().all(|i| planted_items.contains(&i))
        });
        assert!(inside, "rule {} -> {} is not a planted association", r[0], r[1]);
    }
}

#[tokio::test]
async fn drift_monitor_flags_exactly_the_planted_drifts() {
    let ctx = test_engine().await;
    let steps = steps(recipe("drift_monitor.sql"));
    let summary = rows(&ctx, &steps[0].sql).await;
    let truth = test_truth().drift;
    assert_eq!(summary.len(), truth.features.len());
    for row in &summary {
        let planted = truth.drifted.iter().find(|d| d.feature == row[0]);
        match planted {
            Some(d) => {
                assert_eq!(row[4], d.from_month, "{} drifting since", row[0]);
                assert_eq!(row[5], "DRIFT", "{}", row[0]);
            }
            None => assert_eq!(row[5], "stable", "{} should be stable: {row:?}", row[0]),
        }
    }
    // the score's KS test rejects in the drifted months only
    let score = rows(&ctx, &steps[2].sql).await;
    let from = &truth.drifted.iter().find(|d| d.feature == "score").expect("score drift").from_month;
    for row in &score {
        let p: f64 = row[4].parse().expect("p-value");
        if &row[0] >= from {
            assert!(p < 1e-6, "{row:?}");
        } else {
            assert!(p > 1e-3, "{row:?}");
        }
    }
}

/// On a lake of the demo's size: every planted uplift (campaign x age band) lies in the recipe's
/// 99% interval wherever the recipe reports one, and most bands are assessable.
#[tokio::test]
async fn campaign_evaluation_recovers_the_planted_uplift_within_its_interval() {
    let lake = common::demo_size_lake();
    let ctx = persona::EngineBuilder::new().lake(lake.display().to_string()).build().await.expect("engine");
    let json = std::fs::read_to_string(lake.join("_truth.json")).expect("truth");
    let truth: persona::generate::truth::Truth = serde_json::from_str(&json).expect("truth json");
    let campaigns = truth.campaigns.campaigns;
    let steps = steps(recipe("campaign_evaluation.sql"));
    let bands = rows(&ctx, &steps[1].sql).await;
    let planted: usize = campaigns.iter().map(|c| c.segments.len()).sum();
    assert_eq!(bands.len(), planted);
    let mut assessed = 0;
    for row in &bands {
        if row[9] != "yes" {
            continue;
        }
        assessed += 1;
        let campaign = campaigns.iter().find(|c| c.campaign_id.to_string() == row[0]).expect("campaign");
        let segment = campaign.segments.iter().find(|s| s.age_band == row[1]).expect("age band");
        let (low, high): (f64, f64) = (row[6].parse().expect("low"), row[7].parse().expect("high"));
        assert!(
            low - 1e-4 <= segment.true_uplift && segment.true_uplift <= high + 1e-4,
            "campaign {} {}: planted uplift {} outside the 99% interval [{low}, {high}]",
            row[0],
            row[1],
            segment.true_uplift
        );
    }
    assert!(assessed >= planted / 2, "only {assessed} of {planted} bands assessable");
    // every campaign row has both arms
    for row in rows(&ctx, &steps[0].sql).await {
        assert!(
            row[3].parse::<i64>().expect("contacted") > 0 && row[4].parse::<i64>().expect("holdout") > 0,
            "{row:?}"
        );
    }
}

#[tokio::test]
async fn credit_model_report_ranks_risk() {
    let ctx = test_engine().await;
    let steps = steps(recipe("credit_model_report.sql"));
    for row in rows(&ctx, &steps[0].sql).await {
        let auc: f64 = row[3].parse().expect("auc");
        assert!((0.65..0.95).contains(&auc), "{row:?}");
    }
    let gains = rows(&ctx, &steps[1].sql).await;
    let first_lift: f64 = gains[0][4].parse().expect("lift");
    assert!(first_lift > 2.0, "{gains:?}");
    assert_eq!(gains.last().expect("deciles")[5], "1.0");
    let ivs = rows(&ctx, &steps[2].sql).await;
    assert_eq!(ivs[0][0], "credit_utilization", "{ivs:?}");
}

/// The least AUC of P(alive) for the planted churners on the test lake (measured: see the recipe).
const PLANTED_CHURN_AUC: f64 = 0.8;

#[tokio::test]
async fn customer_lifetime_fits_converge_and_predict_who_buys_again() {
    let ctx = test_engine().await;
    let steps = steps(recipe("customer_lifetime.sql"));
    // one converged BG/NBD and Gamma-Gamma model per acquisition channel
    let fits = rows(&ctx, &steps[0].sql).await;
    assert!(fits.len() >= 4, "{fits:?}");
    for row in &fits {
        assert_eq!((row[6].as_str(), row[11].as_str()), ("true", "true"), "{row:?}");
    }
    // predicted holdout purchases rise with calibration frequency, as the actual ones do
    let by_frequency = rows(&ctx, &steps[1].sql).await;
    let predicted: Vec<f64> = by_frequency.iter().map(|r| r[3].parse().expect("predicted")).collect();
    let actual: Vec<f64> = by_frequency.iter().map(|r| r[2].parse().expect("actual")).collect();
    assert!(predicted.last() > predicted.first() && actual.last() > actual.first(), "{by_frequency:?}");
    // P(alive) ranks who buys again in the holdout well
    let quality = rows(&ctx, &steps[3].sql).await;
    let auc: f64 = quality[0][2].parse().expect("auc");
    assert!(auc > 0.75, "{quality:?}");
    // and separates the generator's planted churners from the others
    let planted = rows(&ctx, &steps[4].sql).await;
    let churners: i64 = planted[0][1].parse().expect("churners");
    let auc: f64 = planted[0][4].parse().expect("auc");
    assert!(churners > 0 && auc > PLANTED_CHURN_AUC, "{planted:?}");
    // the lifecycle stages cover every purchasing customer once
    let stages = rows(&ctx, &steps[7].sql).await;
    let names: std::collections::BTreeSet<&str> = stages.iter().map(|r| r[0].as_str()).collect();
    assert!(names.is_subset(&["active", "at-risk", "lapsed", "new", "won-back"].into()), "{stages:?}");
    let staged: i64 = stages.iter().map(|r| r[1].parse::<i64>().expect("count")).sum();
    let purchasing = rows(&ctx, "SELECT count(DISTINCT customer_id) FROM transactions WHERE amount > 0").await;
    assert_eq!(staged.to_string(), purchasing[0][0]);
}

#[tokio::test]
async fn the_propensity_model_ranks_the_holdout_better_than_chance() {
    let ctx = test_engine().await;
    let steps = steps(recipe("campaign_evaluation.sql"));
    let propensity = steps.iter().find(|s| s.title.starts_with("Propensity to convert")).expect("propensity step");
    let gains = rows(&ctx, &propensity.sql).await;
    assert_eq!(gains.len(), 5, "{gains:?}");
    let number = |row: usize, column: usize| -> f64 { gains[row][column].parse().expect("number") };
    assert!(number(0, 6) > 0.55, "holdout AUC {}", gains[0][6]);
    assert!(number(0, 4) > number(4, 4), "the top quintile converts more than the bottom one: {gains:?}");
    assert!((number(4, 5) - 1.0).abs() < 1e-9);
}

#[tokio::test]
async fn the_scorecard_ranks_test_months_and_flags_the_planted_drift() {
    let ctx = test_engine().await;
    let steps = steps(recipe("credit_scorecard.sql"));
    let ranking = rows(&ctx, &steps[0].sql).await;
    assert_eq!(ranking.len(), 5);
    assert_eq!(ranking[0][0], "credit_utilization", "the planted strongest feature leads: {ranking:?}");
    let card = rows(&ctx, &steps[1].sql).await;
    let base: Vec<_> = card.iter().filter(|r| r[0] == "base").collect();
    assert_eq!(base.len(), 1);
    // riskier bins (positive WoE) cost points
    for row in card.iter().filter(|r| r[0] != "base") {
        let (woe, points): (f64, f64) = (row[3].parse().expect("woe"), row[4].parse().expect("points"));
        assert!(woe * points <= 0.0 || points == 0.0 || woe.abs() < 1e-3, "{row:?}");
    }
    let quality = rows(&ctx, &steps[2].sql).await;
    let number = |i: usize| -> f64 { quality[0][i].parse().expect("number") };
    assert!(number(1) > 0.65, "test AUC {}", quality[0][1]);
    assert!(number(5) > 0.1, "the utilisation drift from month 8 moves the score: PSI {}", quality[0][5]);
    // categorical attributes: the groups partition each attribute's categories (the lake's names
    // hold no ", "), and the IVs are ranked
    let categorical = rows(&ctx, &steps[3].sql).await;
    assert_eq!(categorical.len(), 4, "{categorical:?}");
    for row in &categorical {
        let column = &row[0];
        let mut listed: Vec<&str> = row[2].trim_matches(['[', ']']).split(", ").flat_map(|g| g.split("%,%")).collect();
        assert_eq!(row[1], row[2].trim_matches(['[', ']']).split(", ").count().to_string(), "{row:?}");
        listed.sort_unstable();
        let distinct = rows(&ctx, &format!("SELECT DISTINCT {column} FROM customers ORDER BY 1")).await;
        let distinct: Vec<&str> = distinct.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(listed, distinct, "{column}: every category in exactly one group");
    }
    let ivs: Vec<f64> = categorical.iter().map(|r| r[3].parse().expect("iv")).collect();
    assert!(ivs.windows(2).all(|w| w[0] >= w[1]) && ivs[0] > 0.0, "{ivs:?}");
}

#[tokio::test]
async fn cross_sell_collaborative_filtering_beats_popularity_on_the_last_orders() {
    let ctx = test_engine().await;
    let steps = steps(recipe("cross_sell.sql"));
    let split = rows(&ctx, &steps[0].sql).await;
    let evaluated: i64 = split[0][3].parse().expect("count");
    assert!(evaluated > 500, "{split:?}");
    // the planted basket rules are the strongest neighbours
    let neighbours = rows(&ctx, &steps[1].sql).await;
    let planted = test_truth().baskets.planted_rules;
    for pair in neighbours.iter().take(4) {
        let found = planted.iter().any(|r| {
            let items: Vec<&String> = r.antecedent.iter().chain(&r.consequent).collect();
            items.contains(&&pair[0]) && items.contains(&&pair[1])
        });
        assert!(found, "{pair:?} is not a planted association: {neighbours:?}");
    }
    // the planted tastes make item-based CF beat popularity on every metric, and ALS on precision and NDCG
    let methods = rows(&ctx, &steps[2].sql).await;
    let method = |name: &str| methods.iter().find(|r| r[0] == name).unwrap_or_else(|| panic!("{name}: {methods:?}"));
    let (als, cf, popularity) = (method("ALS"), method("item-based CF"), method("popularity"));
    let metric = |row: &Vec<String>, at: usize| row[at].parse::<f64>().expect("metric");
    for row in [als, cf, popularity] {
        assert_eq!(row[1], evaluated.to_string());
    }
    for (at, name) in [(2, "precision@5"), (3, "recall@5"), (4, "hit rate@5"), (5, "MAP@5"), (6, "NDCG@5")] {
        assert!(metric(cf, at) > metric(popularity, at) * 1.1, "{name}: CF {cf:?} vs popularity {popularity:?}");
    }
    for (at, name) in [(2, "precision@5"), (6, "NDCG@5")] {
        assert!(metric(als, at) > metric(popularity, at), "{name}: ALS {als:?} vs popularity {popularity:?}");
    }
    // CF offers more of the catalogue, and less popular items
    let coverage = rows(&ctx, &steps[3].sql).await;
    let number = |row: usize, at: usize| coverage[row][at].parse::<f64>().expect("number");
    assert!(number(0, 2) > number(1, 2) && number(0, 3) > number(1, 3), "{coverage:?}");
    // per segment: every evaluated customer is scored with their tier's list
    let tiers = rows(&ctx, &steps[5].sql).await;
    let scored: i64 = tiers.iter().map(|r| r[1].parse::<i64>().expect("count")).sum();
    assert_eq!(scored, evaluated);
}

#[tokio::test]
async fn fraud_monitor_finds_the_planted_fraud_with_every_method() {
    let ctx = test_engine().await;
    let truth = test_truth().fraud;
    let steps = steps(recipe("fraud_monitor.sql"));
    // the three planted patterns, none before the first fraud month
    let planted = rows(&ctx, &steps[0].sql).await;
    let patterns: Vec<&str> = planted.iter().map(|r| r[0].as_str()).collect();
    let names: Vec<&str> = truth.patterns.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(patterns, names);
    assert!(planted.iter().all(|r| r[3][..7] >= *truth.first_month), "{planted:?}");
    // every pattern stands out on its own feature: a spike on the amount z-score, a takeover on velocity
    let features = rows(&ctx, &steps[1].sql).await;
    let kind = |name: &str| features.iter().find(|r| r[0] == name).unwrap_or_else(|| panic!("{name}: {features:?}"));
    let number = |row: &Vec<String>, at: usize| row[at].parse::<f64>().expect("number");
    let ordinary = kind("ordinary");
    assert!(number(kind("amount_spike"), 2) > 5.0 && number(ordinary, 2).abs() < 0.5, "{features:?}");
    assert!(number(kind("account_takeover"), 5) > 3.0 && number(ordinary, 5) < 1.1, "{features:?}");
    assert!(number(kind("night_new_category"), 4) > number(ordinary, 4), "{features:?}");
    // all methods rank fraud far above chance; the models learned on earlier months do better than the rules
    let methods = rows(&ctx, &steps[2].sql).await;
    let method = |name: &str| methods.iter().find(|r| r[0] == name).unwrap_or_else(|| panic!("{name}: {methods:?}"));
    let (forest, tree, rules) = (method("isolation_forest"), method("decision_tree"), method("rules"));
    let labelled = rows(
        &ctx,
        "SELECT count(*) FROM fraud_labels WHERE txn_ts >= (SELECT max(date_trunc('month', txn_ts)) FROM transactions) - INTERVAL '3' MONTH",
    )
    .await;
    for row in [forest, tree, rules] {
        assert_eq!(row[3], labelled[0][0], "every test-month fraud is scored: {row:?}");
        assert!(number(row, 6) > 0.85, "AUC: {row:?}");
    }
    for model in [forest, tree] {
        assert!(number(model, 6) > 0.9 && number(model, 5) > 0.4, "{model:?}");
        assert!(number(model, 4) > number(rules, 4), "precision at the alert budget: {model:?} vs rules {rules:?}");
    }
    // the tree reads as rules over the named features
    let rules = rows(&ctx, &steps[3].sql).await;
    assert!(
        rules.len() >= 2 && rules.iter().all(|r| r[0].starts_with("IF ") && r[0].contains(" THEN p = ")),
        "{rules:?}"
    );
    assert!(rules.iter().any(|r| r[0].contains("txns_1h")), "{rules:?}");
}
