//! Runs the SQL example in the `#[user_doc]` documentation of every Persona function and
//! compares the printed result with the table the documentation shows.
//!
//! An example is the text of `Documentation::sql_example`: each statement starts on a line
//! beginning with `> ` and continues on the following lines up to the result table (the lines
//! starting with `+` or `|`). The statement is run on a `SessionContext` with
//! `persona_udfs::register_all`, the result is printed with arrow's pretty printer
//! (`pretty_format_batches_with_options`, NULL printed as `NULL` as the `persona` shell and
//! datafusion-cli print it; otherwise `pretty_format_batches`' defaults) and must equal the
//! documented table exactly; only trailing whitespace of each line and of the whole table is
//! ignored.
//!
//! A function without an example fails the test. An example known not to match today is listed
//! in [`KNOWN_MISMATCHES`] with the reason and what it prints today: the test checks that it
//! still prints exactly that, and fails if the example starts to match the documentation
//! (remove the entry then), so the list cannot go stale.

use arrow::util::display::FormatOptions;
use arrow::util::pretty::pretty_format_batches_with_options;
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::Documentation;
use datafusion::prelude::SessionContext;

/// Functions whose documented example does not print what the documentation shows: the
/// function, why, and what the example prints today (each statement's table, normalised).
/// Fix the documentation (or the function), then delete the entry: the test fails while an
/// entry's example matches its documentation.
const KNOWN_MISMATCHES: &[(&str, &str, &str)] = &[];

/// One statement of an example and the table it should print (`None` when the example shows
/// no table after the statement).
#[derive(Debug)]
struct Statement {
    sql: String,
    expected: Option<String>,
}

/// Splits a `sql_example` into its statements and their expected tables.
fn parse_example(function: &str, example: &str) -> Result<Vec<Statement>> {
    let mut statements: Vec<Statement> = Vec::new();
    let mut in_table = false;
    for line in example.lines() {
        let trimmed = line.trim_end();
        if trimmed.starts_with("```") {
            in_table = false;
            continue;
        }
        if let Some(sql) = trimmed.strip_prefix("> ").or_else(|| (trimmed == ">").then_some("")) {
            statements.push(Statement { sql: sql.to_string(), expected: None });
            in_table = false;
            continue;
        }
        let Some(current) = statements.last_mut() else {
            if trimmed.is_empty() {
                continue;
            }
            return Err(DataFusionError::Internal(format!(
                "{function}: example text before the first `> ` statement: {trimmed:?}"
            )));
        };
        if trimmed.starts_with('+') || trimmed.starts_with('|') {
            if !in_table && current.expected.is_some() {
                return Err(DataFusionError::Internal(format!("{function}: two result tables after one statement")));
            }
            in_table = true;
            let table = current.expected.get_or_insert_with(String::new);
            table.push_str(trimmed);
            table.push('\n');
        } else if in_table {
            if !trimmed.is_empty() {
                return Err(DataFusionError::Internal(format!(
                    "{function}: text after the result table that is not a `> ` statement: {trimmed:?}"
                )));
            }
        } else if current.expected.is_none() {
            current.sql.push('\n');
            current.sql.push_str(trimmed);
        }
    }
    Ok(statements)
}

/// Trailing whitespace of each line and of the whole text removed.
fn normalise(text: &str) -> String {
    text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n").trim_end().to_string()
}

/// Every Persona function's name, aliases and documentation.
fn documented_functions() -> Vec<(String, Vec<String>, Option<Documentation>)> {
    let mut functions = Vec::new();
    for f in persona_udfs::scalar_functions() {
        functions.push((f.name().to_string(), f.aliases().to_vec(), f.documentation().cloned()));
    }
    for f in persona_udfs::aggregate_functions() {
        functions.push((f.name().to_string(), f.aliases().to_vec(), f.documentation().cloned()));
    }
    for f in persona_udfs::window_functions() {
        functions.push((f.name().to_string(), f.aliases().to_vec(), f.documentation().cloned()));
    }
    functions
}

/// What an example printed: the actual tables, in statement order, or the first error.
async fn run_example(function: &str, statements: &[Statement]) -> Result<Vec<String>> {
    let ctx = SessionContext::new();
    persona_udfs::register_all(&ctx)?;
    let mut printed = Vec::new();
    for statement in statements {
        let sql = statement.sql.trim().trim_end_matches(';');
        let batches = ctx
            .sql(sql)
            .await
            .map_err(|e| e.context(format!("{function}: planning the example {sql:?}")))?
            .collect()
            .await
            .map_err(|e| e.context(format!("{function}: running the example {sql:?}")))?;
        printed.push(
            pretty_format_batches_with_options(&batches, &FormatOptions::default().with_null("NULL"))?.to_string(),
        );
    }
    Ok(printed)
}

/// Compares what `statements` printed with their documented tables: `None` when all match,
/// else a report of the first difference.
fn compare(function: &str, statements: &[Statement], printed: &[String]) -> Option<String> {
    for (statement, actual) in statements.iter().zip(printed) {
        if let Some(expected) = &statement.expected {
            if normalise(expected) != normalise(actual) {
                return Some(format!(
                    "{function}: the example\n{}\nprints\n{}\nbut the documentation shows\n{}",
                    statement.sql.trim(),
                    normalise(actual),
                    normalise(expected)
                ));
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_example_prints_its_table() -> Result<()> {
    let functions = documented_functions();
    assert!(functions.len() >= 30, "expected Persona's ~37 functions, found {}", functions.len());
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, aliases, documentation) in &functions {
        let Some(documentation) = documentation else {
            failures.push(format!("{name}: no documentation"));
            continue;
        };
        let Some(example) = documentation.sql_example.as_deref() else {
            failures.push(format!("{name}: the documentation has no sql_example"));
            continue;
        };
        let statements = match parse_example(name, example) {
            Ok(s) => s,
            Err(e) => {
                failures.push(e.to_string());
                continue;
            }
        };
        if !statements.iter().any(|s| s.expected.is_some()) {
            failures.push(format!("{name}: the example has no `> ` statement followed by a result table"));
            continue;
        }
        let mentions =
            |word: &str| statements.iter().any(|s| s.sql.to_lowercase().contains(&format!("{}(", word.to_lowercase())));
        if !mentions(name) && !aliases.iter().any(|a| mentions(a)) {
            failures.push(format!("{name}: the example does not call {name}"));
            continue;
        }
        checked += 1;
        let printed = match run_example(name, &statements).await {
            Ok(printed) => printed,
            Err(e) => {
                failures.push(format!("{name}: the example fails: {e}"));
                continue;
            }
        };
        let difference = compare(name, &statements, &printed);
        match (difference, KNOWN_MISMATCHES.iter().find(|(f, _, _)| f == name)) {
            (None, None) => {}
            (Some(difference), None) => failures.push(difference),
            (None, Some((_, why, _))) => failures.push(format!(
                "{name}: listed in KNOWN_MISMATCHES ({why}) but its example now prints the documented table: remove the entry"
            )),
            (Some(difference), Some((_, _, today))) => {
                let now = printed.iter().map(|p| normalise(p)).collect::<Vec<_>>().join("\n");
                if now != normalise(today) {
                    failures.push(format!(
                        "{name}: a known mismatch, but the example no longer prints what KNOWN_MISMATCHES records:\n{difference}"
                    ));
                }
            }
        }
    }
    for (name, _, _) in KNOWN_MISMATCHES {
        if !functions.iter().any(|(n, _, _)| n == name) {
            failures.push(format!("KNOWN_MISMATCHES names {name}, which is not a Persona function"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples failed:\n\n{}",
        failures.len(),
        functions.len(),
        failures.join("\n\n")
    );
    assert_eq!(checked, functions.len(), "every function's example was run");
    Ok(())
}

#[test]
fn parser_reads_statements_continuations_and_tables() -> Result<()> {
    let example = "```sql\n> SELECT 1 AS a\n  , 2 AS b;\n+---+---+\n| a | b |\n+---+---+\n| 1 | 2 |\n+---+---+\n> SELECT 3 AS c;\n+---+\n| c |\n+---+\n| 3 |\n+---+\n```";
    let statements = parse_example("f", example)?;
    assert_eq!(statements.len(), 2);
    assert_eq!(statements[0].sql, "SELECT 1 AS a\n  , 2 AS b;");
    assert_eq!(statements[0].expected.as_deref(), Some("+---+---+\n| a | b |\n+---+---+\n| 1 | 2 |\n+---+---+\n"));
    assert_eq!(statements[1].sql, "SELECT 3 AS c;");
    assert_eq!(statements[1].expected.as_deref(), Some("+---+\n| c |\n+---+\n| 3 |\n+---+\n"));
    assert!(parse_example("f", "SELECT 1").is_err(), "text before the first statement is refused");
    Ok(())
}

#[tokio::test]
async fn a_changed_expected_value_is_reported() -> Result<()> {
    // the comparison itself: a documented table that differs in one cell must not pass
    let statements = parse_example("f", "> SELECT 1 AS a;\n+---+\n| a |\n+---+\n| 2 |\n+---+")?;
    let printed = run_example("f", &statements).await?;
    let report = compare("f", &statements, &printed).expect("1 printed where the doc says 2");
    assert!(report.contains("| 1 |") && report.contains("| 2 |"), "{report}");
    let statements = parse_example("f", "> SELECT 1 AS a;\n+---+\n| a |   \n+---+\n| 1 |\n+---+\n\n")?;
    let printed = run_example("f", &statements).await?;
    assert_eq!(compare("f", &statements, &printed), None, "trailing whitespace is ignored");
    Ok(())
}
