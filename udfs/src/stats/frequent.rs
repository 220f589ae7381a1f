//! The most frequent values of a column: a Misra–Gries summary with batched reduction (as Apache
//! DataSketches' frequent-items sketch). At most [`CAPACITY`] values are counted; when a new value
//! finds the table full, the median count is subtracted from every counter, values at or below it
//! are dropped and `offset` grows by it. Every kept count is a lower bound with
//! `true - offset <= count <= true`; with `offset == 0` (at most `CAPACITY` distinct values
//! seen) the counts are exact. Summaries merge by adding counts and offsets.

use std::collections::HashMap;

pub(crate) const CAPACITY: usize = 512;

#[derive(Debug, Default, Clone)]
pub(crate) struct FrequentItems {
    counts: HashMap<String, u64>,
    /// Sum of the medians subtracted so far: the largest undercount of any value.
    pub(crate) offset: u64,
    /// Heap bytes of the keys.
    key_bytes: usize,
}

impl FrequentItems {
    pub(crate) fn add(&mut self, value: &str) {
        if let Some(count) = self.counts.get_mut(value) {
            *count += 1;
        } else {
            self.insert(value.to_owned(), 1);
        }
    }

    pub(crate) fn insert(&mut self, value: String, count: u64) {
        if let Some(c) = self.counts.get_mut(&value) {
            *c += count;
            return;
        }
        if self.counts.len() >= CAPACITY {
            self.reduce();
        }
        self.key_bytes += value.capacity();
        self.counts.insert(value, count);
    }

    fn reduce(&mut self) {
        let mut counts: Vec<u64> = self.counts.values().copied().collect();
        let middle = counts.len() / 2;
        let median = *counts.select_nth_unstable(middle).1;
        let mut freed = 0;
        self.counts.retain(|value, count| {
            if *count > median {
                *count -= median;
                true
            } else {
                freed += value.capacity();
                false
            }
        });
        self.key_bytes -= freed;
        self.offset += median;
    }

    pub(crate) fn merge(&mut self, values: impl IntoIterator<Item = (String, u64)>, offset: u64) {
        for (value, count) in values {
            self.insert(value, count);
        }
        self.offset += offset;
    }

    /// Every kept value with its count, most frequent first (ties by value).
    pub(crate) fn sorted(&self) -> Vec<(&str, u64)> {
        let mut items: Vec<(&str, u64)> = self.counts.iter().map(|(v, c)| (v.as_str(), *c)).collect();
        items.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        items
    }

    pub(crate) fn size(&self) -> usize {
        self.key_bytes + self.counts.capacity() * (size_of::<String>() + size_of::<u64>() + 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_values_are_counted_exactly() {
        let mut f = FrequentItems::default();
        for (i, v) in ["a", "b", "a", "c", "a", "b"].iter().enumerate() {
            f.add(v);
            assert_eq!(f.offset, 0, "{i}");
        }
        assert_eq!(f.sorted(), vec![("a", 3), ("b", 2), ("c", 1)]);
    }

    #[test]
    fn heavy_hitters_survive_many_distinct_values_within_the_bound() {
        let mut f = FrequentItems::default();
        let mut n = 0u64;
        for i in 0..200_000u64 {
            f.add(&format!("rare{i}"));
            n += 1;
            if i % 4 == 0 {
                f.add("heavy");
                n += 1;
            }
        }
        let top = f.sorted();
        assert_eq!(top[0].0, "heavy");
        assert!(top[0].1 <= 50_000 && top[0].1 + f.offset >= 50_000);
        assert!(f.offset <= 2 * n / CAPACITY as u64, "offset {} n {n}", f.offset);
        assert!(f.counts.len() <= CAPACITY);
    }
}
