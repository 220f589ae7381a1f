//! `gamma_gamma_expected_spend(model, frequency, monetary_value)`: a customer's expected mean spend.

use datafusion::common::exec_err;
use datafusion_macros::user_doc;

use super::gamma_gamma;
use super::model_args::{fixed, prediction};

prediction! {
    #[user_doc(
        doc_section(label = "Customer Lifetime Functions"),
        description = "The expected mean transaction value of a customer under the Gamma-Gamma model (Fader, Hardie & Lee 2005; \
Fader & Hardie's note \"The Gamma-Gamma Model of Monetary Value\", eq. 5) as lifetimes' `GammaGammaFitter.conditional_expected_average_profit`: \
(1 − w) · v p/(q − 1) + w · m with w = p x/(p x + q − 1), x = frequency (repeat purchases) and m = monetary_value (their mean value). \
A customer without repeat purchases (x = 0) gets the population mean v p/(q − 1). \
model is a struct with numeric fields p, q, v. NULL or NaN gives NULL; a parameter <= 0, q <= 1 (no finite mean) or a negative frequency is an error.",
        syntax_example = "gamma_gamma_expected_spend(model, frequency, monetary_value)",
        sql_example = r#"```sql
> SELECT round(gamma_gamma_expected_spend(named_struct('p', 6.25, 'q', 3.74, 'v', 15.44), 2, 22.35), 6) AS spend;
+-----------+
| spend     |
+-----------+
| 24.663714 |
+-----------+
```"#,
        argument(name = "model", description = "Struct with fields p, q, v, e.g. the output of gamma_gamma_fit."),
        argument(name = "frequency", description = "Repeat purchases."),
        argument(name = "monetary_value", description = "Mean value of the repeat purchases.")
    )]
    GammaGammaExpectedSpend, "gamma_gamma_expected_spend", models: [gamma_gamma::PARAMS], numbers: 2,
    usage: "model, frequency, monetary_value",
    eval: |m, v| {
        const NAME: &str = "gamma_gamma_expected_spend";
        let params: [f64; 3] = fixed(NAME, &m[0])?;
        if params[1] <= 1.0 {
            return exec_err!("{NAME}: q must be > 1 for a finite mean spend, got {}", params[1]);
        }
        if v[0] < 0.0 {
            return exec_err!("{NAME}: frequency must be >= 0, got {}", v[0]);
        }
        Ok(Some(gamma_gamma::expected_spend(&params, v[0], v[1])))
    }
}
