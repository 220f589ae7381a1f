//! `pareto_nbd_expected_purchases(model, t, frequency, recency, T)`: expected purchases in the next t.

use datafusion::common::exec_err;
use datafusion_macros::user_doc;

use super::model_args::{check_customer, fixed, prediction};
use super::pareto_nbd;

prediction! {
    #[user_doc(
        doc_section(label = "Customer Lifetime Functions"),
        description = "The expected number of purchases of a customer in the next t time units given frequency x, recency t_x and age T, \
under the Pareto/NBD model as lifetimes' `ParetoNBDFitter.conditional_expected_number_of_purchases_up_to_time`: \
Γ(r + x) α^r β^s / (Γ(r) (α + T)^(r + x) (β + T)^s) · (r + x)(β + T)/(α + T) · [1 − ((β + T)/(β + T + t))^(s − 1)]/(s − 1) / L(r, α, s, β | x, t_x, T) \
(Fader & Hardie's note, eq. 22, with the individual likelihood L). \
NULL or NaN in any argument gives NULL; a parameter <= 0, t < 0, a fractional or negative frequency or recency outside [0, T] is an error.",
        syntax_example = "pareto_nbd_expected_purchases(model, t, frequency, recency, T)",
        sql_example = r#"```sql
> SELECT round(pareto_nbd_expected_purchases(named_struct('r', 0.55, 'alpha', 10.58, 's', 0.61, 'beta', 11.67), 39, 2, 30.43, 38.86), 6) AS e;
+----------+
| e        |
+----------+
| 1.450371 |
+----------+
```"#,
        argument(name = "model", description = "Struct with fields r, alpha, s, beta, e.g. the output of pareto_nbd_fit."),
        argument(name = "t", description = "Length of the future period, in the time unit of the fit."),
        argument(name = "frequency", description = "Repeat purchases (a whole number >= 0)."),
        argument(name = "recency", description = "Time from the first to the last purchase."),
        argument(name = "T", description = "Time from the first purchase to the end of the observation period.")
    )]
    ParetoNbdExpectedPurchases, "pareto_nbd_expected_purchases", models: [pareto_nbd::PARAMS], numbers: 4,
    usage: "model, t, frequency, recency, T",
    eval: |m, v| {
        const NAME: &str = "pareto_nbd_expected_purchases";
        if v[0] < 0.0 {
            return exec_err!("{NAME}: t must be >= 0, got {}", v[0]);
        }
        check_customer(NAME, v[1], v[2], v[3])?;
        match pareto_nbd::expected_purchases(&fixed(NAME, &m[0])?, v[0], v[1], v[2], v[3]) {
            Some(e) => Ok(Some(e)),
            None => exec_err!("{NAME}: the hypergeometric series does not converge for t {}, frequency {}, T {}", v[0], v[1], v[3]),
        }
    }
}
