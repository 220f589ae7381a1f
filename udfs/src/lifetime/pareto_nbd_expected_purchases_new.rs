//! `pareto_nbd_expected_purchases_new(model, t)`: expected purchases of a new customer in t.

use datafusion::common::exec_err;
use datafusion_macros::user_doc;

use super::model_args::{fixed, prediction};
use super::pareto_nbd;

prediction! {
    #[user_doc(
        doc_section(label = "Customer Lifetime Functions"),
        description = "The expected number of purchases in (0, t] of a customer who has just made a first purchase, under the Pareto/NBD model \
as lifetimes' `ParetoNBDFitter.expected_number_of_purchases_up_to_time`: r β / (α (s − 1)) · [1 − (β/(β + t))^(s − 1)]. \
NULL or NaN gives NULL; a parameter <= 0 or t < 0 is an error.",
        syntax_example = "pareto_nbd_expected_purchases_new(model, t)",
        sql_example = r#"```sql
> SELECT round(pareto_nbd_expected_purchases_new(named_struct('r', 0.55, 'alpha', 10.58, 's', 0.61, 'beta', 11.67), 52), 6) AS e;
+----------+
| e        |
+----------+
| 1.459264 |
+----------+
```"#,
        argument(name = "model", description = "Struct with fields r, alpha, s, beta, e.g. the output of pareto_nbd_fit."),
        argument(name = "t", description = "Length of the period, in the time unit of the fit.")
    )]
    ParetoNbdExpectedPurchasesNew, "pareto_nbd_expected_purchases_new", models: [pareto_nbd::PARAMS], numbers: 1,
    usage: "model, t",
    eval: |m, v| {
        const NAME: &str = "pareto_nbd_expected_purchases_new";
        if v[0] < 0.0 {
            return exec_err!("{NAME}: t must be >= 0, got {}", v[0]);
        }
        Ok(Some(pareto_nbd::expected_purchases_new(&fixed(NAME, &m[0])?, v[0])))
    }
}
