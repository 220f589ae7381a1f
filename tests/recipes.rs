//! The analyst recipes of sql/ (the ones `persona demo` runs) on the test lake.

mod common;

use persona::demo::{steps, RECIPES};

use common::{rows, test_engine};

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
async fn customer_profile_finds_no_invalid_personal_data_and_the_november_peak() {
    let ctx = test_engine().await;
    let steps = steps(recipe("customer_profile.sql"));
    let quality = rows(&ctx, &steps.last().expect("steps").sql).await;
    assert_eq!(quality[0][..3], ["3000", "0", "0"]);
    assert_eq!(quality[0][4], "0");
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
