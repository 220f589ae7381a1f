//! `average_precision_at_k(recommended, relevant, k)`: average precision@k of one user's recommendations.

use arrow::datatypes::DataType;
use datafusion_macros::user_doc;

use super::ranking_args::{self, TopK};

crate::macros::scalar_udf! {
#[user_doc(
    doc_section(label = "Recommendation Functions"),
    description = "Average precision of the top k: Σ_{i ≤ k, rel_i} precision@i / min(k, |relevant|), where rel_i says the i-th recommendation is a hit (as in precision_at_k); its average over users is MAP@k (the ml_metrics `apk` definition). `recommended` is the ranked list (best first; a recommend_items result is read through its item field), `relevant` the items the user actually took (a set: duplicates and NULLs ignored); both lists hold strings or integers (compared as text when the two differ). A NULL list or k gives NULL, and so does a user with no relevant item (the metric is undefined; `avg()` skips such users). An empty recommendation list scores 0. k must be at least 1.",
    syntax_example = "average_precision_at_k(recommended, relevant, k)",
    sql_example = r#"```sql
> SELECT round(average_precision_at_k(['a', 'b', 'c', 'd', 'e'], ['b', 'e', 'z'], 5), 4) AS m;
+-----+
| m   |
+-----+
| 0.3 |
+-----+
```"#,
    argument(
        name = "recommended",
        description = "The ranked recommendations, best first: a list of strings or integers, or a recommend_items result (its items)."
    ),
    argument(name = "relevant", description = "The items the user took in the evaluation period: a list of strings or integers."),
    argument(name = "k", description = "How many of the top recommendations count, an integer >= 1.")
)]
AveragePrecisionAtK, "average_precision_at_k",
signature: ranking_args::signature(),
coerce: ranking_args::coerce,
returns: DataType::Float64,
invoke: |name, args| ranking_args::evaluate(name, args, |top: &TopK<'_>| {
    let mut hits = 0usize;
    let mut sum = 0.0;
    for (i, _) in top.hits.iter().enumerate().filter(|(_, &hit)| hit) {
        hits += 1;
        sum += hits as f64 / (i + 1) as f64;
    }
    sum / top.k.min(top.relevant) as f64
}),
}
