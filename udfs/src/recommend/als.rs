//! Implicit-feedback alternating least squares (Hu, Koren & Volinsky 2008), the model behind
//! `als_fit` and `als_score`.
//!
//! For feedback r_ui > 0 the preference is p_ui = 1 with confidence c_ui = 1 + α r_ui; every
//! other (user, item) has p = 0 and c = 1. With user factors X and item factors Y (f columns)
//! the objective is
//!
//! ```text
//! L = Σ_u Σ_i c_ui (p_ui − x_uᵀ y_i)² + λ (Σ_u ‖x_u‖² + Σ_i ‖y_i‖²)
//! ```
//!
//! and a half-step solves every row exactly given the other side:
//! x_u = (YᵀY + λI + Σ_{i ∈ u} (c_ui − 1) y_i y_iᵀ)⁻¹ Σ_{i ∈ u} c_ui y_i (a Cholesky solve),
//! the same for y_i. One iteration is a user step then an item step. The item factors start at
//! y_ik = 0.01 · u(seed, i, k), where i is the item's place in name order and u is the
//! SplitMix64 uniform of [`initial`] — so a NumPy transcription starts from the same point.

use crate::stats::linalg::Cholesky;

/// A sparse side of the feedback: `cols[from[r]..from[r + 1]]` are the columns of row r and
/// `values` their summed feedback r (> 0).
#[derive(Debug, Default)]
pub(super) struct Rows {
    pub(super) from: Vec<usize>,
    pub(super) cols: Vec<u32>,
    pub(super) values: Vec<f64>,
}

impl Rows {
    pub(super) fn len(&self) -> usize {
        self.from.len().saturating_sub(1)
    }

    pub(super) fn row(&self, r: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        (self.from[r]..self.from[r + 1]).map(|at| (self.cols[at] as usize, self.values[at]))
    }

    /// The same cells by column: row r of the result lists the rows holding column r.
    pub(super) fn transpose(&self, columns: usize) -> Rows {
        let mut count = vec![0usize; columns + 1];
        for &c in &self.cols {
            count[c as usize + 1] += 1;
        }
        for c in 0..columns {
            count[c + 1] += count[c];
        }
        let mut next = count.clone();
        let mut cols = vec![0u32; self.cols.len()];
        let mut values = vec![0.0; self.cols.len()];
        for r in 0..self.len() {
            for (c, v) in self.row(r) {
                cols[next[c]] = r as u32;
                values[next[c]] = v;
                next[c] += 1;
            }
        }
        Rows { from: count, cols, values }
    }
}

/// The fit's constants.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub(super) factors: usize,
    pub(super) regularization: f64,
    pub(super) alpha: f64,
}

/// The SplitMix64 uniform in [0, 1) of (seed, i, k) for `factors` columns:
/// z = seed + (i·f + k + 1)·0x9E3779B97F4A7C15 (wrapping), then SplitMix64's finaliser, top 53 bits.
pub(super) fn initial(seed: u64, i: usize, k: usize, factors: usize) -> f64 {
    let n = (i as u64).wrapping_mul(factors as u64).wrapping_add(k as u64).wrapping_add(1);
    let mut z = seed.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// GᵀG of a row-major n × f matrix, f × f.
pub(super) fn gram(g: &[f64], f: usize) -> Vec<f64> {
    let mut out = vec![0.0; f * f];
    for row in g.chunks_exact(f) {
        for a in 0..f {
            let ra = row[a];
            for b in 0..=a {
                out[a * f + b] += ra * row[b];
            }
        }
    }
    for a in 0..f {
        for b in 0..a {
            out[b * f + a] = out[a * f + b];
        }
    }
    out
}

/// Solves one row: x = (GᵀG + λI + Σ (c − 1) g gᵀ)⁻¹ Σ c g over the row's cells. `None` when
/// the system is singular (λ = 0 and too few cells).
pub(super) fn solve_row(
    settings: Settings,
    gtg: &[f64],
    g: &[f64],
    cells: impl Iterator<Item = (usize, f64)>,
    a: &mut Vec<f64>,
    b: &mut Vec<f64>,
) -> Option<Vec<f64>> {
    let f = settings.factors;
    a.clear();
    a.extend_from_slice(gtg);
    for d in 0..f {
        a[d * f + d] += settings.regularization;
    }
    b.clear();
    b.resize(f, 0.0);
    for (j, r) in cells {
        let c = 1.0 + settings.alpha * r;
        let y = &g[j * f..(j + 1) * f];
        for p in 0..f {
            b[p] += c * y[p];
            let w = (c - 1.0) * y[p];
            for q in 0..=p {
                a[p * f + q] += w * y[q];
            }
        }
    }
    Cholesky::factor(a, f).ok().map(|l| l.solve(b))
}

/// One half-step: every row of `rows` solved against `g` into `out` (rows × f), on up to
/// `threads` threads (each row is independent, so the result does not depend on the count).
/// `Err(r)` names a row whose system is singular.
pub(super) fn half_step(
    settings: Settings,
    rows: &Rows,
    g: &[f64],
    out: &mut [f64],
    threads: usize,
) -> Result<(), usize> {
    let f = settings.factors;
    let gtg = gram(g, f);
    let n = rows.len();
    let chunk = n.div_ceil(threads.max(1)).max(1);
    let results: Vec<Result<(), usize>> = std::thread::scope(|scope| {
        let handles: Vec<_> = out
            .chunks_mut(chunk * f)
            .enumerate()
            .map(|(part, block)| {
                let gtg = &gtg;
                scope.spawn(move || {
                    let (mut a, mut b) = (Vec::new(), Vec::new());
                    for (offset, x) in block.chunks_exact_mut(f).enumerate() {
                        let r = part * chunk + offset;
                        match solve_row(settings, gtg, g, rows.row(r), &mut a, &mut b) {
                            Some(solution) => x.copy_from_slice(&solution),
                            None => return Err(r),
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    results.into_iter().collect()
}

/// The objective L at user factors `x` and item factors `y`:
/// Σ_u x_uᵀ YᵀY x_u + Σ_(u,i) observed [(c − 1) s² − 2 c s + c] + λ (‖X‖² + ‖Y‖²), s = x_uᵀ y_i.
pub(super) fn loss(settings: Settings, users: &Rows, x: &[f64], y: &[f64]) -> f64 {
    let f = settings.factors;
    let yty = gram(y, f);
    let mut total = 0.0;
    for (u, xu) in x.chunks_exact(f).enumerate() {
        for p in 0..f {
            for q in 0..f {
                total += xu[p] * yty[p * f + q] * xu[q];
            }
        }
        for (i, r) in users.row(u) {
            let c = 1.0 + settings.alpha * r;
            let s: f64 = xu.iter().zip(&y[i * f..(i + 1) * f]).map(|(a, b)| a * b).sum();
            total += (c - 1.0) * s * s - 2.0 * c * s + c;
        }
    }
    let norms: f64 = x.iter().chain(y).map(|v| v * v).sum();
    total + settings.regularization * norms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_half_step_minimises_the_objective_over_its_side() {
        // 3 users × 4 items, f = 2: after a user step, moving any user's factors raises L
        let users = Rows { from: vec![0, 2, 3, 5], cols: vec![0, 1, 2, 1, 3], values: vec![1.0, 3.0, 2.0, 1.0, 5.0] };
        let settings = Settings { factors: 2, regularization: 0.1, alpha: 2.0 };
        let y: Vec<f64> = (0..8).map(|k| 0.01 * initial(7, k / 2, k % 2, 2) + 0.3 * (k as f64).sin()).collect();
        let mut x = vec![0.0; 6];
        half_step(settings, &users, &y, &mut x, 2).expect("solve");
        let best = loss(settings, &users, &x, &y);
        for at in 0..6 {
            for step in [-1e-4, 1e-4] {
                let mut moved = x.clone();
                moved[at] += step;
                assert!(loss(settings, &users, &moved, &y) > best, "coordinate {at}");
            }
        }
        // the transpose lists the users of each item
        let items = users.transpose(4);
        assert_eq!(items.from, vec![0, 1, 3, 4, 5]);
        assert_eq!(items.cols, vec![0, 0, 2, 1, 2]);
        assert_eq!(items.values, vec![1.0, 3.0, 1.0, 2.0, 5.0]);
    }

    #[test]
    fn initial_values_are_uniform_and_depend_on_every_input() {
        let a = initial(1, 0, 0, 4);
        assert!((0.0..1.0).contains(&a));
        assert_ne!(a, initial(2, 0, 0, 4));
        assert_ne!(a, initial(1, 1, 0, 4));
        assert_ne!(a, initial(1, 0, 1, 4));
        let mean: f64 = (0..10_000).map(|i| initial(3, i, 0, 1)).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
    }
}
