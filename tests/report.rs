//! Data-quality profiles and the HTML report on the test lake: the profile finds exactly the
//! defects the generator planted (`_truth.json`'s `quality`), and the report, opened in headless
//! Chromium (Debian's `chromium`, installed by .ci/run, driven by Playwright from a venv under
//! target/tmp), shows every chart with no console error and no request leaving the page, with
//! tables equal to their SQL run again here. Screenshots per section go to
//! target/tmp/report/screenshots.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{python_venv, rows, test_engine, test_lake, test_truth};
use persona::profile::{profile_table, ProfileOptions};
use persona::report::charts::CHARTS;
use persona::report::{build, chart_sql, Section, Table};
use persona::EngineBuilder;
use serde_json::Value;

/// The profile rows of `table` by column name: field name → displayed value.
async fn profile(ctx: &datafusion::prelude::SessionContext, table: &str) -> HashMap<String, HashMap<String, String>> {
    let profile = profile_table(ctx, table, &ProfileOptions::default()).await.expect("profile");
    let table = Table::from_batches(&[profile.batch]).expect("table");
    table
        .rows
        .iter()
        .map(|row| {
            let fields: HashMap<String, String> =
                table.columns.iter().cloned().zip(row.iter().map(|c| c.text.clone())).collect();
            (fields["column"].clone(), fields)
        })
        .collect()
}

#[tokio::test]
async fn profile_finds_exactly_the_planted_defects_within_a_small_pool() {
    let truth = test_truth().quality;
    assert!(truth.invalid_id_numbers > 0 && truth.duplicate_transactions > 0, "{truth:?}");
    let ctx = EngineBuilder::new()
        .lake(test_lake().display().to_string())
        .memory_limit(64 << 20)
        .build()
        .await
        .expect("engine");
    let customers = profile(&ctx, "customers").await;
    assert_eq!(customers["id_number"]["invalid"], truth.invalid_id_numbers.to_string());
    assert_eq!(customers["phone"]["invalid"], truth.invalid_phones.to_string());
    assert_eq!(customers["email"]["invalid"], truth.invalid_emails.to_string());
    assert_eq!(customers["email"]["nulls"], truth.missing_emails.to_string());
    assert_eq!(customers["customer_id"]["duplicate_keys"], "0");
    assert_eq!(customers["signup_date"]["future"], "0");
    // personal data: no value of those columns is shown
    for column in ["name", "phone", "id_number", "email"] {
        for field in ["min", "max", "top_values"] {
            assert_eq!(customers[column][field], "", "{column}.{field}");
        }
    }
    assert_eq!(customers["gender"]["distinct"], "2");
    assert!(customers["gender"]["top_values"].starts_with("M ("), "{:?}", customers["gender"]);
    let transactions = profile(&ctx, "transactions").await;
    assert_eq!(transactions["txn_id"]["duplicate_keys"], truth.duplicate_transactions.to_string());
    assert_eq!(transactions["amount"]["negative"], truth.negative_amounts.to_string());
    assert_eq!(transactions["txn_ts"]["future"], "0");
    let n: usize = transactions["amount"]["rows"].parse().expect("rows");
    let counted = rows(&ctx, "SELECT count(*) FROM transactions").await;
    assert_eq!(n.to_string(), counted[0][0]);
    // nothing else is flagged
    for (table, columns) in [("customers", &customers), ("transactions", &transactions)] {
        for (column, fields) in columns {
            let planted = matches!(column.as_str(), "id_number" | "phone" | "email" | "amount" | "txn_id");
            if !planted {
                for field in ["invalid", "negative", "non_finite", "future", "duplicate_keys"] {
                    let value = fields[field].as_str();
                    assert!(value.is_empty() || value == "0", "{table}.{column}.{field} = {value}");
                }
            }
        }
    }
}

#[tokio::test]
async fn the_profile_command_prints_every_column_and_rejects_a_bad_key() {
    let lake = test_lake().display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_persona"))
        .args(["profile", "--lake", &lake, "--format", "csv", "-q", "--maxrows", "inf", "customers"])
        .output()
        .expect("run persona profile");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("table,column,data_type,rows,nulls"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("customers,")).count(), 14, "{text}");
    let bad = Command::new(env!("CARGO_BIN_EXE_persona"))
        .args(["profile", "--lake", &lake, "--key", "customers", "customers"])
        .output()
        .expect("run persona profile");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--key: expected TABLE=COL[,COL], got customers"));
}

#[tokio::test]
async fn svg_format_writes_one_standalone_file_per_chart() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-svg");
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_persona"))
        .args(["report", "--lake", &test_lake().display().to_string(), "--sections", "credit,drift", "-q"])
        .args(["--format", "svg", "--out", &dir.display().to_string()])
        .output()
        .expect("run persona report");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("svg dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into())
        .collect();
    files.sort();
    assert_eq!(files, ["credit_gains.svg", "credit_ks.svg", "credit_roc.svg", "psi_heatmap.svg"]);
    let svg = std::fs::read_to_string(dir.join("psi_heatmap.svg")).expect("svg");
    assert!(svg.starts_with("<?xml") && svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(!svg.contains("href") && !svg.contains("<script"));
}

fn chromium() -> PathBuf {
    let path = std::env::var_os("PERSONA_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.exists(),
        "{} is missing: .ci/run installs Debian's chromium (or set PERSONA_CHROMIUM)",
        path.display()
    );
    path
}

fn check_in_browser(report: &Path, screenshots: &Path) -> Value {
    let venv = python_venv("report-browser-venv", &["playwright==1.65.3"]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/report_browser/check_report.py");
    let out = Command::new(venv.join("bin/python"))
        .arg(script)
        .arg(report)
        .arg(screenshots)
        .arg("--chromium")
        .arg(chromium())
        .output()
        .expect("run the browser check");
    assert!(out.status.success(), "browser check failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the browser check prints JSON")
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), String::from)).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn report_opens_in_chromium_offline_with_every_chart_and_its_sql_result() {
    let ctx = test_engine().await;
    let report =
        build(&ctx, "test lake", &Section::ALL, |_: usize, _: usize, _: Section, _: &str| {}).await.expect("report");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report");
    let screenshots = dir.join("screenshots");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&screenshots).expect("report dir");
    let html = dir.join("report.html");
    std::fs::write(&html, report.html()).expect("write report");

    let result = check_in_browser(&html, &screenshots);
    for key in ["console_errors", "page_errors", "external_requests", "problems", "cjk_text_failures"] {
        assert_eq!(result[key].as_array().map(Vec::len), Some(0), "{key}: {}", result[key]);
    }
    assert!(result["cjk_text_checked"].as_u64().unwrap_or(0) > 10, "Chinese labels are drawn");

    // every section and chart is on the page with a size, and its table is the SQL result
    let sections = &result["sections"];
    for section in Section::ALL {
        let found = &sections[section.name()];
        assert!(
            found["width"].as_f64().unwrap_or(0.0) > 0.0 && found["height"].as_f64().unwrap_or(0.0) > 0.0,
            "{section:?}"
        );
        let png = screenshots.join(format!("{}.png", section.name()));
        assert!(std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0) > 1000, "{}", png.display());
    }
    let drawn: Vec<_> = report.charts.iter().filter(|c| !c.svg.is_empty()).collect();
    assert_eq!(drawn.len(), CHARTS.len() + 2);
    for chart in &drawn {
        let shown = &sections[chart.section.name()]["charts"][chart.id.as_str()];
        assert!(shown["svg_width"].as_f64().unwrap_or(0.0) > 0.0, "{}: {shown}", chart.id);
        assert!(shown["svg_height"].as_f64().unwrap_or(0.0) > 0.0, "{}", chart.id);
        assert_eq!(shown["sql"].as_str().map(str::trim), Some(chart.sql.trim()), "{}", chart.id);
        let page_columns = strings(&shown["table"]["columns"]);
        let page_rows: Vec<Vec<String>> =
            shown["table"]["rows"].as_array().map(|rows| rows.iter().map(strings).collect()).unwrap_or_default();
        let expected = match CHARTS.iter().find(|c| c.id == chart.id) {
            Some(spec) => {
                let sql = chart_sql(spec, &report.as_of, &report.first_year);
                Table::from_batches(&ctx.sql(&sql).await.expect("plan").collect().await.expect("run")).expect("table")
            }
            None => chart.table.clone(),
        };
        assert!(!expected.rows.is_empty(), "{}: no rows", chart.id);
        assert_eq!(page_columns, expected.columns, "{}", chart.id);
        let expected_rows: Vec<Vec<String>> =
            expected.rows.iter().map(|r| r.iter().map(|c| c.text.clone()).collect()).collect();
        assert_eq!(page_rows, expected_rows, "{}", chart.id);
    }

    // the numbers mean what the charts say: every buyer is in one RFM segment, and the quality
    // chart shows exactly the planted defects
    let segments = &sections["segmentation"]["charts"]["rfm_segments"]["table"]["rows"];
    let in_segments: i64 =
        segments.as_array().expect("rows").iter().map(|r| strings(r)[1].parse::<i64>().expect("count")).sum();
    let buyers = rows(&ctx, "SELECT count(DISTINCT customer_id) FROM transactions WHERE amount > 0").await;
    assert_eq!(in_segments.to_string(), buyers[0][0]);
    let truth = test_truth().quality;
    let issues: HashMap<String, String> = sections["quality"]["charts"]["quality_issues"]["table"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let r = strings(r);
            (r[0].clone(), r[1].clone())
        })
        .collect();
    let expected = HashMap::from([
        ("customers.id_number: invalid values (cn_id)".to_string(), truth.invalid_id_numbers.to_string()),
        ("customers.phone: invalid values (cn_mobile)".to_string(), truth.invalid_phones.to_string()),
        ("customers.email: invalid values (email)".to_string(), truth.invalid_emails.to_string()),
        ("transactions.amount: negative numbers".to_string(), truth.negative_amounts.to_string()),
        ("transactions.txn_id: duplicate keys".to_string(), truth.duplicate_transactions.to_string()),
    ]);
    for (finding, count) in &expected {
        assert_eq!(issues.get(finding), Some(count), "{finding} in {issues:?}");
    }
    // other findings are only the refunds and fraud rows of other tables, never a false defect in customers
    assert!(issues.keys().filter(|k| k.starts_with("customers.")).all(|k| expected.contains_key(k)), "{issues:?}");
}
