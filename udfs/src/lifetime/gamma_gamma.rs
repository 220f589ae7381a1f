//! The Gamma-Gamma spend model of Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value
//! Curves for Customer Base Analysis", and Fader & Hardie's note on it: the log-likelihood of a
//! customer's mean spend and the expected mean spend, as lifetimes 0.11.3's `GammaGammaFitter`.
//! Parameters in the order p, q, v.

#[cfg(test)]
use crate::stats::special::ln_gamma;

/// The parameter names, in order.
pub(super) const PARAMS: &[&str] = &["p", "q", "v"];

/// ln L of a customer with x > 0 repeat purchases of mean value m > 0 (the fit sums it with
/// its Γ terms shared per frequency; this plain form checks that).
#[cfg(test)]
pub(super) fn log_likelihood(params: &[f64; 3], x: f64, m: f64) -> f64 {
    let [p, q, v] = *params;
    let px = p * x;
    ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q) + q * v.ln() + (px - 1.0) * m.ln() + px * x.ln()
        - (px + q) * (x * m + v).ln()
}

/// E[mean spend | x, m]: the population mean v·p/(q − 1) shrunk toward the customer's mean m
/// with weight p·x/(p·x + q − 1). A customer without repeat purchases gets the population mean.
pub(super) fn expected_spend(params: &[f64; 3], x: f64, m: f64) -> f64 {
    let [p, q, v] = *params;
    let weight = p * x / (p * x + q - 1.0);
    let population = v * p / (q - 1.0);
    (1.0 - weight) * population + weight * m
}
