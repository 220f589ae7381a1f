//! `ndcg_at_k(recommended, relevant, k)`: NDCG@k of one user's recommendations.

use arrow::datatypes::DataType;
use datafusion_macros::user_doc;

use super::ranking_args::{self, TopK};

crate::macros::scalar_udf! {
#[user_doc(
    doc_section(label = "Recommendation Functions"),
    description = "Normalised discounted cumulative gain with binary relevance and the log2 discount: DCG@k / IDCG@k, where DCG@k = Σ_{i ≤ k, rel_i} 1 / log2(i + 1) (a hit as in precision_at_k) and IDCG@k = Σ_{i ≤ min(k, |relevant|)} 1 / log2(i + 1), the DCG of a perfect ranking; as scikit-learn's ndcg_score on 0/1 relevance. `recommended` is the ranked list (best first; a recommend_items result is read through its item field), `relevant` the items the user actually took (a set: duplicates and NULLs ignored); both lists hold strings or integers (compared as text when the two differ). A NULL list or k gives NULL, and so does a user with no relevant item (the metric is undefined; `avg()` skips such users). An empty recommendation list scores 0. k must be at least 1.",
    syntax_example = "ndcg_at_k(recommended, relevant, k)",
    sql_example = r#"```sql
> SELECT round(ndcg_at_k(['a', 'b', 'c', 'd', 'e'], ['b', 'e', 'z'], 5), 4) AS m;
+--------+
| m      |
+--------+
| 0.4776 |
+--------+
```"#,
    argument(
        name = "recommended",
        description = "The ranked recommendations, best first: a list of strings or integers, or a recommend_items result (its items)."
    ),
    argument(name = "relevant", description = "The items the user took in the evaluation period: a list of strings or integers."),
    argument(name = "k", description = "How many of the top recommendations count, an integer >= 1.")
)]
NdcgAtK, "ndcg_at_k",
signature: ranking_args::signature(),
coerce: ranking_args::coerce,
returns: DataType::Float64,
invoke: |name, args| ranking_args::evaluate(name, args, |top: &TopK<'_>| top.dcg() / (1..=top.k.min(top.relevant)).map(|i| 1.0 / ((i + 1) as f64).log2()).sum::<f64>()),
}
