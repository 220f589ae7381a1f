//! SQL text → parsed statement, with the two rewrites the server needs: JDBC/ADBC-style `?`
//! placeholders numbered `$1, $2, …` in source order (DataFusion binds positional `$n`), and a
//! copy with every literal replaced by `?` for the audit log (so logs never hold the values,
//! PII or not, that a query compares against).

use std::ops::ControlFlow;

use datafusion::common::{plan_err, Result};
use datafusion::execution::context::SessionState;
use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::{visit_expressions_mut, Expr, Value};
use datafusion::sql::sqlparser::dialect::Dialect;

use crate::depth::{check_depth, session_dialect, MAX_EXPRESSION_DEPTH};

/// A parsed statement and its redacted text.
#[derive(Debug)]
pub struct ParsedStatement {
    pub statement: Statement,
    pub redacted: String,
}

/// The longest statement the server parses (an IN list of 100,000 IDs is about 1 MiB).
pub const MAX_STATEMENT_BYTES: usize = 8 << 20;

/// Refuses, before it is parsed, a statement longer than [`MAX_STATEMENT_BYTES`] or nesting
/// deeper than [`MAX_EXPRESSION_DEPTH`] (which would overflow the planner's stack and abort the
/// server: see [`crate::depth`]).
///
/// # Errors
/// The message for the client.
pub fn check_text(dialect: &dyn Dialect, sql: &str) -> std::result::Result<(), String> {
    if sql.len() > MAX_STATEMENT_BYTES {
        return Err(format!(
            "statement too long: {} bytes; the server parses at most {MAX_STATEMENT_BYTES} bytes of SQL",
            sql.len()
        ));
    }
    check_depth(dialect, sql, MAX_EXPRESSION_DEPTH)
}

/// Parses one statement in the session's dialect.
///
/// # Errors
/// Syntax errors, more than one statement, or one refused by [`check_text`].
pub fn parse(state: &SessionState, sql: &str) -> Result<ParsedStatement> {
    if let Err(message) = check_text(session_dialect(state)?.as_ref(), sql) {
        return plan_err!("{message}");
    }
    let dialect = state.config().options().sql_parser.dialect;
    let mut statement = state.sql_to_statement(sql, &dialect)?;
    number_placeholders(&mut statement);
    let redacted = redacted_text(&statement);
    Ok(ParsedStatement { statement, redacted })
}

/// The statement's text for the audit log: every literal replaced by `?`; the text of
/// statements that carry paths and options is not logged at all.
#[must_use]
pub fn redacted_text(statement: &Statement) -> String {
    let mut redacted = statement.clone();
    match redact_literals(&mut redacted) {
        Some(()) => redacted.to_string(),
        // CREATE EXTERNAL TABLE and COPY carry paths and options (credentials): not logged
        None => match statement {
            Statement::CreateExternalTable(create) => {
                format!("CREATE EXTERNAL TABLE {} (text not logged)", create.name)
            }
            Statement::CopyTo(_) => "COPY (text not logged)".to_string(),
            _ => "(statement text not logged)".to_string(),
        },
    }
}

fn inner(statement: &mut Statement) -> Option<&mut datafusion::sql::sqlparser::ast::Statement> {
    match statement {
        Statement::Statement(s) => Some(s.as_mut()),
        Statement::Explain(explain) => inner(&mut explain.statement),
        _ => None,
    }
}

fn number_placeholders(statement: &mut Statement) {
    let Some(statement) = inner(statement) else { return };
    let mut positions = Vec::new();
    let _: ControlFlow<()> = visit_expressions_mut(statement, |expr| {
        if let Expr::Value(v) = expr {
            if matches!(&v.value, Value::Placeholder(p) if p == "?") {
                positions.push((v.span.start.line, v.span.start.column));
            }
        }
        ControlFlow::Continue(())
    });
    positions.sort_unstable();
    let _: ControlFlow<()> = visit_expressions_mut(statement, |expr| {
        if let Expr::Value(v) = expr {
            if matches!(&v.value, Value::Placeholder(p) if p == "?") {
                let at = (v.span.start.line, v.span.start.column);
                if let Ok(index) = positions.binary_search(&at) {
                    v.value = Value::Placeholder(format!("${}", index + 1));
                }
            }
        }
        ControlFlow::Continue(())
    });
}

/// Replaces every literal, typed ones (`DATE '1990-03-07'`) included, by `?`; `None` for
/// statements that are not plain SQL statements.
fn redact_literals(statement: &mut Statement) -> Option<()> {
    let statement = inner(statement)?;
    let _: ControlFlow<()> = visit_expressions_mut(statement, |expr| {
        match expr {
            Expr::Value(v) if !matches!(v.value, Value::Boolean(_) | Value::Null | Value::Placeholder(_)) => {
                v.value = Value::Placeholder("?".into());
            }
            Expr::TypedString(_) => *expr = Expr::Value(Value::Placeholder("?".into()).with_empty_span()),
            _ => {}
        }
        ControlFlow::Continue(())
    });
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    #[test]
    fn numbers_placeholders_and_redacts_literals() {
        let state = SessionContext::new().state();
        let parsed = parse(
            &state,
            "SELECT a FROM t WHERE phone = '13812345678' AND b > ? AND c IN (?, 7) OR d = $9 OR e = DATE '1990-03-07'",
        )
        .expect("parses");
        let text = parsed.statement.to_string();
        assert!(text.contains("b > $1") && text.contains("IN ($2, 7)") && text.contains("d = $9"), "{text}");
        assert!(!parsed.redacted.contains("138") && !parsed.redacted.contains('7'), "{}", parsed.redacted);
        assert!(parsed.redacted.contains("phone = ?") && !parsed.redacted.contains("1990"), "{}", parsed.redacted);
        let copy = parse(&state, "COPY (SELECT 1) TO 's3://bucket/secret' OPTIONS ('aws.secret_access_key' 'abc')")
            .expect("parses");
        assert_eq!(copy.redacted, "COPY (text not logged)");
        assert!(parse(&state, "SELECT 1; SELECT 2").is_err());
    }
}
