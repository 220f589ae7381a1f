//! `kmeans_assign(features, centroids)`: the nearest centroid of a feature vector.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Builder};
use arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::kmeans::centroids_type;
use crate::common::{coerce_features, feature_lists, scalar_reading_columns};
use crate::stats::lloyd::nearest;

#[user_doc(
    doc_section(label = "Segmentation Functions"),
    description = "The cluster (1-based position in centroids) whose centroid is nearest to the feature vector in Euclidean distance; \
on a tie the lower position wins. centroids is usually the `centroids` field of a kmeans model, joined to the rows \
(one model per segment works the same way). NULL features, a NULL element or NULL centroids give NULL; \
vectors whose length differs from the centroids' and empty centroid lists are errors.",
    syntax_example = "kmeans_assign(features, centroids)",
    sql_example = r#"```sql
> SELECT kmeans_assign([9.0, 0.2], [[0.0, 0.5], [10.0, 0.5]]) AS cluster;
+---------+
| cluster |
+---------+
| 2       |
+---------+
```"#,
    argument(
        name = "features",
        description = "Array of numbers, as given to kmeans. A struct of numbers (struct(x1, x2), a struct column) is read the same way, field by field; an array literal [x1, x2] is read column by column, without building the arrays."
    ),
    argument(name = "centroids", description = "Array of centroids (arrays of numbers), e.g. model['centroids'].")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct KMeansAssign {
    signature: Signature,
}

impl Default for KMeansAssign {
    fn default() -> Self {
        Self::new()
    }
}

impl KMeansAssign {
    #[must_use]
    pub fn new() -> Self {
        // UserDefined coerces; the Exact variant documents the argument types for SHOW FUNCTIONS
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::new_list(DataType::Float64, true), centroids_type()]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for KMeansAssign {
    fn name(&self) -> &'static str {
        "kmeans_assign"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [features, centroids] = arg_types else {
            return plan_err!("kmeans_assign takes 2 arguments (features, centroids), got {}", arg_types.len());
        };
        let features = coerce_features("kmeans_assign", features)?;
        match centroids {
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)
                if !matches!(f.data_type(), DataType::Struct(_)) =>
            {
                coerce_features("kmeans_assign", f.data_type())?;
            }
            other => return plan_err!("kmeans_assign: centroids must be an array of arrays of numbers, got {other}"),
        }
        Ok(vec![features, centroids_type()])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let features = feature_lists("kmeans_assign", &args.args[0].to_array(args.number_rows)?)?;
        let centroids = args.args[1].to_array(args.number_rows)?;
        let (features, centroids) = (features.as_list::<i32>(), centroids.as_list::<i32>());
        let mut out = Int64Builder::with_capacity(features.len());
        let mut flat = Vec::new();
        for i in 0..features.len() {
            if features.is_null(i) || centroids.is_null(i) {
                out.append_null();
                continue;
            }
            let point = features.value(i);
            let point = point.as_primitive::<Float64Type>();
            let model = centroids.value(i);
            let model = model.as_list::<i32>();
            if point.null_count() > 0 {
                out.append_null();
                continue;
            }
            if model.is_empty() {
                return exec_err!("kmeans_assign: centroids must not be empty");
            }
            flat.clear();
            for c in 0..model.len() {
                let centroid = model.value(c);
                let centroid = centroid.as_primitive::<Float64Type>();
                if centroid.len() != point.len() || centroid.null_count() > 0 {
                    return exec_err!(
                        "kmeans_assign: features have {} coordinates but centroid {} has {} (or a NULL)",
                        point.len(),
                        c + 1,
                        centroid.len()
                    );
                }
                flat.extend_from_slice(centroid.values());
            }
            let (cluster, _) = nearest(point.values(), &flat, point.len().max(1));
            out.append_value(cluster as i64 + 1);
        }
        let result: ArrayRef = Arc::new(out.finish());
        Ok(ColumnarValue::Array(result))
    }

    fn simplify(&self, args: Vec<Expr>, _info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        Ok(scalar_reading_columns(Self::new(), args, 0))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
