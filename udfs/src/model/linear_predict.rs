//! `linear_predict(model, features)`: the prediction of a linear model.

use arrow::datatypes::DataType;
use datafusion_macros::user_doc;

use super::predict_args;

crate::macros::scalar_udf! {
#[user_doc(
    doc_section(label = "Model Functions"),
    description = "The prediction η = b0 + b1·x1 + … + bp·xp of a linear model: the struct linear_regression returns \
or any struct with a `coefficients` list (intercept first), e.g. `named_struct('coefficients', [184.9, 28.08, 0.247, -13.05])`. \
A NULL model, feature list or coefficient, or a NULL or NaN feature, gives NULL; a feature list whose length is not the number of coefficients minus one is an error. \
A model from a scalar subquery is read once, not per row.",
    syntax_example = "linear_predict(model, features)",
    sql_example = r#"```sql
> SELECT linear_predict(named_struct('coefficients', [1.5, 2.0, -0.5]), [3, 4]) AS prediction;
+------------+
| prediction |
+------------+
| 5.5        |
+------------+
```"#,
    argument(
        name = "model",
        description = "A struct with a `coefficients` list, e.g. the result of linear_regression."
    ),
    argument(name = "features", description = "Array of numbers in the order the model was fitted with. A struct of numbers (struct(x1, x2), a struct column) is read the same way, field by field; an array literal [x1, x2] is read column by column, without building the arrays.")
)]
LinearPredict, "linear_predict",
signature: predict_args::signature(),
coerce: predict_args::coerce,
returns: DataType::Float64,
invoke: |name, args| predict_args::linear_predictor(name, args, |eta| eta),
features_at: 1,
}
