//! `bgnbd_expected_purchases_new(model, t)`: expected purchases of a new customer in t.

use datafusion::common::exec_err;
use datafusion_macros::user_doc;

use super::bgnbd;
use super::model_args::{fixed, prediction};

prediction! {
    #[user_doc(
        doc_section(label = "Customer Lifetime Functions"),
        description = "The expected number of purchases in (0, t] of a customer who has just made a first purchase, under the BG/NBD model \
(Fader, Hardie & Lee 2005, eq. 9) as lifetimes' `BetaGeoFitter.expected_number_of_purchases_up_to_time`: \
(a + b − 1)/(a − 1) · [1 − (α/(α + t))^r · ₂F₁(r, b; a + b − 1; t/(α + t))]. \
NULL or NaN gives NULL; a parameter <= 0, t < 0, or a ₂F₁ that does not settle (t beyond roughly 700 α, or a + b <= 1) is an error.",
        syntax_example = "bgnbd_expected_purchases_new(model, t)",
        sql_example = r#"```sql
> SELECT round(bgnbd_expected_purchases_new(named_struct('r', 0.243, 'alpha', 4.414, 'a', 0.793, 'b', 2.426), 52), 6) AS e;
+----------+
| e        |
+----------+
| 1.446051 |
+----------+
```"#,
        argument(name = "model", description = "Struct with fields r, alpha, a, b, e.g. the output of bgnbd_fit."),
        argument(name = "t", description = "Length of the period, in the time unit of the fit.")
    )]
    BgnbdExpectedPurchasesNew, "bgnbd_expected_purchases_new", models: [bgnbd::PARAMS], numbers: 1,
    usage: "model, t",
    eval: |m, v| {
        const NAME: &str = "bgnbd_expected_purchases_new";
        if v[0] < 0.0 {
            return exec_err!("{NAME}: t must be >= 0, got {}", v[0]);
        }
        match bgnbd::expected_purchases_new(&fixed(NAME, &m[0])?, v[0]) {
            Some(e) => Ok(Some(e)),
            None => exec_err!("{NAME}: the hypergeometric series does not converge for t {}", v[0]),
        }
    }
}
