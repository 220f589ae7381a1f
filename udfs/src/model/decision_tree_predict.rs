//! `decision_tree_predict(model, features)`: the probability of label 1 in a row's leaf.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Float64Builder};
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, Signature, TypeSignature, Volatility};
use datafusion_macros::user_doc;

use super::cart::{tree_fields, Tree};
use super::tree_args::coerce_model;
use crate::common::cached_arg::Cached;
use crate::common::{coerce_features, FloatListRow, FloatLists};

crate::macros::scalar_udf! {
#[user_doc(
    doc_section(label = "Model Functions"),
    description = "The probability of label 1 that a decision_tree_fit tree gives a row: the share of label-1 training rows (positives / samples) of the leaf the row falls in, \
going left at a split when the feature is <= its threshold. A NULL model, feature list or feature gives NULL, and so does a NaN feature on the row's path; \
a feature list shorter than the tree needs is an error. A model from a scalar subquery is read once, not per row.",
    syntax_example = "decision_tree_predict(model, features)",
    sql_example = r#"```sql
> WITH t AS (SELECT * FROM (VALUES (1, 5, 0), (2, 3, 0), (3, 8, 0), (10, 1, 1), (11, 9, 1), (12, 4, 0)) v(x, z, y))
  SELECT x, decision_tree_predict((SELECT decision_tree_fit(y, [x, z], 1) FROM t), [x, z]) AS p FROM t ORDER BY x;
+----+--------------------+
| x  | p                  |
+----+--------------------+
| 1  | 0.0                |
| 2  | 0.0                |
| 3  | 0.0                |
| 10 | 0.6666666666666666 |
| 11 | 0.6666666666666666 |
| 12 | 0.6666666666666666 |
+----+--------------------+
```"#,
    argument(name = "model", description = "A decision_tree_fit result."),
    argument(name = "features", description = "Array of numbers in the order the tree was grown with.")
)]
DecisionTreePredict, "decision_tree_predict",
signature: Signature::one_of(
    vec![
        TypeSignature::UserDefined,
        TypeSignature::Exact(vec![DataType::Struct(tree_fields()), DataType::new_list(DataType::Float64, true)]),
    ],
    Volatility::Immutable,
),
coerce: coerce,
returns: DataType::Float64,
invoke: predict,
}

fn coerce(name: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    let [model, features] = arg_types else {
        return plan_err!("{name} takes 2 arguments (model, features), got {}", arg_types.len());
    };
    Ok(vec![coerce_model(name, model)?, coerce_features(name, features)?])
}

fn predict(name: &'static str, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = args.number_rows;
    let scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let features = args.args[1].to_array(rows)?;
    let lists = FloatLists::new(features.as_list::<i32>());
    let parse = |models: &ArrayRef, row: usize| Tree::of(models, row, name);
    let mut models = Cached::new(&args.args[0], parse)?;
    let mut out = Float64Builder::with_capacity(rows);
    for row in 0..rows {
        let FloatListRow::Values(x) = lists.row(row) else {
            out.append_null();
            continue;
        };
        let Some(tree) = models.get(row, parse)? else {
            out.append_null();
            continue;
        };
        if x.len() < tree.features_used() {
            return exec_err!("{name}: the tree uses {} features, the row has {}", tree.features_used(), x.len());
        }
        out.append_option(tree.leaf(x).map(|leaf| leaf.positives as f64 / leaf.samples as f64));
    }
    let result: ArrayRef = Arc::new(out.finish());
    if scalar {
        return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
    }
    Ok(ColumnarValue::Array(result))
}
