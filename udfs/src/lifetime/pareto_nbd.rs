//! The Pareto/NBD model of Schmittlein, Morrison & Colombo (1987): its log-likelihood per
//! customer and its predictions, as lifetimes 0.11.3's `ParetoNBDFitter` (Fader & Hardie's
//! formulation with ₂F₁(a, b; a + 1; z), evaluated on the branch that keeps z in [0, 1)).
//! Parameters in the order r, α, s, β.

use crate::stats::special::{ln_gamma, ln_hyp2f1_a_plus_1, log_add_exp, log_sub_exp};

/// The parameter names, in order.
pub(super) const PARAMS: &[&str] = &["r", "alpha", "s", "beta"];

/// ln A₀ of Fader & Hardie's note, `None` when ₂F₁ cannot be evaluated.
fn log_a0(p: &[f64; 4], x: f64, t_x: f64, age: f64) -> Option<f64> {
    let [r, alpha, s, beta] = *p;
    let (min_ab, max_ab, t) = if alpha < beta { (alpha, beta, r + x) } else { (beta, alpha, s + 1.0) };
    let gap = max_ab - min_ab;
    let rsf = r + s + x;
    let q1 = max_ab + age;
    let q2 = max_ab + t_x;
    let p1 = ln_hyp2f1_a_plus_1(rsf, t, gap / q1)?;
    let p2 = ln_hyp2f1_a_plus_1(rsf, t, gap / q2)?;
    // A₀ = ₂F₁(…; gap/q₂)/q₂^(r+s+x) − ₂F₁(…; gap/q₁)/q₁^(r+s+x), positive since q₂ <= q₁
    Some(log_sub_exp(p2 - rsf * q2.ln(), p1 - rsf * q1.ln()))
}

/// ln L of one customer, `None` when ₂F₁ cannot be evaluated.
pub(super) fn log_likelihood(p: &[f64; 4], x: f64, t_x: f64, age: f64) -> Option<f64> {
    let [r, alpha, s, beta] = *p;
    let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln();
    let a0 = log_a0(p, x, t_x, age)?;
    let a2 = log_add_exp(-(r + x) * (alpha + age).ln() - s * (beta + age).ln(), s.ln() + a0 - (r + s + x).ln());
    Some(a1 + a2)
}

/// P(alive | x, t_x, T).
pub(super) fn p_alive(p: &[f64; 4], x: f64, t_x: f64, age: f64) -> Option<f64> {
    let [r, alpha, s, beta] = *p;
    let a0 = log_a0(p, x, t_x, age)?;
    Some(1.0 / (1.0 + (s.ln() - (r + s + x).ln() + (r + x) * (alpha + age).ln() + s * (beta + age).ln() + a0).exp()))
}

/// E[purchases in (T, T + t] | x, t_x, T].
pub(super) fn expected_purchases(p: &[f64; 4], t: f64, x: f64, t_x: f64, age: f64) -> Option<f64> {
    let [r, alpha, s, beta] = *p;
    let likelihood = log_likelihood(p, x, t_x, age)?;
    let first = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln()
        - (r + x) * (alpha + age).ln()
        - s * (beta + age).ln();
    let second = (r + x).ln() + (beta + age).ln() - (alpha + age).ln();
    let third = one_minus_power_over(((beta + age) / (beta + age + t)).ln(), s - 1.0).ln();
    Some((first + second + third - likelihood).exp())
}

/// E[purchases in (0, t]] of a new customer.
pub(super) fn expected_purchases_new(p: &[f64; 4], t: f64) -> f64 {
    let [r, alpha, s, beta] = *p;
    r * beta / alpha * one_minus_power_over((beta / (beta + t)).ln(), s - 1.0)
}

/// (1 − q^k) / k for ln q = `ln_q` <= 0, without cancellation near k = 0 and with its limit
/// −ln q at k = 0 (s = 1 in the Pareto/NBD expectations).
fn one_minus_power_over(ln_q: f64, k: f64) -> f64 {
    if k.abs() < 1e-12 {
        -ln_q
    } else {
        -(k * ln_q).exp_m1() / k
    }
}
