//! `isolation_forest_score(model, features)`: the anomaly score of a row in an isolation forest.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{Signature, TypeSignature, Volatility};
use datafusion_macros::user_doc;

use super::isolation_forest::{score, INode};
use super::isolation_forest_fit::forest_fields;
use super::tree_args::{score_rows, NodeColumns, RowScorer};
use crate::common::coerce_features;

crate::macros::scalar_udf! {
#[user_doc(
    doc_section(label = "Model Functions"),
    description = "The anomaly score s(x) = 2^(−E[h(x)] / c(ψ)) of a row in an isolation_forest_fit forest (Liu, Ting & Zhou 2008): h(x) is the depth of the leaf x reaches in a tree \
(left when the feature is <= the threshold) plus c(the leaf's size), E the mean over the trees, c(n) = 2 (ln(n − 1) + 0.5772156649…) − 2 (n − 1) / n (c(2) = 1, c(1) = 0) and ψ the forest's sample size. \
s is near 1 for rows isolated quickly (anomalies) and below 0.5 for ordinary ones; scikit-learn's IsolationForest.score_samples returns −s. \
A NULL model, feature list or feature gives NULL, and so does a NaN feature on a row's path; a feature list shorter than the forest needs is an error; a forest grown on one-row samples scores 0.5. \
A model from a scalar subquery is read once, not per row; pass it that way, not through a CROSS JOIN, which copies the whole forest into every row.",
    syntax_example = "isolation_forest_score(model, features)",
    sql_example = r#"```sql
> WITH t AS (SELECT v % 10 AS x, v / 10 AS y FROM generate_series(0, 99) t(v))
  SELECT p[1] AS x, p[2] AS y, round(isolation_forest_score((SELECT isolation_forest_fit([x, y], 100, 256, 7) FROM t), p), 2) > 0.6 AS anomaly
  FROM (VALUES ([5, 5]), ([40, 40])) v(p);
+----+----+---------+
| x  | y  | anomaly |
+----+----+---------+
| 5  | 5  | false   |
| 40 | 40 | true    |
+----+----+---------+
```"#,
    argument(name = "model", description = "An isolation_forest_fit result."),
    argument(name = "features", description = "Array of numbers in the order the forest was fitted with. A struct of numbers (struct(x1, x2), a struct column) is read the same way, field by field; an array literal [x1, x2] is read column by column, without building the arrays.")
)]
IsolationForestScore, "isolation_forest_score",
signature: Signature::one_of(
    vec![
        TypeSignature::UserDefined,
        TypeSignature::Exact(vec![DataType::Struct(forest_fields()), DataType::new_list(DataType::Float64, true)]),
    ],
    Volatility::Immutable,
),
coerce: coerce,
returns: DataType::Float64,
invoke: score_rows::<Forest>,
features_at: 1,
}

fn coerce(name: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    let [model, features] = arg_types else {
        return plan_err!("{name} takes 2 arguments (model, features), got {}", arg_types.len());
    };
    let model = match model {
        DataType::Null => DataType::Struct(forest_fields()),
        DataType::Struct(fields) if ["trees", "sample_size"].iter().all(|n| fields.iter().any(|f| f.name() == n)) => {
            model.clone()
        }
        other => return plan_err!("{name}: the model must be an isolation_forest_fit result, got {other}"),
    };
    Ok(vec![model, coerce_features(name, features)?])
}

/// A forest read from a model struct.
struct Forest {
    trees: Vec<Vec<INode>>,
    sample_size: usize,
    features_used: usize,
}

impl RowScorer for Forest {
    fn of(models: &ArrayRef, row: usize, name: &str) -> Result<Self> {
        let structs = models.as_struct();
        let (Some(trees), Some(sample_size)) = (structs.column_by_name("trees"), structs.column_by_name("sample_size"))
        else {
            return exec_err!("{name}: the model must have 'trees' and 'sample_size'");
        };
        let sample_size = arrow::compute::cast(sample_size, &DataType::Int64)?;
        let sample_size = sample_size.as_primitive::<Int64Type>();
        if sample_size.is_null(row) || sample_size.value(row) < 1 {
            return exec_err!("{name}: the model's sample_size must be at least 1");
        }
        let trees = trees.as_list::<i32>().value(row);
        let trees = trees.as_list::<i32>();
        let mut out = Vec::with_capacity(trees.len());
        let mut features_used = 0;
        for t in 0..trees.len() {
            let nodes = NodeColumns::new(&trees.value(t), name)?;
            let size = nodes.int("size", name)?;
            let mut tree = Vec::with_capacity(nodes.len());
            for i in 0..nodes.len() {
                let node = match nodes.split(i, name)? {
                    Some((feature, threshold, left, right)) => {
                        features_used = features_used.max(feature + 1);
                        INode::Split { feature, threshold, left, right }
                    }
                    None => match size.is_valid(i).then(|| size.value(i)) {
                        Some(s) if s >= 0 => INode::Leaf { size: s as usize },
                        _ => return exec_err!("{name}: leaf {i} of tree {t} has no size"),
                    },
                };
                tree.push(node);
            }
            if tree.is_empty() {
                return exec_err!("{name}: tree {t} has no nodes");
            }
            out.push(tree);
        }
        Ok(Self { trees: out, sample_size: sample_size.value(row) as usize, features_used })
    }

    fn features_used(&self) -> usize {
        self.features_used
    }

    fn score(&self, x: &[f64]) -> Option<f64> {
        score(&self.trees, self.sample_size, x)
    }
}
