//! A small, version-stable random number generator for the demo lake.
//!
//! The generator must produce byte-identical lakes for a seed across releases and
//! platforms, so it does not depend on a crate whose streams may change: it uses
//! SplitMix64 (Steele, Lea & Flood 2014) and textbook samplers on top of it.

use std::f64::consts::TAU;

/// A SplitMix64 stream.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A stream determined by the lake seed and a path of stream keys
    /// (for example a table tag and a customer id).
    pub fn new(seed: u64, keys: &[u64]) -> Self {
        let mut state = mix(seed ^ 0x5045_5253_4f4e_4131); // "PERSONA1"
        for &key in keys {
            state = mix(state ^ mix(key.wrapping_add(0x9e37_79b9_7f4a_7c15)));
        }
        Self { state }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.state)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n); `n` must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        // Lemire's multiply-shift; the bias (< n / 2^64) is irrelevant here.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Standard normal by Box-Muller (one of the pair, so the stream stays simple).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
    }

    /// Log-normal with the given median and log-scale standard deviation.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Poisson: Knuth's product method below 30, a rounded normal above.
    pub fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda < 30.0 {
            let limit = (-lambda).exp();
            let mut k = 0;
            let mut product = self.uniform();
            while product > limit {
                k += 1;
                product *= self.uniform();
            }
            k
        } else {
            (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u32
        }
    }

    /// An index drawn with probability proportional to `weights`.
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut target = self.uniform() * total;
        for (i, w) in weights.iter().enumerate() {
            if target < *w {
                return i;
            }
            target -= w;
        }
        weights.len() - 1
    }

    /// A uniformly chosen element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(7, &[1, 2]).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::new(7, &[1, 2]).next_u64(), Rng::new(7, &[2, 1]).next_u64());
        assert_ne!(Rng::new(7, &[1]).next_u64(), Rng::new(8, &[1]).next_u64());
    }

    #[test]
    fn samplers_have_the_right_moments() {
        let mut rng = Rng::new(1, &[]);
        let n = 200_000;
        let mean = |f: &mut dyn FnMut() -> f64| (0..n).map(|_| f()).sum::<f64>() / f64::from(n);
        assert!((mean(&mut || rng.uniform()) - 0.5).abs() < 0.005);
        assert!(mean(&mut || rng.normal()).abs() < 0.01);
        assert!((mean(&mut || f64::from(rng.poisson(3.5))) - 3.5).abs() < 0.03);
        assert!((mean(&mut || f64::from(rng.poisson(80.0))) - 80.0).abs() < 0.2);
        let picks = (0..n).filter(|_| rng.weighted(&[1.0, 3.0]) == 1).count();
        assert!((picks as f64 / f64::from(n) - 0.75).abs() < 0.005);
    }
}
