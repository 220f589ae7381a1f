//! Dense symmetric positive-definite systems for the regressions: a Cholesky factor with a
//! relative pivot test (a pivot that loses all but `RANK_TOLERANCE` of its diagonal marks a
//! column that is a linear combination of the earlier ones), solves and the inverse.

/// A pivot below this share of its column's diagonal counts as zero: the column is
/// (numerically) a linear combination of the columns before it.
pub(crate) const RANK_TOLERANCE: f64 = 1e-10;

/// The lower-triangular Cholesky factor L of a symmetric positive-definite n × n matrix
/// (row-major), A = L Lᵀ.
#[derive(Debug)]
pub(crate) struct Cholesky {
    n: usize,
    l: Vec<f64>,
}

impl Cholesky {
    /// Factors `a` (only its lower triangle is read). `Err(j)` names the first column whose
    /// pivot is not positive or falls below [`RANK_TOLERANCE`] of the diagonal `a[j][j]`.
    pub(crate) fn factor(a: &[f64], n: usize) -> Result<Self, usize> {
        debug_assert_eq!(a.len(), n * n);
        let mut l = vec![0.0; n * n];
        for j in 0..n {
            let mut pivot = a[j * n + j];
            for k in 0..j {
                pivot -= l[j * n + k] * l[j * n + k];
            }
            let positive = pivot > RANK_TOLERANCE * a[j * n + j].abs();
            if !positive || !pivot.is_finite() {
                return Err(j);
            }
            let d = pivot.sqrt();
            l[j * n + j] = d;
            for i in j + 1..n {
                let mut s = a[i * n + j];
                for k in 0..j {
                    s -= l[i * n + k] * l[j * n + k];
                }
                l[i * n + j] = s / d;
            }
        }
        Ok(Self { n, l })
    }

    /// x with A x = b.
    pub(crate) fn solve(&self, b: &[f64]) -> Vec<f64> {
        let (n, l) = (self.n, &self.l);
        let mut x = b.to_vec();
        for i in 0..n {
            let mut s = x[i];
            for k in 0..i {
                s -= l[i * n + k] * x[k];
            }
            x[i] = s / l[i * n + i];
        }
        for i in (0..n).rev() {
            let mut s = x[i];
            for k in i + 1..n {
                s -= l[k * n + i] * x[k];
            }
            x[i] = s / l[i * n + i];
        }
        x
    }

    /// A⁻¹, row-major.
    pub(crate) fn inverse(&self) -> Vec<f64> {
        let n = self.n;
        let mut inverse = vec![0.0; n * n];
        let mut unit = vec![0.0; n];
        for j in 0..n {
            unit.fill(0.0);
            unit[j] = 1.0;
            for (i, v) in self.solve(&unit).into_iter().enumerate() {
                inverse[i * n + j] = v;
            }
        }
        inverse
    }
}

#[cfg(test)]
mod tests {
    use super::Cholesky;

    #[test]
    fn solves_and_inverts_and_finds_dependent_columns() {
        let a = [4.0, 2.0, 0.6, 2.0, 5.0, 1.5, 0.6, 1.5, 3.0];
        let c = Cholesky::factor(&a, 3).expect("positive definite");
        let x = c.solve(&[1.0, 2.0, 3.0]);
        for (i, row) in a.chunks(3).enumerate() {
            let ax: f64 = row.iter().zip(&x).map(|(r, x)| r * x).sum();
            assert!((ax - [1.0, 2.0, 3.0][i]).abs() < 1e-14, "{ax}");
        }
        let inverse = c.inverse();
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| a[i * 3 + k] * inverse[k * 3 + j]).sum();
                assert!((v - f64::from(u8::from(i == j))).abs() < 1e-14, "{v}");
            }
        }
        // the third column is the sum of the first two
        let b = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 2.0];
        assert_eq!(Cholesky::factor(&b, 3).err(), Some(2));
        assert_eq!(Cholesky::factor(&[0.0], 1).err(), Some(0));
        assert_eq!(Cholesky::factor(&[f64::NAN], 1).err(), Some(0));
    }
}
