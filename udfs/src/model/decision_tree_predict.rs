//! `decision_tree_predict(model, features)`: the probability of label 1 in a row's leaf.

use arrow::datatypes::DataType;
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{Signature, TypeSignature, Volatility};
use datafusion_macros::user_doc;

use super::cart::{coerce_model, tree_fields, Tree};
use super::tree_args::score_rows;
use crate::common::coerce_features;

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
    argument(name = "features", description = "Array of numbers in the order the tree was grown with. A struct of numbers (struct(x1, x2), a struct column) is read the same way, field by field; an array literal [x1, x2] is read column by column, without building the arrays.")
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
invoke: score_rows::<Tree>,
features_at: 1,
}

fn coerce(name: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    let [model, features] = arg_types else {
        return plan_err!("{name} takes 2 arguments (model, features), got {}", arg_types.len());
    };
    Ok(vec![coerce_model(name, model)?, coerce_features(name, features)?])
}
