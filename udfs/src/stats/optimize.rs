//! Unconstrained minimisation for maximum-likelihood fits of a few parameters: BFGS with
//! central-difference gradients and a backtracking (Armijo) line search, restarted from the
//! identity when a step fails. The objective is smooth and cheap next to the data scan (a
//! few thousand distinct rows), so derivative-free gradients cost little and keep every model
//! to its likelihood alone.

/// The outcome of [`minimize`].
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub iterations: usize,
    /// The largest gradient component at `x` fell below the tolerance.
    pub converged: bool,
}

/// The most BFGS iterations [`minimize`] takes.
pub(crate) const MAX_ITERATIONS: usize = 200;
/// Converged when every gradient component is below this (objectives are means per row).
const GRADIENT_TOLERANCE: f64 = 1e-8;
/// When no step lowers the objective any more, the fit counts as converged if every gradient
/// component is below this (central differences of a mean log-likelihood carry ~1e-8 of noise).
const STALL_TOLERANCE: f64 = 1e-6;

/// The central-difference gradient of `f` at `x` (one-sided next to where `f` is undefined).
pub(crate) fn numerical_gradient(f: &impl Fn(&[f64]) -> f64, x: &[f64], fx: f64) -> Option<Vec<f64>> {
    let mut point = x.to_vec();
    let mut g = vec![0.0; x.len()];
    for i in 0..x.len() {
        let h = 1e-6 * x[i].abs().max(1.0);
        point[i] = x[i] + h;
        let up = f(&point);
        point[i] = x[i] - h;
        let down = f(&point);
        point[i] = x[i];
        g[i] = if up.is_finite() && down.is_finite() {
            (up - down) / (2.0 * h)
        } else if up.is_finite() {
            (up - fx) / h
        } else if down.is_finite() {
            (fx - down) / h
        } else {
            return None;
        };
    }
    Some(g)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0_f64, |m, x| m.max(x.abs()))
}

/// Minimises `f` from `x0` with central-difference gradients. `f` returns +∞ (or NaN) where it
/// is undefined; such points are stepped back from. `None` when `f(x0)` itself is not finite.
#[cfg(test)]
pub(crate) fn minimize(f: impl Fn(&[f64]) -> f64, x0: &[f64]) -> Option<Minimum> {
    minimize_with(&f, |x, fx| numerical_gradient(&f, x, fx), x0)
}

/// [`minimize`] with `grad(x, f(x))` giving the gradient (analytic where the caller has one,
/// [`numerical_gradient`] otherwise).
pub(crate) fn minimize_with(
    f: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64], f64) -> Option<Vec<f64>>,
    x0: &[f64],
) -> Option<Minimum> {
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut fx = f(&x);
    if !fx.is_finite() {
        return None;
    }
    let mut g = grad(&x, fx)?;
    let identity = |n: usize| -> Vec<f64> { (0..n * n).map(|i| if i % (n + 1) == 0 { 1.0 } else { 0.0 }).collect() };
    // inverse Hessian approximation, row-major
    let mut h = identity(n);
    let mut fresh = true;
    for iteration in 0..MAX_ITERATIONS {
        if g.iter().any(|v| !v.is_finite()) {
            // a gradient that cannot be evaluated here: stop, not converged
            return Some(Minimum { x, iterations: iteration, converged: false });
        }
        if max_abs(&g) < GRADIENT_TOLERANCE {
            return Some(Minimum { x, iterations: iteration, converged: true });
        }
        let mut direction: Vec<f64> = (0..n).map(|i| -dot(&h[i * n..(i + 1) * n], &g)).collect();
        let mut slope = dot(&direction, &g);
        if slope >= 0.0 {
            h = identity(n);
            direction = g.iter().map(|v| -v).collect();
            slope = dot(&direction, &g);
            fresh = true;
        }
        // a first step of at most 1 in each log-parameter keeps the search inside the data's scale
        let longest = max_abs(&direction);
        let mut step = if longest > 1.0 { 1.0 / longest } else { 1.0 };
        let mut accepted = None;
        for _ in 0..60 {
            let trial: Vec<f64> = x.iter().zip(&direction).map(|(xi, di)| xi + step * di).collect();
            let ft = f(&trial);
            // strictly lower: a step too small to move x (or f) is a failed step, not progress
            if ft.is_finite() && ft < fx && ft <= fx + 1e-4 * step * slope {
                accepted = Some((trial, ft));
                break;
            }
            step *= 0.5;
        }
        let Some((next, f_next)) = accepted else {
            if fresh {
                // not even a gradient step lowers f: the minimum as far as the arithmetic resolves
                // it; converged when the gradient is at the level of its finite-difference noise
                let converged = max_abs(&g) < STALL_TOLERANCE;
                return Some(Minimum { x, iterations: iteration, converged });
            }
            h = identity(n);
            fresh = true;
            continue;
        };
        let Some(g_next) = grad(&next, f_next) else {
            return Some(Minimum { x, iterations: iteration, converged: false });
        };
        let s: Vec<f64> = next.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_next.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() {
            if fresh {
                // scale the first approximation to the curvature seen (Nocedal & Wright 6.20)
                let scale = sy / dot(&y, &y);
                h.iter_mut().for_each(|v| *v *= scale);
            }
            let hy: Vec<f64> = (0..n).map(|i| dot(&h[i * n..(i + 1) * n], &y)).collect();
            let yhy = dot(&y, &hy);
            for i in 0..n {
                for j in 0..n {
                    h[i * n + j] += (sy + yhy) * s[i] * s[j] / (sy * sy) - (hy[i] * s[j] + s[i] * hy[j]) / sy;
                }
            }
            fresh = false;
        }
        x = next;
        fx = f_next;
        g = g_next;
    }
    let converged = max_abs(&g) < GRADIENT_TOLERANCE;
    Some(Minimum { x, iterations: MAX_ITERATIONS, converged })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_rosenbrock() {
        let rosenbrock = |p: &[f64]| (1.0 - p[0]).powi(2) + 100.0 * (p[1] - p[0] * p[0]).powi(2);
        let min = minimize(rosenbrock, &[-1.2, 1.0]).expect("finite start");
        assert!(min.converged, "{min:?}");
        assert!((min.x[0] - 1.0).abs() < 1e-5 && (min.x[1] - 1.0).abs() < 1e-5, "{min:?}");
    }

    #[test]
    fn steps_back_from_undefined_regions() {
        // defined for x > 0 only, minimum at x = 2
        let f = |p: &[f64]| if p[0] <= 0.0 { f64::INFINITY } else { p[0] - 2.0 * p[0].ln() };
        let min = minimize(f, &[0.1]).expect("finite start");
        assert!(min.converged && (min.x[0] - 2.0).abs() < 1e-6, "{min:?}");
        assert!(minimize(f, &[-1.0]).is_none());
    }
}
