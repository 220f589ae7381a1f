//! `bgnbd_p_alive(model, frequency, recency, T)`: the probability a customer is still active.

use datafusion_macros::user_doc;

use super::bgnbd;
use super::model_args::{check_customer, fixed, prediction};

prediction! {
    #[user_doc(
        doc_section(label = "Customer Lifetime Functions"),
        description = "P(alive | frequency, recency, T) under the BG/NBD model (Fader, Hardie & Lee 2005, eq. 13) as lifetimes' \
`BetaGeoFitter.conditional_probability_alive`: 1 / (1 + a / (b + x − 1) · ((α + T) / (α + t_x))^(r + x)) for x = frequency > 0, \
and 1 for a customer without repeat purchases (lifetimes' convention: in BG/NBD a customer can only drop out right after a purchase). \
model is a struct with numeric fields r, alpha, a, b (the output of bgnbd_fit, or named_struct(...)); recency and T in the time unit of the fit. \
NULL or NaN in any argument gives NULL; a parameter <= 0, a fractional or negative frequency or recency outside [0, T] is an error.",
        syntax_example = "bgnbd_p_alive(model, frequency, recency, T)",
        sql_example = r#"```sql
> SELECT round(bgnbd_p_alive(named_struct('r', 0.243, 'alpha', 4.414, 'a', 0.793, 'b', 2.426), 2, 30.43, 38.86), 6) AS p;
+----------+
| p        |
+----------+
| 0.726579 |
+----------+
```"#,
        argument(name = "model", description = "Struct with fields r, alpha, a, b, e.g. the output of bgnbd_fit."),
        argument(name = "frequency", description = "Repeat purchases (a whole number >= 0)."),
        argument(name = "recency", description = "Time from the first to the last purchase."),
        argument(name = "T", description = "Time from the first purchase to the end of the observation period.")
    )]
    BgnbdPAlive, "bgnbd_p_alive", models: [bgnbd::PARAMS], numbers: 3,
    usage: "model, frequency, recency, T",
    eval: |m, v| {
        check_customer("bgnbd_p_alive", v[0], v[1], v[2])?;
        Ok(Some(bgnbd::p_alive(&fixed("bgnbd_p_alive", &m[0])?, v[0], v[1], v[2])))
    }
}
