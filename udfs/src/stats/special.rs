//! Special functions the buy-till-you-die models need: ln Γ (from `libm`), the Gaussian
//! hypergeometric function ₂F₁ on [0, 1) and log-sum-exp helpers.

/// ln Γ(x) for x > 0.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// ψ(x) = d ln Γ(x) / dx for x > 0: the recurrence ψ(x) = ψ(x + 1) − 1/x up to x >= 10, then
/// the asymptotic series (error below 1e-15 there).
pub(crate) fn digamma(mut x: f64) -> f64 {
    if !(x > 0.0 && x.is_finite()) {
        return f64::NAN;
    }
    let mut shift = 0.0;
    while x < 10.0 {
        shift -= 1.0 / x;
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    // ln x − 1/(2x) − Σ B₂ₖ / (2k x^2k)
    let series = inv2
        * (1.0 / 12.0
            - inv2
                * (1.0 / 120.0
                    - inv2 * (1.0 / 252.0 - inv2 * (1.0 / 240.0 - inv2 * (1.0 / 132.0 - inv2 * 691.0 / 32760.0)))));
    shift + x.ln() - 0.5 * inv - series
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
const MAX_TERMS: usize = 20_000;

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

/// ln ₂F₁(a, b; a + 1; z) for a > 0 and 0 ≤ z < 1 (the form the Pareto/NBD likelihood
/// needs). Up to z = 0.99 the Gauss series (a few hundred terms for moderate a and b, at most
/// 20,000). Above, where it needs tens of thousands of terms, Euler's integral ₂F₁(a, b; a + 1; z) =
/// a ∫₀¹ u^(a−1) (1 − z u)^(−b) du, rewritten with y = ln(1 − z u) as
/// (a / z^a) ∫ from ln(1 − z) to 0 of e^((1−b) y) (1 − e^y)^(a−1) dy, whose only difficulties
/// sit at the two ends, by tanh-sinh quadrature (scaled by its largest exponent, so it does
/// not overflow for large b).
pub(crate) fn ln_hyp2f1_a_plus_1(a: f64, b: f64, z: f64) -> Option<f64> {
    if !(a > 0.0 && (0.0..1.0).contains(&z)) {
        return None;
    }
    if z <= 0.99 {
        return ln_hyp2f1(a, b, a + 1.0, z);
    }
    let low = (-z).ln_1p(); // ln(1 − z) < 0
                            // an upper bound of the log-integrand, within |ln(1 − z)| of its maximum: (1 − b)·y peaks at
                            // y = low when b > 1, (a − 1)·ln(1 − e^y) <= (a − 1)·ln z when a > 1 (large a: large frequency)
    let peak = if b > 1.0 { (1.0 - b) * low } else { 0.0 } + if a > 1.0 { (a - 1.0) * z.ln() } else { 0.0 };
    // s in [0, 1] with w = 1 − s: y = low · w runs from low (s = 0) to 0 (s = 1)
    let integrand = |w: f64| {
        let y = low * w;
        ((1.0 - b) * y + (a - 1.0) * (-y.exp_m1()).ln() - peak).exp()
    };
    let integral = tanh_sinh_unit(integrand)?;
    if !(integral > 0.0 && integral.is_finite()) {
        return None;
    }
    Some(a.ln() - a * z.ln() + (-low).ln() + peak + integral.ln())
}

/// One abscissa of the tanh-sinh rule on [0, 1]: its weight and 1 − s (kept exact near s = 1).
#[derive(Debug, Clone, Copy)]
struct Node {
    weight: f64,
    one_minus: f64,
}

/// The deepest level (step 2^−LEVELS) of [`tanh_sinh_unit`].
const LEVELS: usize = 8;

/// The nodes of each level: level 0 holds t = k/2 for |k| <= 12, level j the odd multiples of
/// 2^−(j+1) in [−6, 6] (beyond, the weights underflow next to any integrand here).
fn nodes() -> &'static [Vec<Node>] {
    use std::f64::consts::FRAC_PI_2;
    static NODES: std::sync::LazyLock<Vec<Vec<Node>>> = std::sync::LazyLock::new(|| {
        let node = |t: f64| {
            let u = FRAC_PI_2 * t.sinh();
            // s = 1 / (1 + e^(−2u)), 1 − s = 1 / (1 + e^(2u))
            Node {
                weight: FRAC_PI_2 * t.cosh() / (2.0 * u.cosh() * u.cosh()),
                one_minus: 1.0 / (1.0 + (2.0 * u).exp()),
            }
        };
        let mut levels = Vec::with_capacity(LEVELS + 1);
        levels.push((-12..=12).map(|k| node(f64::from(k) * 0.5)).collect());
        for level in 1..=LEVELS {
            let h = 0.5 / f64::from(1u32 << level);
            #[allow(clippy::cast_possible_truncation)] // 6 / h <= 3072
            let count = (6.0 / h) as i32;
            levels.push((-count..=count).filter(|k| k % 2 != 0).map(|k| node(f64::from(k) * h)).collect());
        }
        levels
    });
    &NODES
}

/// ∫₀¹ f(s) ds by tanh-sinh quadrature, with f given 1 − s; the step is halved until two
/// levels agree to 1e-14 (relative). `None` when they do not by step 2^−LEVELS.
fn tanh_sinh_unit(f: impl Fn(f64) -> f64) -> Option<f64> {
    let mut sum = 0.0;
    let mut estimate = f64::NAN;
    for (level, nodes) in nodes().iter().enumerate() {
        for node in nodes {
            if node.weight > 0.0 && node.one_minus > 0.0 && node.one_minus < 1.0 {
                sum += node.weight * f(node.one_minus);
            }
        }
        let h = 0.5 / f64::from(1u32 << level);
        let next = h * sum;
        if !next.is_finite() {
            return None;
        }
        if level > 1 && (next - estimate).abs() <= 1e-14 * next.abs() {
            return Some(next);
        }
        estimate = next;
    }
    None
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
    fn hyp2f1_a_plus_1_agrees_with_the_series_and_closed_forms() {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z, up to z near 1
        for z in [0.85_f64, 0.995, 0.999, 0.999_999] {
            let exact = -(-z).ln_1p() / z;
            let got = ln_hyp2f1_a_plus_1(1.0, 1.0, z).map(f64::exp);
            assert!(got.is_some_and(|g| ((g - exact) / exact).abs() < 1e-13), "z={z}: {got:?} vs {exact}");
        }
        // the quadrature against the slow series where both work
        for (a, b) in [(0.3_f64, 1.7_f64), (1.16, 1.55), (12.5, 0.6), (2.0, 7.3)] {
            let series = ln_hyp2f1(a, b, a + 1.0, 0.995).expect("series");
            let quadrature = ln_hyp2f1_a_plus_1(a, b, 0.995).expect("quadrature");
            assert!(
                (series - quadrature).abs() < 1e-13 * series.abs().max(1.0),
                "a={a} b={b}: {series} vs {quadrature}"
            );
        }
    }

    #[test]
    fn hyp2f1_a_plus_1_handles_large_b_near_one() {
        // 2F1(a, b; a + 1; z) with b = a + 1 is (1 - z)^-(a + 1)... only when b = c: check
        // 2F1(a, a + 1; a + 1; z) = (1 - z)^-a instead, far into the peaked regime
        for (a, z) in [(30.0_f64, 0.9999_f64), (0.5, 0.999_999_9), (250.0, 0.995)] {
            let exact = -a * (-z).ln_1p();
            let got = ln_hyp2f1_a_plus_1(a, a + 1.0, z).expect("converges");
            assert!((got - exact).abs() < 1e-12 * exact.abs(), "a={a} z={z}: {got} vs {exact}");
        }
    }

    #[test]
    fn digamma_matches_known_values() {
        // ψ(1) = −γ, ψ(0.5) = −γ − 2 ln 2, ψ(10) (scipy.special.digamma)
        let gamma = 0.577_215_664_901_532_9;
        assert!((digamma(1.0) + gamma).abs() < 1e-14);
        assert!((digamma(0.5) + gamma + 2.0 * 2.0_f64.ln()).abs() < 1e-14);
        assert!((digamma(10.0) - 2.251_752_589_066_721).abs() < 1e-14);
        assert!((digamma(0.01) - -100.560_885_457_869_9).abs() < 1e-11);
    }

    #[test]
    fn log_exp_helpers() {
        assert!((log_add_exp(0.0, 0.0) - 2.0_f64.ln()).abs() < 1e-15);
        assert!((log_sub_exp(2.0_f64.ln(), 0.0)).abs() < 1e-15);
        assert_eq!(log_sub_exp(1.0, 1.0), f64::NEG_INFINITY);
        assert_eq!(log_add_exp(f64::NEG_INFINITY, f64::NEG_INFINITY), f64::NEG_INFINITY);
    }
}
