//! `isolation_forest_score(model, features)`: the anomaly score of a row in an isolation forest.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Builder};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, Signature, TypeSignature, Volatility};
use datafusion_macros::user_doc;

use super::isolation_forest::{score, INode};
use super::isolation_forest_fit::forest_fields;
use crate::common::cached_arg::Cached;
use crate::common::{coerce_features, FloatListRow, FloatLists};

crate::macros::scalar_udf! {
#[user_doc(
    doc_section(label = "Model Functions"),
    description = "The anomaly score s(x) = 2^(−E[h(x)] / c(ψ)) of a row in an isolation_forest_fit forest (Liu, Ting & Zhou 2008): h(x) is the depth of the leaf x reaches in a tree \
(left when the feature is <= the threshold) plus c(the leaf's size), E the mean over the trees, c(n) = 2 (ln(n − 1) + 0.5772156649…) − 2 (n − 1) / n (c(2) = 1, c(1) = 0) and ψ the forest's sample size. \
s is near 1 for rows isolated quickly (anomalies) and below 0.5 for ordinary ones; scikit-learn's IsolationForest.score_samples returns −s. \
A NULL model, feature list or feature gives NULL, and so does a NaN feature on a row's path; a feature list shorter than the forest needs is an error; a forest grown on one-row samples scores 0.5. \
A model from a scalar subquery is read once, not per row.",
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
    argument(name = "features", description = "Array of numbers in the order the forest was fitted with.")
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
invoke: score_rows,
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

impl Forest {
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
            let nodes = trees.value(t);
            let nodes = nodes.as_struct();
            let column = |field: &str, ty: &DataType| -> Result<ArrayRef> {
                match nodes.column_by_name(field) {
                    Some(c) => Ok(arrow::compute::cast(c, ty)?),
                    None => exec_err!("{name}: the model's nodes have no field '{field}'"),
                }
            };
            let (feature, left, right, size) = (
                column("feature", &DataType::Int64)?,
                column("left", &DataType::Int64)?,
                column("right", &DataType::Int64)?,
                column("size", &DataType::Int64)?,
            );
            let threshold = column("threshold", &DataType::Float64)?;
            let (feature, left, right, size) = (
                feature.as_primitive::<Int64Type>(),
                left.as_primitive::<Int64Type>(),
                right.as_primitive::<Int64Type>(),
                size.as_primitive::<Int64Type>(),
            );
            let threshold = threshold.as_primitive::<Float64Type>();
            let count = nodes.len();
            let mut tree = Vec::with_capacity(count);
            for i in 0..count {
                let child = |a: &arrow::array::Int64Array| {
                    a.is_valid(i).then(|| a.value(i)).filter(|&c| c > i as i64 && (c as usize) < count)
                };
                let node = if feature.is_valid(i) {
                    match (
                        feature.value(i),
                        threshold.is_valid(i).then(|| threshold.value(i)),
                        child(left),
                        child(right),
                    ) {
                        (f, Some(th), Some(l), Some(r)) if f >= 1 && !th.is_nan() => {
                            features_used = features_used.max(f as usize);
                            INode::Split { feature: f as usize - 1, threshold: th, left: l as usize, right: r as usize }
                        }
                        _ => return exec_err!("{name}: node {i} of tree {t} is not a valid split"),
                    }
                } else {
                    match size.is_valid(i).then(|| size.value(i)) {
                        Some(s) if s >= 0 => INode::Leaf { size: s as usize },
                        _ => return exec_err!("{name}: leaf {i} of tree {t} has no size"),
                    }
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
}

fn score_rows(name: &'static str, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = args.number_rows;
    let scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let features = args.args[1].to_array(rows)?;
    let lists = FloatLists::new(features.as_list::<i32>());
    let parse = |models: &ArrayRef, row: usize| Forest::of(models, row, name);
    let mut models = Cached::new(&args.args[0], parse)?;
    let mut out = Float64Builder::with_capacity(rows);
    for row in 0..rows {
        let FloatListRow::Values(x) = lists.row(row) else {
            out.append_null();
            continue;
        };
        let Some(forest) = models.get(row, parse)? else {
            out.append_null();
            continue;
        };
        if x.len() < forest.features_used {
            return exec_err!("{name}: the forest uses {} features, the row has {}", forest.features_used, x.len());
        }
        out.append_option(score(&forest.trees, forest.sample_size, x));
    }
    let result: ArrayRef = Arc::new(out.finish());
    if scalar {
        return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
    }
    Ok(ColumnarValue::Array(result))
}
