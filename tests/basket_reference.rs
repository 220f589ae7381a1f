//! Basket functions against mlxtend on real baskets (Groceries and the Online Retail France subset;
//! fixtures and their provenance in tests/fixtures/basket).

mod common;

use std::collections::BTreeMap;

use persona::EngineBuilder;

use common::rows;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/basket/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Rows keyed by their first `key_columns` columns, the rest parsed as f64 ("inf" included).
fn keyed(rows: Vec<Vec<String>>, key_columns: usize) -> BTreeMap<Vec<String>, Vec<f64>> {
    rows.into_iter()
        .map(|r| {
            let values = r[key_columns..].iter().map(|v| v.parse::<f64>().expect("number")).collect();
            (r[..key_columns].to_vec(), values)
        })
        .collect()
}

fn assert_close(ours: &BTreeMap<Vec<String>, Vec<f64>>, reference: &BTreeMap<Vec<String>, Vec<f64>>, what: &str) {
    assert_eq!(ours.len(), reference.len(), "{what}: number of rows");
    for (key, expected) in reference {
        let got = ours.get(key).unwrap_or_else(|| panic!("{what}: {key:?} missing"));
        for (g, e) in got.iter().zip(expected) {
            let close = g == e || (g - e).abs() <= 1e-12 * e.abs().max(1.0);
            assert!(close, "{what}: {key:?}: {got:?} vs mlxtend {expected:?}");
        }
    }
}

async fn check(name: &str, min_support: f64, itemsets: usize, rules: usize) {
    let ctx = EngineBuilder::new().build().await.expect("engine");
    for table in ["baskets", "itemsets", "rules"] {
        ctx.register_parquet(table, fixture(&format!("{name}_{table}.parquet")), Default::default())
            .await
            .expect("fixture");
    }
    let ours = keyed(
        rows(
            &ctx,
            &format!(
                "SELECT array_to_string(s['items'], '|'), s['support']
                 FROM (SELECT unnest(frequent_itemsets(basket, item, {min_support})) AS s FROM baskets)"
            ),
        )
        .await,
        1,
    );
    let reference = keyed(rows(&ctx, "SELECT array_to_string(items, '|'), support FROM itemsets").await, 1);
    assert_eq!(reference.len(), itemsets);
    assert_close(&ours, &reference, &format!("{name} itemsets"));

    let metrics =
        "antecedent_support, consequent_support, support, confidence, lift, leverage, conviction, zhangs_metric";
    for min_confidence in [0.0, 0.5] {
        let sql = format!(
            "SELECT array_to_string(r['antecedents'], '|'), array_to_string(r['consequents'], '|'),
                    {fields}
             FROM (SELECT unnest(association_rules(frequent_itemsets(basket, item, {min_support}), {min_confidence})) AS r
                   FROM baskets)",
            fields = metrics.split(", ").map(|m| format!("r['{m}']")).collect::<Vec<_>>().join(", ")
        );
        let ours = keyed(rows(&ctx, &sql).await, 2);
        let reference = keyed(
            rows(
                &ctx,
                &format!(
                    "SELECT array_to_string(antecedents, '|'), array_to_string(consequents, '|'), {metrics}
                     FROM rules WHERE confidence >= {min_confidence}"
                ),
            )
            .await,
            2,
        );
        if min_confidence == 0.0 {
            assert_eq!(reference.len(), rules);
        }
        assert_close(&ours, &reference, &format!("{name} rules at confidence >= {min_confidence}"));
    }
}

#[tokio::test]
async fn groceries_equals_mlxtend() {
    check("groceries", 0.01, 333, 618).await;
}

#[tokio::test]
async fn online_retail_france_equals_mlxtend() {
    check("online_retail_france", 0.07, 90, 142).await;
}

/// Per-group mining (GroupsAccumulator, several partitions) gives each group the result of mining it alone.
#[tokio::test]
async fn grouped_mining_equals_mining_each_group_alone() {
    let ctx = EngineBuilder::new().target_partitions(2).build().await.expect("engine");
    ctx.register_parquet("baskets", fixture("groceries_baskets.parquet"), Default::default()).await.expect("fixture");
    let grouped = rows(
        &ctx,
        "SELECT g, array_to_string(s['items'], '|'), s['count'], s['support']
         FROM (SELECT g, unnest(sets) AS s
               FROM (SELECT basket % 3 AS g, frequent_itemsets(basket, item, 0.02) AS sets FROM baskets GROUP BY basket % 3))
",
    )
    .await;
    let mut alone = Vec::new();
    for g in 0..3 {
        alone.extend(
            rows(
                &ctx,
                &format!(
                    "SELECT {g}, array_to_string(s['items'], '|'), s['count'], s['support']
                     FROM (SELECT unnest(frequent_itemsets(basket, item, 0.02)) AS s FROM baskets WHERE basket % 3 = {g})"
                ),
            )
            .await,
        );
    }
    assert!(grouped.len() > 300, "{} itemsets", grouped.len());
    let (mut grouped, mut alone) = (grouped, alone);
    grouped.sort();
    alone.sort();
    assert_eq!(grouped, alone);
}
