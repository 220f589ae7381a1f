//! A bound on how deeply a statement's expressions nest, checked on the SQL text before it is
//! parsed. DataFusion clones and drops expression trees recursively (`Expr::clone` has no stack
//! guard), so `SELECT 1 + 1 + … + 1` with 10,000 terms — 40 KB of text — overflows the stack
//! of the thread planning it and aborts the whole process. The server (both protocols) and the
//! shell (`-c` commands and `-f` files) refuse such a statement before any tree is built: the
//! parser itself builds long operator chains in a loop, and the tree it returns is cloned and
//! dropped recursively too.
//!
//! The measure is taken on the parser's own tokens and errs on the side of counting too much: at each point of the text,
//! the sum over the enclosing brackets (`(`, `[`, `CASE … END`) of the operators seen at that
//! level since its last separator (a comma, `WHEN`/`THEN`/`ELSE`, or a clause keyword such as
//! `SELECT`, `FROM`, `WHERE`, `AS`), plus the number of enclosing brackets. Every operator token
//! counts once, and so do `AND`, `OR`, `NOT`, `IS`, `IN`, `LIKE`, `BETWEEN`; literals, names and
//! comments do not. An IN list or a CASE with many branches stays flat; a chain of 1,000 `OR`s does not.

use datafusion::common::{plan_err, Result};
use datafusion::execution::context::SessionState;
use datafusion::sql::sqlparser::dialect::{dialect_from_str, Dialect};
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

/// The deepest expression a statement may hold, in the measure above.
pub const MAX_EXPRESSION_DEPTH: usize = 1_000;

/// Keywords that end the expression before them at their bracket level.
const SEPARATORS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "HAVING",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "ON",
    "USING",
    "JOIN",
    "UNION",
    "INTERSECT",
    "EXCEPT",
    "WHEN",
    "THEN",
    "ELSE",
    "AS",
    "WITH",
    "VALUES",
    "SET",
    "WINDOW",
    "QUALIFY",
    "PARTITION",
    "RETURNING",
    "INTO",
];

/// Keywords that are operators.
const OPERATORS: &[&str] =
    &["AND", "OR", "NOT", "IS", "IN", "LIKE", "ILIKE", "BETWEEN", "SIMILAR", "XOR", "DIV", "MOD"];

/// The deepest expression of `sql` (tokenized as `dialect` does) in the measure of the module
/// docs, or an error naming where it passes `limit`. The tokens are those the parser will read,
/// so a string or comment can neither hide a chain from the measure nor be counted in it.
///
/// Text the tokenizer refuses passes: the parser tokenizes it the same way and reports the
/// syntax error before it builds anything.
///
/// # Errors
/// A message for the client when the depth passes `limit`.
pub fn check_depth(dialect: &dyn Dialect, sql: &str, limit: usize) -> std::result::Result<(), String> {
    let mut tokens = Vec::new();
    if Tokenizer::new(dialect, sql).with_unescape(false).tokenize_with_location_into_buf(&mut tokens).is_err() {
        return Ok(());
    }
    // operators since the last separator, per enclosing bracket (the statement's level first)
    let mut levels: Vec<usize> = vec![0];
    let mut depth = 0_usize; // the sum of `levels` plus the enclosing brackets
    for TokenWithSpan { token, span } in &tokens {
        match token {
            Token::LParen | Token::LBracket | Token::LBrace => open(&mut levels, &mut depth),
            Token::RParen | Token::RBracket | Token::RBrace => close(&mut levels, &mut depth),
            Token::Comma | Token::SemiColon => reset(&mut levels, &mut depth),
            Token::Word(word) if word.quote_style.is_none() => {
                let word = word.value.as_str();
                if word.eq_ignore_ascii_case("CASE") {
                    open(&mut levels, &mut depth);
                } else if word.eq_ignore_ascii_case("END") {
                    close(&mut levels, &mut depth);
                } else if OPERATORS.iter().any(|k| word.eq_ignore_ascii_case(k)) {
                    bump(&mut levels, &mut depth);
                } else if SEPARATORS.iter().any(|k| word.eq_ignore_ascii_case(k)) {
                    reset(&mut levels, &mut depth);
                }
            }
            token if is_operand(token) => {}
            _ => bump(&mut levels, &mut depth),
        }
        if depth > limit {
            return Err(format!(
                "statement too complex: its expressions nest deeper than {limit} operators and brackets \
                 (at line {}, column {}); write long chains of AND/OR/+ as IN lists, CASE or several statements",
                span.start.line, span.start.column
            ));
        }
    }
    Ok(())
}

/// [`check_depth`] with [`MAX_EXPRESSION_DEPTH`] in the session's SQL dialect, as a planning
/// error: what the shell runs on a command, or on a file (whose path then starts the message),
/// before handing it to the parser.
///
/// # Errors
/// An unknown dialect, or the statement refused by [`check_depth`].
pub fn check_sql(state: &SessionState, sql: &str, file: Option<&std::path::Path>) -> Result<()> {
    match (check_depth(session_dialect(state)?.as_ref(), sql, MAX_EXPRESSION_DEPTH), file) {
        (Ok(()), _) => Ok(()),
        (Err(message), None) => plan_err!("{message}"),
        (Err(message), Some(file)) => plan_err!("{}: {message}", file.display()),
    }
}

/// The tokenizer's dialect for the session's `datafusion.sql_parser.dialect`.
///
/// # Errors
/// A dialect sqlparser does not know.
pub fn session_dialect(state: &SessionState) -> Result<Box<dyn Dialect>> {
    let dialect = state.config().options().sql_parser.dialect;
    match dialect_from_str(dialect) {
        Some(parser_dialect) => Ok(parser_dialect),
        None => plan_err!("unsupported SQL dialect: {dialect}"),
    }
}

/// Tokens that are not operators: words, numbers, literals, placeholders, `.` and whitespace.
fn is_operand(token: &Token) -> bool {
    matches!(
        token,
        Token::EOF
            | Token::Word(_)
            | Token::Number(..)
            | Token::Whitespace(_)
            | Token::Placeholder(_)
            | Token::Period
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::TripleSingleQuotedString(_)
            | Token::TripleDoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
            | Token::TripleSingleQuotedByteStringLiteral(_)
            | Token::TripleDoubleQuotedByteStringLiteral(_)
            | Token::SingleQuotedRawStringLiteral(_)
            | Token::DoubleQuotedRawStringLiteral(_)
            | Token::TripleSingleQuotedRawStringLiteral(_)
            | Token::TripleDoubleQuotedRawStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::QuoteDelimitedStringLiteral(_)
            | Token::NationalQuoteDelimitedStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_)
    )
}

fn open(levels: &mut Vec<usize>, depth: &mut usize) {
    levels.push(0);
    *depth += 1;
}

fn close(levels: &mut Vec<usize>, depth: &mut usize) {
    if levels.len() > 1 {
        *depth -= 1 + levels.pop().unwrap_or(0);
    }
}

fn bump(levels: &mut [usize], depth: &mut usize) {
    if let Some(level) = levels.last_mut() {
        *level += 1;
        *depth += 1;
    }
}

fn reset(levels: &mut [usize], depth: &mut usize) {
    if let Some(level) = levels.last_mut() {
        *depth -= *level;
        *level = 0;
    }
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::dialect::{GenericDialect, PostgreSqlDialect};

    use super::*;

    fn depth_ok(sql: &str, limit: usize) -> bool {
        check_depth(&GenericDialect {}, sql, limit).is_ok()
    }

    #[test]
    fn chains_count_and_flat_lists_do_not() {
        let chain = |n: usize| format!("SELECT 1{}", " + 1".repeat(n));
        assert!(depth_ok(&chain(1000), 1000));
        assert!(!depth_ok(&chain(1001), 1000));
        let ors = (0..2000).map(|i| format!("a = {i}")).collect::<Vec<_>>().join(" OR ");
        assert!(!depth_ok(&format!("SELECT * FROM t WHERE {ors}"), 1000));
        let list = (0..100_000).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
        assert!(depth_ok(&format!("SELECT * FROM t WHERE a IN ({list})"), 1000), "an IN list is flat");
        let case = (0..5_000).map(|i| format!("WHEN a < {i} THEN {i}")).collect::<Vec<_>>().join(" ");
        assert!(depth_ok(&format!("SELECT CASE {case} ELSE 0 END AS s FROM t"), 1000), "CASE branches are flat");
        let columns = (0..5_000).map(|i| format!("a + {i} AS c{i}")).collect::<Vec<_>>().join(", ");
        assert!(depth_ok(&format!("SELECT {columns} FROM t"), 1000), "columns are separate expressions");
    }

    #[test]
    fn brackets_and_case_nest() {
        // 500 groups of 500 terms: each group is 500 deep, the chain of groups 500 more
        let group = format!("(1{})", " + 1".repeat(499));
        let sql = format!("SELECT {}", vec![group; 500].join(" + "));
        assert!(!depth_ok(&sql, 900));
        assert!(depth_ok(&sql, 1100));
        let cases = format!("SELECT {}", vec!["CASE WHEN a THEN 1 END"; 2_000].join(" + "));
        assert!(!depth_ok(&cases, 1000), "a chain of CASE expressions is a chain");
        let nested = format!("SELECT {}1{}", "(".repeat(2_000), ")".repeat(2_000));
        assert!(!depth_ok(&nested, 1000), "brackets count");
        let casts = format!("SELECT a{}", "::int".repeat(1_001));
        assert!(!depth_ok(&casts, 1000), "a chain of casts");
        let negations = format!("SELECT {}1", "- ".repeat(1_001));
        assert!(!depth_ok(&negations, 1000), "a chain of unary minus");
    }

    #[test]
    fn literals_and_comments_do_not_count_or_hide() {
        let pluses = "+ 1 ".repeat(2_000);
        for sql in [
            format!("SELECT '{pluses}'"),
            format!("SELECT 'it''s {pluses}'"),
            format!("SELECT \"{pluses}\""),
            format!("SELECT 1 -- {pluses}\n"),
            format!("SELECT 1 /* {pluses} */"),
        ] {
            assert!(depth_ok(&sql, 1000), "{}", &sql[..30]);
        }
        let pg = PostgreSqlDialect {};
        assert!(check_depth(&pg, &format!("SELECT $x${pluses}$x$"), 1000).is_ok());
        assert!(check_depth(&pg, &format!("SELECT E'\\' {pluses}'"), 1000).is_ok(), "an escaped quote");
        // a quote the parser reads as escaped does not end the string early, and one it reads as
        // closing does not hide the chain after it
        assert!(check_depth(&pg, &format!("SELECT E'\\'' {pluses}"), 1000).is_err());
        assert!(!depth_ok(&format!("SELECT '\\' {pluses}"), 1000), "no backslash escapes in standard strings");
        // a parameter is not a dollar quote
        assert!(!depth_ok(&format!("SELECT $1{}", " + $1".repeat(1_001)), 1000));
    }

    #[test]
    fn the_error_names_the_limit_and_the_place() {
        let err =
            check_depth(&GenericDialect {}, &format!("SELECT 1{}", " OR 1".repeat(50)), 20).expect_err("too deep");
        assert!(err.contains("deeper than 20") && err.contains("line 1, column"), "{err}");
    }
}
