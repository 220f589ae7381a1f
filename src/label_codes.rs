//! `GROUP BY` a `CASE` of string constants, grouped by integer codes.
//!
//! Banding is how customers are segmented: `CASE WHEN 2025 - birth_year < 30 THEN '<30' WHEN … ELSE
//! '45+' END`, a score band, a segment name. DataFusion groups by the string the `CASE` builds for
//! every row: each row's string is built, hashed and compared (with a second key, in its
//! multi-column group values). [`GroupLabelsAsCodes`] rewrites each such `GROUP BY` expression — a
//! `CASE` (with or without an operand) whose `THEN` and `ELSE` results are all string constants
//! of one type or NULL — into the same `CASE` giving each distinct string a code (`Int32`, 0, 1, …
//! in order of first appearance; a NULL result or a missing `ELSE` stays NULL), and puts above the
//! aggregate a projection that turns the codes back into the strings under the aggregate's
//! column names. The groups are the same: equal strings get one code and different strings
//! different codes. The campaign-lift workload at 5M customers (15M contacts grouped by
//! campaign and age band): about a fifth less CPU.
//!
//! On by default; `SET persona.group_labels_as_codes = false` turns it off for a session.

use std::sync::Arc;

use datafusion::common::{Column, Result, ScalarValue};
use datafusion::logical_expr::expr::{Alias, Case};
use datafusion::logical_expr::{Aggregate, Expr, LogicalPlan, Projection};

use crate::settings::aggregate_rewrite_rule;

aggregate_rewrite_rule!(
    /// The optimizer rule described in the module docs.
    GroupLabelsAsCodes,
    "persona_group_labels_as_codes",
    group_labels_as_codes,
    encode
);

/// A string constant (`Some(None)` for a NULL of a string type); `None` for anything else.
fn string_constant(expr: &Expr) -> Option<Option<&ScalarValue>> {
    match expr {
        Expr::Literal(value @ (ScalarValue::Utf8(_) | ScalarValue::Utf8View(_) | ScalarValue::LargeUtf8(_)), _) => {
            Some((!value.is_null()).then_some(value))
        }
        _ => None,
    }
}

/// A `CASE` of string constants as a `CASE` of codes, and the strings the codes stand for.
struct Coded {
    case: Expr,
    labels: Vec<ScalarValue>,
    /// Every result is a string (the `CASE` has an `ELSE` and no NULL result): the codes are never NULL.
    total: bool,
}

fn code_case(case: &Case) -> Option<Coded> {
    let mut labels: Vec<ScalarValue> = Vec::new();
    let mut total = case.else_expr.is_some();
    let mut code_of = |result: &Expr| -> Option<Expr> {
        let Some(label) = string_constant(result)? else {
            total = false;
            return Some(Expr::Literal(ScalarValue::Int32(None), None));
        };
        if labels.first().is_some_and(|first| first.data_type() != label.data_type()) {
            return None;
        }
        let code = match labels.iter().position(|l| l == label) {
            Some(code) => code,
            None => {
                labels.push(label.clone());
                labels.len() - 1
            }
        };
        Some(Expr::Literal(ScalarValue::Int32(Some(i32::try_from(code).ok()?)), None))
    };
    let when_then_expr = case
        .when_then_expr
        .iter()
        .map(|(when, then)| Some((when.clone(), Box::new(code_of(then)?))))
        .collect::<Option<Vec<_>>>()?;
    let else_expr = match &case.else_expr {
        Some(result) => Some(Box::new(code_of(result)?)),
        None => None,
    };
    if labels.is_empty() {
        return None;
    }
    let case = Expr::Case(Case { expr: case.expr.clone(), when_then_expr, else_expr });
    Some(Coded { case, labels, total })
}

/// A `GROUP BY` expression that is such a `CASE` (under an alias or not), coded.
fn code_group(expr: &Expr) -> Option<Coded> {
    match expr {
        Expr::Case(case) => code_case(case),
        Expr::Alias(Alias { expr, relation, name, .. }) => match expr.as_ref() {
            Expr::Case(case) => {
                let coded = code_case(case)?;
                Some(Coded { case: coded.case.alias_qualified(relation.clone(), name), ..coded })
            }
            _ => None,
        },
        _ => None,
    }
}

/// `CASE code WHEN 0 THEN label_0 … END`: the labels back from the codes in `column`.
fn decode(column: Expr, coded: &Coded) -> Expr {
    let code = |i: usize| Expr::Literal(ScalarValue::Int32(i32::try_from(i).ok()), None);
    let label = |l: &ScalarValue| Box::new(Expr::Literal(l.clone(), None));
    let (when, otherwise) = match coded.labels.split_last() {
        // never NULL: the last label is the ELSE, so the column stays non-nullable
        Some((last, rest)) if coded.total => (rest, Some(label(last))),
        _ => (coded.labels.as_slice(), None),
    };
    let when_then_expr = when.iter().enumerate().map(|(i, l)| (Box::new(code(i)), label(l))).collect();
    Expr::Case(Case { expr: Some(Box::new(column)), when_then_expr, else_expr: otherwise })
}

/// The aggregate grouped by codes, under a projection that puts the labels back, or `None` if
/// no `GROUP BY` expression is a `CASE` of string constants.
fn encode(aggregate: &Aggregate) -> Result<Option<LogicalPlan>> {
    if aggregate.group_expr.iter().any(|e| matches!(e, Expr::GroupingSet(_))) {
        return Ok(None);
    }
    let coded: Vec<Option<Coded>> = aggregate.group_expr.iter().map(code_group).collect();
    if coded.iter().all(Option::is_none) {
        return Ok(None);
    }
    let group_expr = aggregate
        .group_expr
        .iter()
        .zip(&coded)
        .map(|(expr, coded)| coded.as_ref().map_or_else(|| expr.clone(), |c| c.case.clone()))
        .collect();
    let grouped = Aggregate::try_new(Arc::clone(&aggregate.input), group_expr, aggregate.aggr_expr.clone())?;
    let exprs = aggregate
        .schema
        .iter()
        .enumerate()
        .map(|(index, (qualifier, field))| {
            let column = Expr::Column(Column::from(grouped.schema.qualified_field(index)));
            let expr = match coded.get(index) {
                Some(Some(coded)) => decode(column, coded),
                _ => column,
            };
            expr.alias_qualified(qualifier.cloned(), field.name())
        })
        .collect();
    Ok(Some(LogicalPlan::Projection(Projection::try_new_with_schema(
        exprs,
        Arc::new(LogicalPlan::Aggregate(grouped)),
        Arc::clone(&aggregate.schema),
    )?)))
}
