//! Recommendation functions against scikit-learn, NumPy and implicit: item similarities on Online
//! Retail (customers × stock codes), implicit ALS on its French customers, and ranking metrics on
//! generated cases checked against the textbook definitions and scikit-learn's `ndcg_score`
//! (fixtures and provenance in tests/fixtures/recommend).

mod common;

use datafusion::prelude::SessionContext;
use persona::EngineBuilder;
use serde_json::Value;

use common::rows;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/recommend/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn number(v: &str) -> Option<f64> {
    (v != "NULL").then(|| v.parse().unwrap_or_else(|_| panic!("not a number: {v}")))
}

fn close(got: f64, expected: f64, tolerance: f64) -> bool {
    got == expected || (got - expected).abs() <= tolerance * expected.abs().max(1.0)
}

async fn engine() -> SessionContext {
    let ctx = EngineBuilder::new().target_partitions(3).build().await.expect("engine");
    for (table, file) in [
        ("cells", "online_retail_cells.parquet"),
        ("sample", "online_retail_similarity_sample.parquet"),
        ("cases", "ranking_cases.parquet"),
        ("purchases", "online_retail_france_purchases.parquet"),
        ("als_items", "online_retail_france_als_items.parquet"),
        ("als_scores", "online_retail_france_als_scores.parquet"),
    ] {
        ctx.register_parquet(table, fixture(file), Default::default()).await.expect(file);
    }
    ctx
}

/// Every pair with at least 5 common customers: the count and sums equal the reference's over
/// all 2,985,040 ordered pairs, and the 4,000 sampled pairs equal scikit-learn / NumPy to 1e-12.
async fn check_similarity(ctx: &SessionContext, call: &str, column: &str, sum_key: &str) {
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("online_retail_similarity_summary.json")).expect("summary"),
    )
    .expect("json");
    let pairs = format!(
        "CREATE OR REPLACE TABLE pairs AS SELECT p['item_a'] AS a, p['item_b'] AS b, p['co_users'] AS co, p['score'] AS score \
         FROM (SELECT unnest({call}) AS p FROM cells)"
    );
    ctx.sql(&pairs).await.expect("plan").collect().await.expect("execute");
    let totals = rows(ctx, "SELECT count(*), sum(co), sum(score) FROM pairs").await;
    let (count, co, sum) = (&totals[0][0], &totals[0][1], number(&totals[0][2]).expect("sum"));
    assert_eq!(count, &summary["pairs"].to_string(), "{call}: number of pairs");
    assert_eq!(co, &summary["sum_co_users"].to_string(), "{call}: total common customers");
    let expected = summary[sum_key].as_f64().expect("sum");
    assert!(close(sum, expected, 1e-9), "{call}: sum of scores {sum} vs {expected}");
    let sample = rows(
        ctx,
        &format!(
            "SELECT s.item_a, s.item_b, s.co_users, p.co, s.{column}, p.score FROM sample s \
             LEFT JOIN pairs p ON p.a = s.item_a AND p.b = s.item_b ORDER BY s.item_a, s.item_b"
        ),
    )
    .await;
    assert_eq!(sample.len(), 4_000);
    for row in &sample {
        assert_eq!(row[2], row[3], "{call}: common customers of {} and {}", row[0], row[1]);
        let (expected, got) = (number(&row[4]).expect("reference"), number(&row[5]));
        let got = got.unwrap_or_else(|| panic!("{call}: pair {} {} missing", row[0], row[1]));
        assert!(close(got, expected, 1e-12), "{call}: {} {}: {got} vs {expected}", row[0], row[1]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_similarity_equals_scikit_learn_and_numpy_on_online_retail() {
    let ctx = engine().await;
    for (measure, sum_key) in
        [("cosine", "sum_cosine"), ("jaccard", "sum_jaccard"), ("lift", "sum_lift"), ("conditional", "sum_conditional")]
    {
        let call = format!("item_similarity(customer, item, '{measure}', 5)");
        check_similarity(&ctx, &call, measure, sum_key).await;
    }
    check_similarity(
        &ctx,
        "item_similarity_weighted(customer, item, spend, 5)",
        "weighted_cosine",
        "sum_weighted_cosine",
    )
    .await;
}

#[tokio::test]
async fn ranking_metrics_equal_the_textbook_definitions_and_scikit_learn() {
    let ctx = engine().await;
    let got = rows(
        &ctx,
        "SELECT id, precision_at_k(recommended, relevant, k), precision, recall_at_k(recommended, relevant, k), recall, \
                hit_rate_at_k(recommended, relevant, k), hit_rate, average_precision_at_k(recommended, relevant, k), average_precision, \
                ndcg_at_k(recommended, relevant, k), ndcg, sklearn_ndcg \
         FROM cases ORDER BY id",
    )
    .await;
    assert_eq!(got.len(), 600);
    let (mut undefined, mut sklearn) = (0, 0);
    for row in &got {
        for (name, at) in [("precision", 1), ("recall", 3), ("hit_rate", 5), ("average_precision", 7), ("ndcg", 9)] {
            match (number(&row[at]), number(&row[at + 1])) {
                (None, None) => undefined += 1,
                (Some(g), Some(e)) => assert!(close(g, e, 1e-12), "case {}: {name} {g} vs {e}", row[0]),
                (g, e) => panic!("case {}: {name} {g:?} vs reference {e:?}", row[0]),
            }
        }
        if let (Some(g), Some(e)) = (number(&row[9]), number(&row[11])) {
            assert!(close(g, e, 1e-12), "case {}: ndcg {g} vs scikit-learn {e}", row[0]);
            sklearn += 1;
        }
    }
    // the cases cover users without relevant items and the scikit-learn comparison
    assert!(undefined > 0 && sklearn > 200, "{undefined} undefined, {sklearn} against scikit-learn");
}

const ALS: &str = "SELECT als_fit(customer, item, purchases, 8, 0.1, 6, 2.0, 42) AS m FROM purchases";

#[tokio::test]
async fn als_equals_the_numpy_transcription_and_the_implicit_library() {
    let ctx = engine().await;
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("online_retail_france_als.json")).expect("json"))
            .expect("json");
    let fit = rows(&ctx, &format!("SELECT m['users'], m['factors'], m['iterations'], m['loss'] FROM ({ALS})")).await;
    assert_eq!(fit[0][..3], ["87", "8", "6"]);
    let (loss, expected) = (number(&fit[0][3]).expect("loss"), reference["loss"].as_f64().expect("loss"));
    assert!(close(loss, expected, 1e-9), "loss {loss} vs {expected}");
    // every item's factors, in name order
    let factors = (1..=8).map(|k| format!("f[{k}], r.factors[{k}]")).collect::<Vec<_>>().join(", ");
    let items = rows(
        &ctx,
        &format!(
            "WITH fit AS ({ALS}), ours AS (SELECT unnest(m['items']) AS item, unnest(m['item_factors']) AS f FROM fit) \
             SELECT o.item, r.item, {factors} FROM ours o FULL JOIN als_items r ON r.item = o.item ORDER BY o.item"
        ),
    )
    .await;
    assert_eq!(items.len(), 1522);
    for row in &items {
        assert_eq!(row[0], row[1], "item present on one side only");
        for k in 0..8 {
            let (got, expected) = (number(&row[2 + 2 * k]).expect("ours"), number(&row[3 + 2 * k]).expect("ref"));
            assert!((got - expected).abs() <= 1e-9, "{}: factor {k}: {got} vs {expected}", row[0]);
        }
    }
    // the top 5 of 25 customers, their factors solved from their purchases
    let scores = rows(
        &ctx,
        &format!(
            "WITH held AS (SELECT customer, array_agg(item) AS items, array_agg(purchases) AS feedback FROM purchases GROUP BY customer), \
                  ours AS (SELECT customer, als_score(({ALS}), items, 5, feedback) AS r FROM held) \
             SELECT s.customer, {} FROM als_scores s JOIN ours o ON o.customer = s.customer ORDER BY s.customer",
            (1..=5)
                .map(|i| format!("o.r[{i}]['item'], s.items[{i}], o.r[{i}]['score'], s.scores[{i}]"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
    .await;
    assert_eq!(scores.len(), 25);
    for row in &scores {
        for i in 0..5 {
            let at = 1 + 4 * i;
            assert_eq!(row[at], row[at + 1], "customer {}: item {i}", row[0]);
            let (got, expected) = (number(&row[at + 2]).expect("ours"), number(&row[at + 3]).expect("ref"));
            assert!(close(got, expected, 1e-9), "customer {}: score {i}: {got} vs {expected}", row[0]);
        }
    }
}
