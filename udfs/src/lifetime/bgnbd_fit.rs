//! `bgnbd_fit(frequency, recency, T [, penalizer])`: the BG/NBD model fitted per group.

use datafusion::common::Result;
use datafusion_macros::user_doc;

use super::bgnbd;
use super::fit_state::{self, fit_function, Model};
use super::model_args::check_customer;
use crate::stats::special::{digamma, ln_gamma, log_add_exp};

fit_function! {
    #[user_doc(
        doc_section(label = "Customer Lifetime Functions"),
        description = "Fits the BG/NBD model (Fader, Hardie & Lee 2005, \"Counting Your Customers the Easy Way\") to the customers of a group \
    by maximum likelihood, as lifetimes' `BetaGeoFitter`: the objective is −ln L / n + penalizer · (r² + (α / max T)² + a² + b²) \
    (lifetimes rescales time by the largest T before fitting, so its penalty sees α / max T), minimised over the logarithms of the parameters \
    (BFGS from r = a = b = 1 and α = max T, analytic gradients, converged when every gradient component is below 1e-8, or below 1e-6 once no step lowers the objective). \
    Returns a struct `{r, alpha, a, b, log_likelihood, n, iterations, converged, reason}`: log_likelihood is the total ln L (without the penalty), \
    n the number of customers fitted. frequency (repeat purchases, a whole number >= 0), recency and T (0 <= recency <= T) are in one time unit, \
    usually from clv_summary. Rows with a NULL or NaN value are skipped; a negative or fractional frequency, recency outside [0, T] or an infinite value is an error. \
    A group without customers, or without any repeat purchase, gives NULL parameters with converged = false and the reason; so does a fit in which a parameter runs \
    off toward 0 or infinity (outside 1e-6 to 1e6 times its starting value): the data do not identify the model. A fit that stops for another reason keeps its parameters with converged = false. The state holds each distinct (frequency, recency, T) once with its count, so its size is the number of distinct triples, not of customers.",
        syntax_example = "bgnbd_fit(frequency, recency, T [, penalizer])",
        sql_example = r#"```sql
> SELECT round(m.r, 3) AS r, round(m.alpha, 3) AS alpha, round(m.a, 3) AS a, round(m.b, 3) AS b, m.n AS n, m.converged AS converged
  FROM (SELECT bgnbd_fit(x, t_x, t) AS m
        FROM (VALUES (4, 38.7, 39), (1, 19.7, 39), (2, 26.2, 39), (4, 34.9, 39), (1, 8.4, 39), (2, 14.3, 39),
                     (5, 37.4, 39), (4, 33.4, 39), (1, 3.6, 39), (0, 0.0, 39), (0, 0.0, 39), (2, 25.1, 39),
                     (0, 0.0, 39), (0, 0.0, 39), (1, 0.4, 39), (11, 38.0, 39), (1, 24.5, 39), (2, 4.9, 39),
                     (3, 2.1, 39), (6, 23.7, 39), (3, 17.5, 39), (1, 27.0, 39), (1, 33.5, 39), (0, 0.0, 39)) c(x, t_x, t));
+-------+-------+-------+-------+----+-----------+
| r     | alpha | a     | b     | n  | converged |
+-------+-------+-------+-------+----+-----------+
| 0.924 | 9.121 | 1.078 | 4.321 | 24 | true      |
+-------+-------+-------+-------+----+-----------+
```"#,
        argument(name = "frequency", description = "Repeat purchases of the customer (a whole number >= 0)."),
        argument(name = "recency", description = "Time from the first to the last purchase."),
        argument(name = "T", description = "Time from the first purchase to the end of the observation period."),
        argument(
            name = "penalizer",
            description = "Optional constant L2 penalty on the parameters (lifetimes' penalizer_coef), default 0."
        )
    )]
    BgnbdFit, BgnbdModel, "bgnbd_fit", usage: "frequency, recency, T [, penalizer]"
}

/// The BG/NBD likelihood over (frequency, recency, T) rows.
#[derive(Debug)]
pub(super) struct BgnbdModel;

impl Model for BgnbdModel {
    const NAME: &'static str = "bgnbd_fit";
    const COLUMNS: usize = 3;

    fn params() -> &'static [&'static str] {
        bgnbd::PARAMS
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
        vec![1.0, max_t, 1.0, 1.0]
    }

    fn log_likelihood_gradient(params: &[f64], rows: &[f64], weights: &[f64]) -> Option<(f64, Vec<f64>)> {
        let &[r, alpha, a, b] = params else { return None };
        // ∂/∂θ of A1 + A2 + ln(e^A3 + [x > 0] e^A4); rows sorted by frequency: the Γ and ψ
        // terms once per frequency
        let shared = ln_gamma(r) - r * alpha.ln() + ln_gamma(b) - ln_gamma(a + b);
        let (psi_r, psi_b, psi_ab) = (digamma(r), digamma(b), digamma(a + b));
        let mut last_x = f64::NAN;
        let (mut gamma_terms, mut psi_rx, mut psi_bx, mut psi_abx) = (0.0, 0.0, 0.0, 0.0);
        let mut total = 0.0;
        let mut g = [0.0; 4];
        for (row, w) in rows.chunks_exact(3).zip(weights) {
            let (x, t_x, age) = (row[0], row[1], row[2]);
            if x != last_x {
                last_x = x;
                gamma_terms = ln_gamma(r + x) + ln_gamma(b + x) - ln_gamma(a + b + x) - shared;
                (psi_rx, psi_bx, psi_abx) = (digamma(r + x), digamma(b + x), digamma(a + b + x));
            }
            let (ln_t, ln_tx) = ((alpha + age).ln(), (t_x + alpha).ln());
            let a3 = -(r + x) * ln_t;
            // the weight of the "still alive" term A3 in ln(e^A3 + e^A4)
            let (tail, w3) = if x > 0.0 {
                let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * ln_tx;
                let tail = log_add_exp(a3, a4);
                (tail, (a3 - tail).exp())
            } else {
                (a3, 1.0)
            };
            let w4 = 1.0 - w3;
            total += w * (gamma_terms + tail);
            g[0] += w * (psi_rx - psi_r + alpha.ln() - w3 * ln_t - w4 * ln_tx);
            g[1] += w * (r / alpha - w3 * (r + x) / (alpha + age) - w4 * (r + x) / (t_x + alpha));
            g[2] += w * (psi_ab - psi_abx + if x > 0.0 { w4 / a } else { 0.0 });
            g[3] += w * (psi_ab + psi_bx - psi_b - psi_abx - if x > 0.0 { w4 / (b + x - 1.0) } else { 0.0 });
        }
        Some((total, g.to_vec()))
    }

    fn log_likelihood(params: &[f64], rows: &[f64], weights: &[f64]) -> Option<f64> {
        let &[r, alpha, a, b] = params else { return None };
        let p = [r, alpha, a, b];
        // rows are sorted by frequency: the Γ terms are computed once per frequency
        let shared = ln_gamma(r) - r * alpha.ln() + ln_gamma(b) - ln_gamma(a + b);
        let mut last_x = f64::NAN;
        let mut gamma_terms = 0.0;
        let mut total = 0.0;
        for (row, w) in rows.chunks_exact(3).zip(weights) {
            let (x, t_x, age) = (row[0], row[1], row[2]);
            if x != last_x {
                last_x = x;
                gamma_terms = ln_gamma(r + x) + ln_gamma(b + x) - ln_gamma(a + b + x) - shared;
            }
            total += w * (gamma_terms + bgnbd::log_likelihood_tail(&p, x, t_x, age));
        }
        Some(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::optimize::numerical_gradient;

    #[test]
    fn the_analytic_gradient_matches_central_differences() {
        // (frequency, recency, T) sorted by frequency, as the state hands them over
        let rows = [0.0, 0.0, 30.0, 0.0, 0.0, 38.0, 1.0, 5.0, 38.0, 2.0, 30.4, 38.9, 7.0, 29.4, 38.9, 7.0, 38.0, 38.9];
        let weights = [5.0, 2.0, 3.0, 1.0, 2.0, 1.0];
        let params = [0.24, 4.4, 0.79, 2.4];
        let (ll, g) = BgnbdModel::log_likelihood_gradient(&params, &rows, &weights).expect("finite");
        let plain = BgnbdModel::log_likelihood(&params, &rows, &weights).expect("finite");
        assert!((ll - plain).abs() < 1e-10 * plain.abs(), "{ll} vs {plain}");
        let f = |p: &[f64]| BgnbdModel::log_likelihood(p, &rows, &weights).unwrap_or(f64::NAN);
        let numeric = numerical_gradient(&f, &params, ll).expect("finite");
        for (a, n) in g.iter().zip(&numeric) {
            assert!((a - n).abs() < 1e-6 * n.abs().max(1.0), "{g:?} vs {numeric:?}");
        }
    }
}
