//! The BG/NBD model of Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way":
//! its log-likelihood per customer and its predictions, term for term as lifetimes 0.11.3's
//! `BetaGeoFitter`. Parameters in the order r, α, a, b.

use crate::stats::special::{ln_hyp2f1, log_add_exp};

/// The parameter names, in order.
pub(super) const PARAMS: &[&str] = &["r", "alpha", "a", "b"];

/// The part of ln L of one customer (FHL 2005 eq. 6, in lifetimes' arrangement) that depends on recency and T (the Γ terms depend on x only and are
/// computed once per frequency by the fit).
pub(super) fn log_likelihood_tail(p: &[f64; 4], x: f64, t_x: f64, age: f64) -> f64 {
    let [r, alpha, a, b] = *p;
    let a3 = -(r + x) * (alpha + age).ln();
    if x > 0.0 {
        let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (t_x + alpha).ln();
        log_add_exp(a3, a4)
    } else {
        a3
    }
}

/// P(alive | x, t_x, T); 1 for a customer without repeat purchases (lifetimes' convention: the
/// model's dropout can only happen after a purchase).
pub(super) fn p_alive(p: &[f64; 4], x: f64, t_x: f64, age: f64) -> f64 {
    if x == 0.0 {
        return 1.0;
    }
    let [r, alpha, a, b] = *p;
    let log_div = (r + x) * ((alpha + age) / (alpha + t_x)).ln() + (a / (b + x - 1.0)).ln();
    1.0 / (1.0 + log_div.exp())
}

/// E[purchases in (T, T + t] | x, t_x, T] (FHL 2005 eq. 10). `None` when ₂F₁ cannot be evaluated.
pub(super) fn expected_purchases(p: &[f64; 4], t: f64, x: f64, t_x: f64, age: f64) -> Option<f64> {
    let [r, alpha, a, b] = *p;
    let (ha, hb, hc) = (r + x, b + x, a + b + x - 1.0);
    let z = t / (alpha + age + t);
    let ln_hyp = ln_hyp2f1(ha, hb, hc, z)?;
    let first = (a + b + x - 1.0) / (a - 1.0);
    let second = 1.0 - (ln_hyp + (r + x) * ((alpha + age) / (alpha + t + age)).ln()).exp();
    let denominator =
        1.0 + if x > 0.0 { (a / (b + x - 1.0)) * ((alpha + age) / (alpha + t_x)).powf(r + x) } else { 0.0 };
    Some(first * second / denominator)
}

/// E[purchases in (0, t]] of a new customer (FHL 2005 eq. 9).
pub(super) fn expected_purchases_new(p: &[f64; 4], t: f64) -> Option<f64> {
    let [r, alpha, a, b] = *p;
    let ln_hyp = ln_hyp2f1(r, b, a + b - 1.0, t / (alpha + t))?;
    Some((a + b - 1.0) / (a - 1.0) * (1.0 - (ln_hyp + r * (alpha / (alpha + t)).ln()).exp()))
}
