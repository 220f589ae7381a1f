//! Special functions the buy-till-you-die models need: ln Γ (from `libm`), the Gaussian
//! hypergeometric function ₂F₁ on [0, 1) and log-sum-exp helpers.

/// ln Γ(x) for x > 0.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// ln(e^u + e^v) without overflow.
pub(crate) fn log_add_exp(u: f64, v: f64) -> f64 {
    let (hi, lo) = if u >= v { (u, v) } else { (v, u) };
    if hi == f64::NEG_INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// ln(e^u − e^v) for u ≥ v; −∞ when they are equal.
pub(crate) fn log_sub_exp(u: f64, v: f64) -> f64 {
    if v >= u {
        return f64::NEG_INFINITY;
    }
    u + (-(v - u).exp()).ln_1p()
}

/// The most series terms [`hyp2f1`] sums before it gives up.
const MAX_TERMS: usize = 1_000_000;

/// The Gauss series Σ (a)ₙ(b)ₙ/(c)ₙ zⁿ/n! for 0 ≤ z < 1, summed until a term no longer
/// changes the sum; `None` when it does not settle within [`MAX_TERMS`] or overflows.
fn gauss_series(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    let mut term = 1.0_f64;
    let mut sum = 1.0_f64;
    for n in 0..MAX_TERMS {
        #[allow(clippy::cast_precision_loss)] // n < 2^53
        let k = n as f64;
        term *= (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        let next = sum + term;
        if !next.is_finite() {
            return None;
        }
        // stop once the terms have stopped growing and no longer move the sum
        if next == sum && (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z < 1.0 {
            return Some(next);
        }
        if term == 0.0 {
            return Some(next);
        }
        sum = next;
    }
    None
}

/// ₂F₁(a, b; c; z) for 0 ≤ z < 1 and c > 0, as ln ₂F₁ (the callers need its logarithm). The
/// series is summed directly; when it overflows or does not settle (large a, b), Euler's
/// transformation ₂F₁(a, b; c; z) = (1 − z)^(c−a−b) ₂F₁(c − a, c − b; c; z) is used, as
/// lifetimes does. `None` when neither gives a positive finite value.
pub(crate) fn ln_hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    if !(0.0..1.0).contains(&z) {
        return None;
    }
    if let Some(value) = gauss_series(a, b, c, z).filter(|v| *v > 0.0 && v.is_finite()) {
        return Some(value.ln());
    }
    let alt = gauss_series(c - a, c - b, c, z).filter(|v| *v > 0.0 && v.is_finite())?;
    Some(alt.ln() + (c - a - b) * (-z).ln_1p())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyp2f1_matches_closed_forms() {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z
        for z in [0.0_f64, 0.1, 0.5, 0.9, 0.99] {
            let exact = if z == 0.0 { 1.0 } else { -(-z).ln_1p() / z };
            let got = ln_hyp2f1(1.0, 1.0, 2.0, z).map(f64::exp);
            assert!(got.is_some_and(|g| ((g - exact) / exact).abs() < 1e-13), "z={z}: {got:?} vs {exact}");
        }
        // 2F1(a, b; b; z) = (1 - z)^-a
        let got = ln_hyp2f1(2.5, 3.0, 3.0, 0.7).map(f64::exp);
        assert!(got.is_some_and(|g| ((g - 0.3_f64.powf(-2.5)) / g).abs() < 1e-12));
        // Euler's transformation when the direct series overflows
        let direct = ln_hyp2f1(800.0, 800.0, 801.5, 0.6);
        assert!(direct.is_some_and(f64::is_finite));
        assert!(ln_hyp2f1(1.0, 1.0, 2.0, 1.0).is_none());
    }

    #[test]
    fn log_exp_helpers() {
        assert!((log_add_exp(0.0, 0.0) - 2.0_f64.ln()).abs() < 1e-15);
        assert!((log_sub_exp(2.0_f64.ln(), 0.0)).abs() < 1e-15);
        assert_eq!(log_sub_exp(1.0, 1.0), f64::NEG_INFINITY);
        assert_eq!(log_add_exp(f64::NEG_INFINITY, f64::NEG_INFINITY), f64::NEG_INFINITY);
    }
}
