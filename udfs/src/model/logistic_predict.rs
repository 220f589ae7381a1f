//! `logistic_predict(model, features)`: the probability of a logistic model.

use arrow::datatypes::DataType;
use datafusion_macros::user_doc;

use super::predict_args;

crate::macros::scalar_udf! {
#[user_doc(
    doc_section(label = "Model Functions"),
    description = "The probability 1 / (1 + exp(−η)), η = b0 + b1·x1 + … + bp·xp, of a logistic model: the struct logistic_regression returns \
or any struct with a `coefficients` list (intercept first), e.g. `named_struct('coefficients', [-6.36, -1.02, 0.119])`. \
A NULL model, feature list or coefficient, or a NULL or NaN feature, gives NULL; a feature list whose length is not the number of coefficients minus one is an error. \
A model from a scalar subquery is read once, not per row.",
    syntax_example = "logistic_predict(model, features)",
    sql_example = r#"```sql
> SELECT round(logistic_predict(named_struct('coefficients', [-6.3635, -1.0241, 0.119]), [1, 70]), 4) AS p;
+--------+
| p      |
+--------+
| 0.7196 |
+--------+
```"#,
    argument(
        name = "model",
        description = "A struct with a `coefficients` list, e.g. the result of logistic_regression."
    ),
    argument(name = "features", description = "Array of numbers in the order the model was fitted with. A struct of numbers (struct(x1, x2), a struct column) is read the same way, field by field; an array literal [x1, x2] is read column by column, without building the arrays.")
)]
LogisticPredict, "logistic_predict",
signature: predict_args::signature(),
coerce: predict_args::coerce,
returns: DataType::Float64,
invoke: |name, args| predict_args::linear_predictor(name, args, logistic),
features_at: 1,
}

/// 1 / (1 + exp(−η)) without overflow for large |η|.
fn logistic(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}
