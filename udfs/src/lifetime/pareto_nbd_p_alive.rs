//! `pareto_nbd_p_alive(model, frequency, recency, T)`: the probability a customer is still active.

use datafusion::common::exec_err;
use datafusion_macros::user_doc;

use super::model_args::{check_customer, fixed, prediction};
use super::pareto_nbd;

prediction! {
    #[user_doc(
        doc_section(label = "Customer Lifetime Functions"),
        description = "P(alive | frequency, recency, T) under the Pareto/NBD model (Schmittlein, Morrison & Colombo 1987) as lifetimes' \
`ParetoNBDFitter.conditional_probability_alive`: 1 / (1 + s/(r + s + x) · (α + T)^(r + x) (β + T)^s · A₀), with A₀ of Fader & Hardie's \
note \"A Note on Deriving the Pareto/NBD Model and Related Expressions\" (eq. 19–20, ₂F₁ on the branch whose argument |α − β|/(max(α, β) + t) lies in [0, 1)). \
model is a struct with numeric fields r, alpha, s, beta (the output of pareto_nbd_fit, or named_struct(...)); recency and T in the time unit of the fit. \
NULL or NaN in any argument gives NULL; a parameter <= 0, a fractional or negative frequency or recency outside [0, T] is an error.",
        syntax_example = "pareto_nbd_p_alive(model, frequency, recency, T)",
        sql_example = r#"```sql
> SELECT round(pareto_nbd_p_alive(named_struct('r', 0.55, 'alpha', 10.58, 's', 0.61, 'beta', 11.67), 2, 30.43, 38.86), 6) AS p;
+----------+
| p        |
+----------+
| 0.868411 |
+----------+
```"#,
        argument(name = "model", description = "Struct with fields r, alpha, s, beta, e.g. the output of pareto_nbd_fit."),
        argument(name = "frequency", description = "Repeat purchases (a whole number >= 0)."),
        argument(name = "recency", description = "Time from the first to the last purchase."),
        argument(name = "T", description = "Time from the first purchase to the end of the observation period.")
    )]
    ParetoNbdPAlive, "pareto_nbd_p_alive", models: [pareto_nbd::PARAMS], numbers: 3,
    usage: "model, frequency, recency, T",
    eval: |m, v| {
        check_customer("pareto_nbd_p_alive", v[0], v[1], v[2])?;
        match pareto_nbd::p_alive(&fixed("pareto_nbd_p_alive", &m[0])?, v[0], v[1], v[2]) {
            Some(p) => Ok(Some(p)),
            None => exec_err!("pareto_nbd_p_alive: the hypergeometric series does not converge for frequency {}, T {}", v[0], v[2]),
        }
    }
}
