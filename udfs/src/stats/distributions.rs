//! Distribution functions the tests need: the normal and Student t tails and quantiles.
//! `erfc` and `lgamma` come from `libm` (musl's implementations); the regularized incomplete
//! beta function is evaluated by its continued fraction (modified Lentz).

use std::f64::consts::{PI, SQRT_2};

/// P(Z > z) for a standard normal Z.
pub(crate) fn normal_sf(z: f64) -> f64 {
    0.5 * libm::erfc(z / SQRT_2)
}

/// The standard normal density.
fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * PI).sqrt()
}

/// The z with P(Z <= z) = p, 0 < p < 1, by Newton's method on the tail function.
pub(crate) fn normal_quantile(p: f64) -> f64 {
    if p == 0.5 {
        return 0.0;
    }
    // solve for the upper tail q = P(Z > z) with z > 0, then mirror
    let (q, sign) = if p > 0.5 { (1.0 - p, 1.0) } else { (p, -1.0) };
    let mut z = (-2.0 * q.ln()).sqrt();
    for _ in 0..100 {
        let step = (normal_sf(z) - q) / normal_pdf(z);
        z += step;
        if step.abs() <= 1e-15 * z.abs().max(1.0) {
            break;
        }
    }
    sign * z
}

/// I_x(a, b), the regularized incomplete beta function, for 0 <= x <= 1 and a, b > 0.
pub(crate) fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_fraction(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// The continued fraction of I_x(a, b) (Numerical Recipes' betacf, modified Lentz).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..100_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// P(T > t) for Student's t with `df` > 0 degrees of freedom (df need not be an integer).
pub(crate) fn student_t_sf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
    if t >= 0.0 {
        tail
    } else {
        1.0 - tail
    }
}

/// Student's t density.
fn student_t_pdf(t: f64, df: f64) -> f64 {
    let ln = libm::lgamma((df + 1.0) / 2.0)
        - libm::lgamma(df / 2.0)
        - 0.5 * (df * PI).ln()
        - (df + 1.0) / 2.0 * (t * t / df).ln_1p();
    ln.exp()
}

/// The t with P(T <= t) = p for Student's t with `df` degrees of freedom, by Newton's method
/// from the normal quantile, with bisection when a step leaves the bracket.
pub(crate) fn student_t_quantile(p: f64, df: f64) -> f64 {
    if p == 0.5 {
        return 0.0;
    }
    let (q, sign) = if p > 0.5 { (1.0 - p, 1.0) } else { (p, -1.0) };
    // upper tail: find t > 0 with sf(t) = q
    let (mut low, mut high) = (0.0, f64::INFINITY);
    let mut t = normal_quantile(1.0 - q).max(1e-3);
    for _ in 0..200 {
        let excess = student_t_sf(t, df) - q;
        if excess > 0.0 {
            low = t
        } else {
            high = t
        }
        let next = t + excess / student_t_pdf(t, df);
        let next = if next > low && next < high {
            next
        } else if high.is_finite() {
            (low + high) / 2.0
        } else {
            2.0 * t
        };
        if (next - t).abs() <= 1e-15 * t.abs() {
            t = next;
            break;
        }
        t = next;
    }
    sign * t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    #[test]
    fn matches_scipy() {
        // scipy.stats.norm.ppf(0.975), norm.sf(3), norm.sf(10)
        assert!(close(normal_quantile(0.975), 1.959963984540054, 1e-14));
        assert!(close(normal_sf(3.0), 0.0013498980316300933, 1e-13));
        assert!(close(normal_sf(10.0), 7.61985302416047e-24, 1e-12));
        // scipy.stats.t.sf(2.0, 10), t.sf(5.0, 3.5), t.ppf(0.975, 10), t.ppf(0.975, 4321.5)
        assert!(close(student_t_sf(2.0, 10.0), 0.03669401738537018, 1e-12));
        assert!(close(student_t_sf(5.0, 3.5), 0.005275089495933888, 1e-11));
        assert!(close(student_t_quantile(0.975, 10.0), 2.228138851986274, 1e-12));
        assert!(close(student_t_quantile(0.975, 4321.5), 1.960513081959134, 1e-12));
    }
}
