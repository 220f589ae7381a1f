//! What the generated-input tests of `persona-udfs` share: a seeded SplitMix64 generator and the
//! text of a caught panic. Included by `#[path]` from `aggregate_paths.rs`, `oracles.rs` and
//! `scalar_fuzz.rs`; not every test uses every method.
#![allow(dead_code)]

/// SplitMix64 (Steele, Lea & Flood 2014): a small generator whose stream never changes, so a
/// seed reproduces a case. [`Rng::at`] starts at `seed`; [`Rng::new`] mixes it first.
///
/// [`Rng::from_tape`] makes a generator for coverage-guided fuzzing: its first draws are read from
/// the fuzzer's bytes (eight per draw, little-endian), so the fuzzer's mutations of those bytes
/// steer the generated values and choices; when the bytes run out it goes on as SplitMix64.
pub struct Rng {
    state: u64,
    tape: Vec<u8>,
    at: usize,
}

impl Rng {
    pub fn at(seed: u64) -> Self {
        Self { state: seed, tape: Vec::new(), at: 0 }
    }

    pub fn new(seed: u64) -> Self {
        Self::at(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// Draws from `bytes` first, then from SplitMix64 seeded by their length.
    pub fn from_tape(bytes: &[u8]) -> Self {
        Self { state: bytes.len() as u64, tape: bytes.to_vec(), at: 0 }
    }

    pub fn next_u64(&mut self) -> u64 {
        if self.at < self.tape.len() {
            let end = (self.at + 8).min(self.tape.len());
            let mut word = [0u8; 8];
            word[..end - self.at].copy_from_slice(&self.tape[self.at..end]);
            self.at = end;
            return u64::from_le_bytes(word);
        }
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<T: Clone>(&mut self, values: &[T]) -> T {
        values[self.below(values.len())].clone()
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// The message of a panic caught by `catch_unwind` (empty when it is neither a `String` nor a `&str`).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_default()
}
