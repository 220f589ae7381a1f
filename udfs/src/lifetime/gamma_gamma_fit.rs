//! `gamma_gamma_fit(frequency, monetary_value [, penalizer])`: the Gamma-Gamma spend model fitted per group.

use datafusion::common::{exec_err, Result};
use datafusion_macros::user_doc;

use super::fit_state::{fit_function, Model};
use super::gamma_gamma;
use crate::stats::special::{digamma, ln_gamma};

fit_function! {
    #[user_doc(
        doc_section(label = "Customer Lifetime Functions"),
        description = "Fits the Gamma-Gamma model of mean transaction value (Fader, Hardie & Lee 2005; Fader & Hardie's note \
    \"The Gamma-Gamma Model of Monetary Value\") to the customers of a group by maximum likelihood, as lifetimes' `GammaGammaFitter`: \
    ln Lᵢ = ln Γ(p x + q) − ln Γ(p x) − ln Γ(q) + q ln v + (p x − 1) ln m + p x ln x − (p x + q) ln(x m + v) for x = frequency (repeat purchases) and \
    m = monetary_value (their mean value). Only customers with frequency > 0 and monetary_value > 0 are fitted (the others are skipped, as lifetimes' users filter them); \
    rows with a NULL or NaN value are skipped too; a negative frequency or an infinite value is an error. \
    The objective is −ln L / n + penalizer · (p² + q² + v²), as lifetimes, minimised over the logarithms of the parameters \
    (BFGS from p = q = 1 and v = the mean of the distinct monetary values, analytic gradients, the convergence rules of bgnbd_fit). \
    Returns a struct `{p, q, v, log_likelihood, n, iterations, converged, reason}` (n = customers fitted); \
    no customers, or a parameter that runs off toward 0 or infinity (outside 1e-6 to 1e6 times its starting value), give NULL parameters with converged = false and the reason. The state holds each distinct \
    (frequency, monetary_value) once with its count.",
        syntax_example = "gamma_gamma_fit(frequency, monetary_value [, penalizer])",
        sql_example = r#"```sql
> SELECT round(m.p, 3) AS p, round(m.q, 3) AS q, round(m.v, 3) AS v, m.n AS n, m.converged AS converged
  FROM (SELECT gamma_gamma_fit(1 + i % 4, 8.0 + (i * 37) % 23 + (i % 5) * (i % 7)) AS m
        FROM generate_series(1, 60) g(i));
+-------+-------+--------+----+-----------+
| p     | q     | v      | n  | converged |
+-------+-------+--------+----+-----------+
| 9.173 | 7.101 | 16.753 | 60 | true      |
+-------+-------+--------+----+-----------+
```"#,
        argument(name = "frequency", description = "Repeat purchases of the customer."),
        argument(name = "monetary_value", description = "Mean value of the customer's repeat purchases."),
        argument(
            name = "penalizer",
            description = "Optional constant L2 penalty on the parameters (lifetimes' penalizer_coef), default 0."
        )
    )]
    GammaGammaFit, GammaGammaModel, "gamma_gamma_fit", usage: "frequency, monetary_value [, penalizer]"
}

/// The Gamma-Gamma likelihood over (frequency, recency, T) rows.
#[derive(Debug)]
pub(super) struct GammaGammaModel;

impl Model for GammaGammaModel {
    const NAME: &'static str = "gamma_gamma_fit";
    const COLUMNS: usize = 2;

    fn params() -> &'static [&'static str] {
        gamma_gamma::PARAMS
    }

    fn admit(row: &[f64]) -> Result<bool> {
        if row[0] < 0.0 {
            return exec_err!("{}: frequency must be >= 0, got {}", Self::NAME, row[0]);
        }
        Ok(row[0] > 0.0 && row[1] > 0.0)
    }

    fn param_scales(rows: &[f64]) -> Vec<f64> {
        // v is an amount: its scale is the mean spend
        let (sum, count) = rows.chunks_exact(2).fold((0.0, 0.0), |(s, c), r| (s + r[1], c + 1.0));
        let mean = if count > 0.0 && sum > 0.0 { sum / count } else { 1.0 };
        vec![1.0, 1.0, mean]
    }

    fn unidentified(_rows: &[f64]) -> Option<&'static str> {
        None
    }

    fn log_likelihood(params: &[f64], rows: &[f64], weights: &[f64]) -> Option<f64> {
        Self::log_likelihood_gradient(params, rows, weights).map(|(ll, _)| ll)
    }

    fn log_likelihood_gradient(params: &[f64], rows: &[f64], weights: &[f64]) -> Option<(f64, Vec<f64>)> {
        let &[p, q, v] = params else { return None };
        // ln Lᵢ of gamma_gamma::log_likelihood and its derivatives; rows sorted by frequency:
        // the Γ and ψ terms of p·x once per frequency
        let (ln_gamma_q, psi_q, ln_v) = (ln_gamma(q), digamma(q), v.ln());
        let mut last_x = f64::NAN;
        let (mut gamma_terms, mut psi_pxq, mut psi_px, mut ln_x) = (0.0, 0.0, 0.0, 0.0);
        let mut total = 0.0;
        let mut g = [0.0; 3];
        for (row, w) in rows.chunks_exact(2).zip(weights) {
            let (x, m) = (row[0], row[1]);
            let px = p * x;
            if x != last_x {
                last_x = x;
                gamma_terms = ln_gamma(px + q) - ln_gamma(px) - ln_gamma_q;
                (psi_pxq, psi_px, ln_x) = (digamma(px + q), digamma(px), x.ln());
            }
            let (ln_m, ln_xmv) = (m.ln(), (x * m + v).ln());
            total += w * (gamma_terms + q * ln_v + (px - 1.0) * ln_m + px * ln_x - (px + q) * ln_xmv);
            g[0] += w * x * (psi_pxq - psi_px + ln_m + ln_x - ln_xmv);
            g[1] += w * (psi_pxq - psi_q + ln_v - ln_xmv);
            g[2] += w * (q / v - (px + q) / (x * m + v));
        }
        Some((total, g.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::optimize::numerical_gradient;

    #[test]
    fn the_analytic_gradient_matches_central_differences() {
        let rows = [1.0, 12.5, 1.0, 30.0, 2.0, 8.25, 5.0, 40.0, 9.0, 22.0];
        let weights = [3.0, 1.0, 2.0, 1.0, 4.0];
        let params = [4.2, 3.1, 14.0];
        let (ll, g) = GammaGammaModel::log_likelihood_gradient(&params, &rows, &weights).expect("finite");
        let plain: f64 =
            rows.chunks_exact(2).zip(&weights).map(|(r, w)| w * gamma_gamma::log_likelihood(&params, r[0], r[1])).sum();
        assert!((ll - plain).abs() < 1e-10 * plain.abs(), "{ll} vs {plain}");
        let f = |p: &[f64]| GammaGammaModel::log_likelihood(p, &rows, &weights).unwrap_or(f64::NAN);
        let numeric = numerical_gradient(&f, &params, ll).expect("finite");
        for (a, n) in g.iter().zip(&numeric) {
            assert!((a - n).abs() < 1e-6 * n.abs().max(1.0), "{g:?} vs {numeric:?}");
        }
    }
}
