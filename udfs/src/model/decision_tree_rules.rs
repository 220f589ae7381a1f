//! `decision_tree_rules(model [, names])`: a tree as the IF … THEN rules a committee reads.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Field};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, Signature, TypeSignature, Volatility};
use datafusion_macros::user_doc;

use super::cart::{coerce_model, tree_fields, Tree};
use crate::common::cached_arg::Cached;

crate::macros::scalar_udf! {
#[user_doc(
    doc_section(label = "Model Functions"),
    description = "A decision_tree_fit tree as rules, one per leaf in node order: `IF <condition> AND … THEN p = <probability> (<positives> of <samples>)`, \
each condition `<feature> <= <threshold>` (the left branch) or `<feature> > <threshold>`, from the root down; a tree that is one leaf gives `IF TRUE THEN …`. \
Features are named by `names` (a list, in the order the tree was grown with) or x1, x2, …; thresholds print as the shortest decimal that reads back exactly, p with 4 decimals. \
Get one row per rule with `unnest`. A NULL model gives NULL; a names list shorter than the features the tree uses is an error.",
    syntax_example = "decision_tree_rules(model [, names])",
    sql_example = r#"```sql
> SELECT unnest(decision_tree_rules(t, ['income', 'age'])) AS rule
  FROM (SELECT decision_tree_fit(y, [x, z], 2) AS t
        FROM (VALUES (1, 5, 0), (2, 3, 0), (3, 8, 0), (10, 1, 1), (11, 9, 1), (12, 4, 0)) v(x, z, y));
+-------------------------------------------------------------+
| rule                                                        |
+-------------------------------------------------------------+
| IF income <= 6.5 THEN p = 0.0000 (0 of 3)                   |
| IF income > 6.5 AND income <= 11.5 THEN p = 1.0000 (2 of 2) |
| IF income > 6.5 AND income > 11.5 THEN p = 0.0000 (0 of 1)  |
+-------------------------------------------------------------+
```"#,
    argument(name = "model", description = "A decision_tree_fit result."),
    argument(name = "names", description = "Optional list of feature names, in the order the tree was grown with.")
)]
DecisionTreeRules, "decision_tree_rules",
signature: Signature::one_of(
    vec![
        TypeSignature::UserDefined,
        TypeSignature::Exact(vec![DataType::Struct(tree_fields())]),
        TypeSignature::Exact(vec![DataType::Struct(tree_fields()), DataType::new_list(DataType::Utf8, true)]),
    ],
    Volatility::Immutable,
),
coerce: coerce,
returns: DataType::new_list(DataType::Utf8, true),
invoke: rules,
}

fn coerce(name: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    if !(1..=2).contains(&arg_types.len()) {
        return plan_err!("{name} takes 1 or 2 arguments (model [, names]), got {}", arg_types.len());
    }
    let mut coerced = vec![coerce_model(name, &arg_types[0])?];
    if let Some(names) = arg_types.get(1) {
        match names {
            DataType::Null => {}
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)
                if matches!(
                    f.data_type(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
                ) => {}
            other => return plan_err!("{name}: names must be a list of strings, got {other}"),
        }
        coerced.push(DataType::new_list(DataType::Utf8, true));
    }
    Ok(coerced)
}

fn rules(name: &'static str, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = crate::common::evaluated_rows(&args.args, args.number_rows);
    let scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let names = args.args.get(1).map(|n| n.to_array(rows)).transpose()?;
    let parse = |models: &ArrayRef, row: usize| Tree::of(models, row, name);
    let mut models = Cached::new(&args.args[0], parse)?;
    let mut out =
        ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new_list_field(DataType::Utf8, true)));
    for row in 0..rows {
        let Some(tree) = models.get(row, parse)? else {
            out.append_null();
            continue;
        };
        let labels: Vec<String> = match names.as_ref().map(|n| n.as_list::<i32>()).filter(|n| n.is_valid(row)) {
            Some(list) => {
                let values = list.value(row);
                let values = values.as_string::<i32>();
                (0..values.len()).map(|i| values.value(i).to_string()).collect()
            }
            None => (1..=tree.features_used()).map(|i| format!("x{i}")).collect(),
        };
        if labels.len() < tree.features_used() {
            return exec_err!("{name}: the tree uses {} features, names has {}", tree.features_used(), labels.len());
        }
        let mut path = Vec::new();
        write_rules(tree, 0, &labels, &mut path, out.values());
        out.append(true);
    }
    let result: ArrayRef = Arc::new(out.finish());
    if scalar {
        return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
    }
    Ok(ColumnarValue::Array(result))
}

/// Appends the rules of the subtree at `at`, `path` holding the conditions above it.
fn write_rules(tree: &Tree, at: usize, names: &[String], path: &mut Vec<String>, out: &mut StringBuilder) {
    let node = &tree.nodes[at];
    match node.split {
        None => {
            let condition = if path.is_empty() { "TRUE".to_string() } else { path.join(" AND ") };
            let p = node.positives as f64 / node.samples as f64;
            out.append_value(format!("IF {condition} THEN p = {p:.4} ({} of {})", node.positives, node.samples));
        }
        Some((feature, threshold, left, right)) => {
            path.push(format!("{} <= {threshold}", names[feature]));
            write_rules(tree, left, names, path, out);
            path.pop();
            path.push(format!("{} > {threshold}", names[feature]));
            write_rules(tree, right, names, path, out);
            path.pop();
        }
    }
}
