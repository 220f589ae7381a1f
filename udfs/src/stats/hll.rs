//! Distinct counts: HyperLogLog with precision 14 (16 384 one-byte registers, relative standard
//! error 1.04 / sqrt(16 384) ≈ 0.81 %) behind an exact sparse start — the first
//! [`SPARSE_LIMIT`] distinct 64-bit hashes are kept as they are, so a small cardinality is exact
//! up to 64-bit hash collisions. Hashes come from DataFusion's fixed-seed HyperLogLog hash state
//! (foldhash, platform independent), so sketches built on different partitions, processes or
//! machines merge.

use std::collections::HashSet;

use datafusion::common::{exec_err, Result};

const PRECISION: u32 = 14;
const REGISTERS: usize = 1 << PRECISION;
/// Distinct hashes kept exactly before the sketch turns into registers.
pub(crate) const SPARSE_LIMIT: usize = 1024;

#[derive(Debug, Default, Clone)]
pub(crate) struct Hll {
    sparse: HashSet<u64>,
    dense: Option<Box<[u8]>>,
}

impl Hll {
    pub(crate) fn add(&mut self, hash: u64) {
        if let Some(registers) = &mut self.dense {
            set_register(registers, hash);
        } else {
            self.sparse.insert(hash);
            if self.sparse.len() > SPARSE_LIMIT {
                self.densify();
            }
        }
    }

    fn densify(&mut self) -> &mut [u8] {
        let sparse = std::mem::take(&mut self.sparse);
        let registers = self.dense.get_or_insert_with(|| vec![0u8; REGISTERS].into_boxed_slice());
        for hash in sparse {
            set_register(registers, hash);
        }
        registers
    }

    #[cfg(test)]
    pub(crate) fn merge(&mut self, other: &Hll) {
        if let Some(theirs) = &other.dense {
            let mine = self.densify();
            for (a, b) in mine.iter_mut().zip(theirs.iter()) {
                *a = (*a).max(*b);
            }
        } else {
            for &hash in &other.sparse {
                self.add(hash);
            }
        }
    }

    /// The distinct count and whether it is exact (the sketch is still sparse).
    pub(crate) fn count(&self) -> (u64, bool) {
        let Some(registers) = &self.dense else {
            return (self.sparse.len() as u64, true);
        };
        let m = REGISTERS as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = registers.iter().map(|&r| (-f64::from(r)).exp2()).sum();
        let zeros = registers.iter().filter(|&&r| r == 0).count();
        let raw = alpha * m * m / sum;
        let estimate = if raw <= 2.5 * m && zeros > 0 { m * (m / zeros as f64).ln() } else { raw };
        (estimate.round() as u64, false)
    }

    /// Heap bytes.
    pub(crate) fn size(&self) -> usize {
        self.sparse.capacity() * 2 * size_of::<u64>() + self.dense.as_ref().map_or(0, |r| r.len())
    }

    /// Tag 0 and the sparse hashes (ascending, little-endian), or tag 1 and the registers.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        if let Some(registers) = &self.dense {
            let mut out = Vec::with_capacity(1 + REGISTERS);
            out.push(1);
            out.extend_from_slice(registers);
            out
        } else {
            let mut hashes: Vec<u64> = self.sparse.iter().copied().collect();
            hashes.sort_unstable();
            let mut out = Vec::with_capacity(1 + 8 * hashes.len());
            out.push(0);
            for h in hashes {
                out.extend_from_slice(&h.to_le_bytes());
            }
            out
        }
    }

    /// Merges a state written by [`Hll::to_bytes`]; anything else is an error naming `function`.
    pub(crate) fn merge_bytes(&mut self, bytes: &[u8], function: &str) -> Result<()> {
        match bytes.split_first() {
            None => Ok(()),
            Some((0, hashes)) if hashes.len() % 8 == 0 => {
                for chunk in hashes.chunks_exact(8) {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(chunk);
                    self.add(u64::from_le_bytes(word));
                }
                Ok(())
            }
            Some((1, registers)) if registers.len() == REGISTERS && registers.iter().all(|&r| r <= 64) => {
                let mine = self.densify();
                for (a, b) in mine.iter_mut().zip(registers) {
                    *a = (*a).max(*b);
                }
                Ok(())
            }
            Some(_) => exec_err!("{function}: malformed distinct-count state of {} bytes", bytes.len()),
        }
    }
}

fn set_register(registers: &mut [u8], hash: u64) {
    let index = (hash >> (64 - PRECISION)) as usize;
    // rank of the first 1 bit among the remaining 50 bits (1-based), capped by a sentinel bit
    let rest = (hash << PRECISION) | (1 << (PRECISION - 1));
    let rank = (rest.leading_zeros() + 1) as u8;
    if let Some(r) = registers.get_mut(index) {
        *r = (*r).max(rank);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    fn hash(i: u64) -> u64 {
        datafusion::common::hash_utils::HLL_RANDOM_STATE.hash_one(i)
    }

    #[test]
    fn small_counts_are_exact() {
        let mut h = Hll::default();
        for i in 0..1000 {
            h.add(hash(i % 700));
        }
        assert_eq!(h.count(), (700, true));
    }

    #[test]
    fn large_counts_are_within_three_standard_errors_and_merge() {
        for n in [5_000u64, 100_000, 1_000_000] {
            let (mut a, mut b) = (Hll::default(), Hll::default());
            for i in 0..n {
                if i % 3 == 0 {
                    a.add(hash(i))
                } else {
                    b.add(hash(i))
                }
            }
            let mut c = Hll::default();
            c.merge_bytes(&a.to_bytes(), "t").unwrap();
            c.merge_bytes(&b.to_bytes(), "t").unwrap();
            a.merge(&b);
            assert_eq!(a.count(), c.count());
            let (estimate, exact) = a.count();
            assert!(!exact);
            let error = (estimate as f64 - n as f64).abs() / n as f64;
            assert!(error < 3.0 * 0.0081, "n {n}: estimate {estimate}");
        }
    }

    #[test]
    fn malformed_states_are_errors() {
        let mut h = Hll::default();
        assert!(h.merge_bytes(&[0, 1, 2], "f").is_err());
        assert!(h.merge_bytes(&[1, 1], "f").is_err());
        assert!(h.merge_bytes(&[7], "f").is_err());
        assert!(h.merge_bytes(&[], "f").is_ok());
    }
}
