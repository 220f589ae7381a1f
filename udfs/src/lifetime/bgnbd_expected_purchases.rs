//! `bgnbd_expected_purchases(model, t, frequency, recency, T)`: expected purchases in the next t.

use datafusion::common::exec_err;
use datafusion_macros::user_doc;

use super::bgnbd;
use super::model_args::{check_customer, fixed, prediction};

prediction! {
    #[user_doc(
        doc_section(label = "Customer Lifetime Functions"),
        description = "The expected number of purchases of a customer in the next t time units given frequency x, recency t_x and age T, \
under the BG/NBD model (Fader, Hardie & Lee 2005, eq. 10) as lifetimes' `BetaGeoFitter.conditional_expected_number_of_purchases_up_to_time`: \
(a + b + x − 1)/(a − 1) · [1 − ((α + T)/(α + T + t))^(r + x) · ₂F₁(r + x, b + x; a + b + x − 1; t/(α + T + t))] / (1 + [x > 0] · a/(b + x − 1) · ((α + T)/(α + t_x))^(r + x)). \
₂F₁ is summed as its Gauss series, or after Euler's transformation when the series overflows (as lifetimes). \
NULL or NaN in any argument gives NULL; a parameter <= 0, t < 0, a fractional or negative frequency, recency outside [0, T], \
or a ₂F₁ that does not settle within 20,000 terms (t beyond roughly 700 × (α + T), or a + b + x − 1 <= 0) is an error.",
        syntax_example = "bgnbd_expected_purchases(model, t, frequency, recency, T)",
        sql_example = r#"```sql
> SELECT round(bgnbd_expected_purchases(named_struct('r', 0.243, 'alpha', 4.414, 'a', 0.793, 'b', 2.426), 39, 2, 30.43, 38.86), 6) AS e;
+----------+
| e        |
+----------+
| 1.226028 |
+----------+
```"#,
        argument(name = "model", description = "Struct with fields r, alpha, a, b, e.g. the output of bgnbd_fit."),
        argument(name = "t", description = "Length of the future period, in the time unit of the fit."),
        argument(name = "frequency", description = "Repeat purchases (a whole number >= 0)."),
        argument(name = "recency", description = "Time from the first to the last purchase."),
        argument(name = "T", description = "Time from the first purchase to the end of the observation period.")
    )]
    BgnbdExpectedPurchases, "bgnbd_expected_purchases", models: [bgnbd::PARAMS], numbers: 4,
    usage: "model, t, frequency, recency, T",
    eval: |m, v| {
        const NAME: &str = "bgnbd_expected_purchases";
        if v[0] < 0.0 {
            return exec_err!("{NAME}: t must be >= 0, got {}", v[0]);
        }
        check_customer(NAME, v[1], v[2], v[3])?;
        match bgnbd::expected_purchases(&fixed(NAME, &m[0])?, v[0], v[1], v[2], v[3]) {
            Some(e) => Ok(Some(e)),
            None => exec_err!("{NAME}: the hypergeometric series does not converge for t {}, frequency {}, T {}", v[0], v[1], v[3]),
        }
    }
}
