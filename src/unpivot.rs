//! An aggregate over an unpivoted table, joined on its label and grouped by it, planned one
//! branch of the unpivot at a time.
//!
//! The long form of a drift or profile query unpivots a wide table into `(label, value)` rows with
//! a `UNION ALL` of one branch per column, each branch naming its column with a constant
//! (`SELECT month, 'age' AS feature, age AS value FROM t UNION ALL SELECT month, 'income', …`),
//! joins those rows to a per-label table on the label (each feature's cut points) and groups by
//! the label. DataFusion plans that as written: a hash join on the label string and a grouping
//! on it for every unpivoted row (465M rows for the PSI workload at 5M customers), although each
//! branch holds one label. [`SplitUnpivotAggregate`] rewrites
//!
//! ```text
//! Aggregate: groupBy=[label, g…], aggr=[a…]
//!   [Projection: columns]
//!     Inner Join: u.label = p.label [AND other keys] [filter]
//!       [SubqueryAlias…] Union (branch i: Projection with label = constant c_i)
//!       p
//! ```
//!
//! into a projection that names the columns as the aggregate did, over a `UNION ALL` over the
//! branches of
//!
//! ```text
//! Projection: c_i AS label, g…, a…            (the aggregate's columns, by name)
//!   Aggregate: groupBy=[g…], aggr=[a…]
//!     [Projection: columns]
//!       Inner Join: [other keys] [filter]       (a cross join when the label was the only key)
//!         [SubqueryAlias…] branch i
//!         Filter: p.label = c_i
//!           p
//! ```
//!
//! The rows, groups and aggregate inputs are the same: every row of branch i has label c_i, so
//! it matches exactly the rows of `p` with label c_i, and every group of the aggregate lies in
//! one branch because the label is one of its keys. Conditions (otherwise the plan is left as
//! it is): an inner join; a key pair one of whose keys is a column of the union side (or a cast
//! of one) that every branch sets to a non-NULL constant, the constants distinct and, as the key
//! compares them, of the other key's type; the union under a subquery alias (a CTE or derived
//! table's name); the label (either key column) among the `GROUP BY` columns, and no grouping
//! sets; the branches' column types those of the union (their names are taken from the union);
//! no volatile function on the other side. When the label is the only `GROUP BY` key it stays in
//! each branch's grouping, so that a branch without rows gives no row.
//!
//! The other side is planned once per branch, filtered to the branch's label. DataFusion pushes
//! that filter into it (through projections, aggregates grouped by the label, unions and joins),
//! so the branches compute their own parts of it — for PSI, each feature's cut points from that
//! feature's baseline rows; a side that cannot take the filter is computed once per branch.
//!
//! On by default; `SET persona.split_unpivot_aggregates = false` turns it off for a session.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::TreeNode;
use datafusion::common::{Column, DFSchemaRef, Result, ScalarValue, TableReference};
use datafusion::logical_expr::expr::{Alias, Cast, TryCast};
use datafusion::logical_expr::{
    Aggregate, Expr, ExprSchemable, Filter, Join, JoinType, LogicalPlan, Projection, SubqueryAlias, Union,
};

use crate::settings::aggregate_rewrite_rule;

aggregate_rewrite_rule!(
    /// The optimizer rule described in the module docs.
    SplitUnpivotAggregate,
    "persona_split_unpivot_aggregate",
    split_unpivot_aggregates,
    split
);

/// The join under an aggregate, and the projection of its columns between them, if any.
fn join_below(aggregate: &Aggregate) -> Option<(Option<&Projection>, &Join)> {
    match aggregate.input.as_ref() {
        LogicalPlan::Join(join) => Some((None, join)),
        LogicalPlan::Projection(projection) if projection.expr.iter().all(|e| matches!(e, Expr::Column(_))) => {
            match projection.input.as_ref() {
                LogicalPlan::Join(join) => Some((Some(projection), join)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A union under subquery aliases: the aliases (outermost first) and the union.
fn aliased_union(plan: &LogicalPlan) -> Option<(Vec<TableReference>, &Union)> {
    let mut aliases = Vec::new();
    let mut node = plan;
    loop {
        match node {
            LogicalPlan::SubqueryAlias(alias) => {
                aliases.push(alias.alias.clone());
                node = alias.input.as_ref();
            }
            LogicalPlan::Union(union) => return Some((aliases, union)),
            _ => return None,
        }
    }
}

/// The constant every branch of `union` gives its column `index`: non-NULL, distinct between
/// branches; `None` if a branch computes it, or the branches do not have the union's types.
fn branch_labels(union: &Union, index: usize) -> Option<Vec<ScalarValue>> {
    let mut seen = HashSet::new();
    union
        .inputs
        .iter()
        .map(|branch| {
            let LogicalPlan::Projection(projection) = branch.as_ref() else {
                return None;
            };
            let same_types = projection.schema.fields().len() == union.schema.fields().len()
                && projection
                    .schema
                    .fields()
                    .iter()
                    .zip(union.schema.fields())
                    .all(|(a, b)| a.data_type() == b.data_type());
            if !same_types {
                return None;
            }
            let mut expr = projection.expr.get(index)?;
            while let Expr::Alias(Alias { expr: inner, .. }) = expr {
                expr = inner;
            }
            match expr {
                Expr::Literal(value, _) if !value.is_null() && seen.insert(value.clone()) => Some(value.clone()),
                _ => None,
            }
        })
        .collect()
}

fn same_column(a: &Column, b: &Column) -> bool {
    a.relation == b.relation && a.name == b.name
}

/// The column of a join key that is a column or a cast of one (type coercion casts a `VARCHAR`
/// key to the other side's `Utf8View`), and the type it is compared as.
fn key_column(key: &Expr) -> Option<(&Column, Option<&DataType>)> {
    match key {
        Expr::Column(column) => Some((column, None)),
        Expr::Cast(Cast { expr, field }) | Expr::TryCast(TryCast { expr, field }) => match expr.as_ref() {
            Expr::Column(column) => Some((column, Some(field.data_type()))),
            _ => None,
        },
        _ => None,
    }
}

/// How the join's key pair `pair` unpivots: the union's side, its aliases and union, the other
/// side's key, each branch's label as the key compares it, and which `GROUP BY` expressions
/// are the label.
struct Unpivot<'a> {
    pair: usize,
    union_on_left: bool,
    aliases: Vec<TableReference>,
    union: &'a Union,
    other_key: &'a Expr,
    labels: Vec<ScalarValue>,
    compared: Vec<ScalarValue>,
    is_label: Vec<bool>,
}

fn find_unpivot<'a>(aggregate: &Aggregate, join: &'a Join) -> Option<Unpivot<'a>> {
    if aggregate.group_expr.iter().any(|e| matches!(e, Expr::GroupingSet(_))) {
        return None;
    }
    for (pair, (left_key, right_key)) in join.on.iter().enumerate() {
        for union_on_left in [true, false] {
            let (side, key, other, other_key) = if union_on_left {
                (&join.left, left_key, &join.right, right_key)
            } else {
                (&join.right, right_key, &join.left, left_key)
            };
            // under an alias, which qualifies every branch's columns alike (a bare union's columns
            // carry its first branch's qualifiers)
            let Some((aliases, union)) = aliased_union(side).filter(|(aliases, _)| !aliases.is_empty()) else {
                continue;
            };
            if other.exists(|node| Ok(node.expressions().iter().any(Expr::is_volatile))).unwrap_or(true) {
                continue;
            }
            let Some((column, cast)) = key_column(key) else { continue };
            let Some(index) = side.schema().maybe_index_of_column(column) else { continue };
            let Some(labels) = branch_labels(union, index) else { continue };
            let Ok(other_type) = other_key.get_type(other.schema()) else { continue };
            let compared: Option<Vec<ScalarValue>> =
                labels.iter().map(|label| cast.map_or_else(|| Ok(label.clone()), |t| label.cast_to(t)).ok()).collect();
            // distinct as compared too: two branches whose labels cast to one value would be one group
            // of the other side's key
            let distinct = |c: &Vec<ScalarValue>| c.iter().collect::<HashSet<_>>().len() == c.len();
            let Some(compared) =
                compared.filter(|c| c.iter().all(|v| !v.is_null() && v.data_type() == other_type) && distinct(c))
            else {
                continue;
            };
            let other_column = key_column(other_key).filter(|(_, cast)| cast.is_none()).map(|(c, _)| c);
            let is_label: Vec<bool> = aggregate
                .group_expr
                .iter()
                .map(|e| {
                    matches!(e, Expr::Column(c) if same_column(c, column) || other_column.is_some_and(|o| same_column(c, o)))
                })
                .collect();
            if is_label.contains(&true) {
                return Some(Unpivot { pair, union_on_left, aliases, union, other_key, labels, compared, is_label });
            }
        }
    }
    None
}

/// The aggregate as a union of one aggregate per branch (module docs), or `None` if its plan is
/// not an aggregate over an unpivot joined on the label.
fn split(aggregate: &Aggregate) -> Result<Option<LogicalPlan>> {
    let Some((projection, join)) = join_below(aggregate) else {
        return Ok(None);
    };
    if join.join_type != JoinType::Inner || join.null_aware {
        return Ok(None);
    }
    let Some(unpivot) = find_unpivot(aggregate, join) else {
        return Ok(None);
    };
    let other = if unpivot.union_on_left { &join.right } else { &join.left };
    let on: Vec<(Expr, Expr)> =
        join.on.iter().enumerate().filter(|(pair, _)| *pair != unpivot.pair).map(|(_, keys)| keys.clone()).collect();
    let other_keys: Vec<Expr> = aggregate
        .group_expr
        .iter()
        .zip(&unpivot.is_label)
        .filter(|(_, is_label)| !**is_label)
        .map(|(expr, _)| expr.clone())
        .collect();
    // grouped by the label alone: keep it, as a branch without rows must give no row
    let drop_label = !other_keys.is_empty();
    let group_expr = if drop_label { other_keys } else { aggregate.group_expr.clone() };
    let mut inputs = Vec::with_capacity(unpivot.labels.len());
    for ((branch, label), compared) in unpivot.union.inputs.iter().zip(&unpivot.labels).zip(&unpivot.compared) {
        let mut rows = with_union_names(branch, unpivot.union)?;
        for alias in unpivot.aliases.iter().rev() {
            rows = Arc::new(LogicalPlan::SubqueryAlias(SubqueryAlias::try_new(rows, alias.clone())?));
        }
        let label_rows = unpivot.other_key.clone().eq(Expr::Literal(compared.clone(), None));
        let matching = Arc::new(LogicalPlan::Filter(Filter::try_new(label_rows, Arc::clone(other))?));
        let (left, right) = if unpivot.union_on_left { (rows, matching) } else { (matching, rows) };
        let joined = LogicalPlan::Join(Join::try_new(
            left,
            right,
            on.clone(),
            join.filter.clone(),
            JoinType::Inner,
            join.join_constraint,
            join.null_equality,
            false,
        )?);
        let input = match projection {
            Some(projection) => {
                LogicalPlan::Projection(Projection::try_new(projection.expr.clone(), Arc::new(joined))?)
            }
            None => joined,
        };
        let grouped = Aggregate::try_new(Arc::new(input), group_expr.clone(), aggregate.aggr_expr.clone())?;
        let exprs =
            restore_columns(&aggregate.schema, &grouped.schema, &unpivot.is_label, drop_label.then_some(label))?;
        inputs.push(Arc::new(LogicalPlan::Projection(Projection::try_new(
            exprs,
            Arc::new(LogicalPlan::Aggregate(grouped)),
        )?)));
    }
    // the branches' columns by name only (a union is named by its first input, and a plan shipped
    // through datafusion-proto keeps no other names), qualified again above it
    let union = LogicalPlan::Union(Union::try_new(inputs)?);
    let exprs = aggregate
        .schema
        .iter()
        .enumerate()
        .map(|(index, (qualifier, field))| {
            Expr::Column(Column::from(union.schema().qualified_field(index)))
                .alias_qualified(qualifier.cloned(), field.name())
        })
        .collect();
    Ok(Some(LogicalPlan::Projection(Projection::try_new_with_schema(
        exprs,
        Arc::new(union),
        Arc::clone(&aggregate.schema),
    )?)))
}

/// `branch` with the union's column names (a union is named by its first branch: `SELECT 'a' AS
/// feature, a FROM t UNION ALL SELECT 'b', b FROM t`).
fn with_union_names(branch: &Arc<LogicalPlan>, union: &Union) -> Result<Arc<LogicalPlan>> {
    let schema = branch.schema();
    if schema.fields().iter().zip(union.schema.fields()).all(|(a, b)| a.name() == b.name()) {
        return Ok(Arc::clone(branch));
    }
    let exprs = schema
        .iter()
        .zip(union.schema.fields())
        .map(|(field, name)| Expr::Column(Column::from(field)).alias(name.name()))
        .collect();
    Ok(Arc::new(LogicalPlan::Projection(Projection::try_new(exprs, Arc::clone(branch))?)))
}

/// The original aggregate's columns (`schema`, by name) from a branch's aggregate
/// (`grouped`): the label constant where the label was a `GROUP BY` key and `label` is given
/// (dropped from the branch's grouping), the branch's columns in order otherwise.
fn restore_columns(
    schema: &DFSchemaRef,
    grouped: &DFSchemaRef,
    is_label: &[bool],
    label: Option<&ScalarValue>,
) -> Result<Vec<Expr>> {
    let mut next = 0;
    schema
        .iter()
        .enumerate()
        .map(|(index, (_, field))| {
            let expr = match label {
                // the label as the key column grouped on has it (the other side's type)
                Some(label) if is_label.get(index).copied().unwrap_or(false) => {
                    Expr::Literal(label.cast_to(field.data_type())?, None)
                }
                _ => {
                    next += 1;
                    Expr::Column(Column::from(grouped.qualified_field(next - 1)))
                }
            };
            Ok(expr.alias(field.name()))
        })
        .collect()
}
