//! `pareto_nbd_fit(frequency, recency, T [, penalizer])`: the Pareto/NBD model fitted per group.

use datafusion::common::Result;
use datafusion_macros::user_doc;

use super::fit_state::{self, fit_function, Model};
use super::model_args::check_customer;
use super::pareto_nbd;

fit_function! {
    #[user_doc(
        doc_section(label = "Customer Lifetime Functions"),
        description = "Fits the Pareto/NBD model (Schmittlein, Morrison & Colombo 1987) to the customers of a group by maximum likelihood, \
    as lifetimes' `ParetoNBDFitter`, with the likelihood of Fader & Hardie's note \"A Note on Deriving the Pareto/NBD Model and Related Expressions\" \
    (₂F₁(a, b; a + 1; z) on the branch whose z lies in [0, 1): its Gauss series up to z = 0.99, above that Euler's integral by tanh-sinh quadrature). \
    The objective is −ln L + penalizer · (r² + (α / max T)² + s² + (β / max T)²) (lifetimes' ParetoNBDFitter penalises the total, not the mean, \
    after the time rescaling of bgnbd_fit), minimised over the logarithms \
    of the parameters (BFGS from r = s = 1 and α = β = max T, central-difference gradients, the convergence rules of bgnbd_fit); lifetimes uses Nelder-Mead \
    with tolerance 1e-4 and stops short of the maximum (by 5e-8 in ln L on CDNOW), so compare log-likelihoods. Each likelihood pass evaluates ₂F₁ twice per distinct (frequency, recency, T): this fit costs far more than bgnbd_fit. \
    Returns a struct `{r, alpha, s, beta, log_likelihood, n, iterations, converged, reason}`; inputs, skipped rows, errors, degenerate groups and the state as bgnbd_fit.",
        syntax_example = "pareto_nbd_fit(frequency, recency, T [, penalizer])",
        sql_example = r#"```sql
> SELECT round(m.r, 3) AS r, round(m.alpha, 3) AS alpha, round(m.s, 3) AS s, round(m.beta, 3) AS beta, m.n AS n, m.converged AS converged
  FROM (SELECT pareto_nbd_fit(x, t_x, t) AS m
        FROM (VALUES (4, 38.7, 39), (1, 19.7, 39), (2, 26.2, 39), (4, 34.9, 39), (1, 8.4, 39), (2, 14.3, 39),
                     (5, 37.4, 39), (4, 33.4, 39), (1, 3.6, 39), (0, 0.0, 39), (0, 0.0, 39), (2, 25.1, 39),
                     (0, 0.0, 39), (0, 0.0, 39), (1, 0.4, 39), (11, 38.0, 39), (1, 24.5, 39), (2, 4.9, 39),
                     (3, 2.1, 39), (6, 23.7, 39), (3, 17.5, 39), (1, 27.0, 39), (1, 33.5, 39), (0, 0.0, 39)) c(x, t_x, t));
+-------+--------+-------+--------+----+-----------+
| r     | alpha  | s     | beta   | n  | converged |
+-------+--------+-------+--------+----+-----------+
| 2.285 | 27.223 | 0.456 | 16.904 | 24 | true      |
+-------+--------+-------+--------+----+-----------+
```"#,
        argument(name = "frequency", description = "Repeat purchases of the customer (a whole number >= 0)."),
        argument(name = "recency", description = "Time from the first to the last purchase."),
        argument(name = "T", description = "Time from the first purchase to the end of the observation period."),
        argument(
            name = "penalizer",
            description = "Optional constant L2 penalty on the parameters (lifetimes' penalizer_coef), default 0."
        )
    )]
    ParetoNbdFit, ParetoNbdModel, "pareto_nbd_fit", usage: "frequency, recency, T [, penalizer]"
}

/// The Pareto/NBD likelihood over (frequency, recency, T) rows.
#[derive(Debug)]
pub(super) struct ParetoNbdModel;

impl Model for ParetoNbdModel {
    const NAME: &'static str = "pareto_nbd_fit";
    const COLUMNS: usize = 3;
    const PENALTY_ON_TOTAL: bool = true;

    fn params() -> &'static [&'static str] {
        pareto_nbd::PARAMS
    }

    fn admit(row: &[f64]) -> Result<bool> {
        check_customer(Self::NAME, row[0], row[1], row[2])?;
        Ok(true)
    }

    fn unidentified(rows: &[f64]) -> Option<&'static str> {
        (!rows.chunks_exact(3).any(|r| r[0] > 0.0))
            .then_some("no customer has a repeat purchase: the model is not identified")
    }

    const PENALTY_ON_SCALED: bool = true;

    fn param_scales(rows: &[f64]) -> Vec<f64> {
        let max_t = fit_state::time_scale(rows);
        vec![1.0, max_t, 1.0, max_t]
    }

    fn log_likelihood(params: &[f64], rows: &[f64], weights: &[f64]) -> Option<f64> {
        let &[r, alpha, s, beta] = params else { return None };
        let p = [r, alpha, s, beta];
        let mut total = 0.0;
        for (row, w) in rows.chunks_exact(3).zip(weights) {
            total += w * pareto_nbd::log_likelihood(&p, row[0], row[1], row[2])?;
        }
        Some(total)
    }
}
