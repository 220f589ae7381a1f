//! The distinct purchase days (or hashed order keys) of one `rfm` group.

use std::mem::size_of;

/// Widest span of days kept as a bitmap: 64 words of 64 days, about 11 years, 512 bytes.
const MAX_WORDS: i64 = 64;

/// Words of days held inside the state, without a heap allocation: any span of 385 days
/// (a year of purchases) fits.
const INLINE_WORDS: usize = 7;

/// A set of purchase days or of 64-bit order-key hashes.
///
/// Days are a bitmap of 64-day words starting at word `first_word` (day `64 * first_word`)
/// while the group's days span at most [`MAX_WORDS`] words: a month of purchases costs one or
/// two words, no sorting and no per-purchase memory; up to [`INLINE_WORDS`] words live in the
/// state itself (`Near`), wider spans on the heap (`Days`). A wider span, and hashed order keys, are a
/// list that is deduplicated lazily (sorted when it has doubled since the last deduplication).
/// Days in the list are stored as `i64::from(day) as u64`, as [`DistinctKeys::append_keys`] writes them.
#[derive(Debug, Default, Clone)]
pub(super) enum DistinctKeys {
    #[default]
    Empty,
    Near {
        first_word: i64,
        words: [u64; INLINE_WORDS],
    },
    Days {
        first_word: i64,
        words: Vec<u64>,
    },
    List {
        keys: Vec<u64>,
        /// Length of the list after its last deduplication.
        distinct_prefix: usize,
    },
}

/// The key a day has in the list form.
#[allow(clippy::cast_sign_loss)]
pub(super) fn day_key(day: i64) -> u64 {
    day as u64
}

/// Sorts and deduplicates `keys`; returns the distinct count.
fn sort_dedup(keys: &mut Vec<u64>) -> usize {
    keys.sort_unstable();
    keys.dedup();
    keys.len()
}

impl DistinctKeys {
    /// Adds a purchase day (days since 1970-01-01).
    pub(super) fn insert_day(&mut self, day: i32) {
        let day = i64::from(day);
        let (word, bit) = (day.div_euclid(64), 1u64 << day.rem_euclid(64));
        match self {
            Self::Empty => {
                let mut words = [0; INLINE_WORDS];
                words[0] = bit;
                *self = Self::Near { first_word: word, words };
            }
            Self::Near { first_word, words } => {
                let offset = word - *first_word;
                if let Some(w) = usize::try_from(offset).ok().and_then(|o| words.get_mut(o)) {
                    *w |= bit;
                    return;
                }
                // an earlier day: shift the words up if the span still fits inline
                let shift = usize::try_from(-offset).unwrap_or(INLINE_WORDS);
                let used = words.iter().rposition(|&w| w != 0).map_or(0, |last| last + 1);
                if offset < 0 && shift + used <= INLINE_WORDS {
                    words.copy_within(0..used, shift);
                    words[..shift].fill(0);
                    words[0] = bit;
                    *first_word = word;
                    return;
                }
                *self = Self::Days { first_word: *first_word, words: words[..used.max(1)].to_vec() };
                self.insert_day_on_heap(word, bit, day);
            }
            Self::Days { .. } => self.insert_day_on_heap(word, bit, day),
            Self::List { .. } => self.insert_key(day_key(day)),
        }
    }

    /// [`Self::insert_day`] for a bitmap on the heap.
    fn insert_day_on_heap(&mut self, word: i64, bit: u64, day: i64) {
        let Self::Days { first_word, words } = self else { return };
        let offset = word - *first_word;
        if let Some(w) = usize::try_from(offset).ok().and_then(|o| words.get_mut(o)) {
            *w |= bit;
            return;
        }
        let last_word = *first_word + words.len() as i64 - 1;
        let (first, last) = ((*first_word).min(word), last_word.max(word));
        if last - first >= MAX_WORDS {
            self.spill_to_list();
            self.insert_key(day_key(day));
            return;
        }
        // both differences are below MAX_WORDS here
        let front = usize::try_from(*first_word - first).unwrap_or_default();
        let len = usize::try_from(last - first + 1).unwrap_or_default();
        if len > words.capacity() {
            // grow by doubling, but never past the cap
            let capacity = (2 * words.capacity()).clamp(len, MAX_WORDS as usize);
            words.reserve_exact(capacity - words.len());
        }
        if front > 0 {
            words.splice(0..0, std::iter::repeat_n(0, front));
            *first_word = first;
        }
        words.resize(len, 0);
        words[usize::try_from(word - first).unwrap_or_default()] |= bit;
    }

    /// Adds an order-key hash (or a day in its list form).
    pub(super) fn insert_key(&mut self, key: u64) {
        match self {
            Self::Empty => *self = Self::List { keys: vec![key], distinct_prefix: 1 },
            Self::Near { .. } | Self::Days { .. } => {
                self.spill_to_list();
                self.insert_key(key);
            }
            Self::List { keys, distinct_prefix } => {
                if keys.last() == Some(&key) {
                    return;
                }
                keys.push(key);
                if keys.len() > 2 * *distinct_prefix + 16 {
                    *distinct_prefix = sort_dedup(keys);
                }
            }
        }
    }

    /// Turns the bitmap into the list form.
    fn spill_to_list(&mut self) {
        let mut keys = Vec::new();
        self.append_keys(&mut keys);
        let distinct_prefix = keys.len();
        *self = Self::List { keys, distinct_prefix };
    }

    /// The bitmap (first word, words) of the inline and heap forms.
    fn bitmap(&self) -> Option<(i64, &[u64])> {
        match self {
            Self::Near { first_word, words } => Some((*first_word, words)),
            Self::Days { first_word, words } => Some((*first_word, words)),
            Self::Empty | Self::List { .. } => None,
        }
    }

    /// Appends every distinct key (days in their list form) to `out`.
    pub(super) fn append_keys(&mut self, out: &mut Vec<u64>) {
        if let Some((first_word, words)) = self.bitmap() {
            append_days(first_word, words, out);
        } else if let Self::List { keys, distinct_prefix } = self {
            *distinct_prefix = sort_dedup(keys);
            out.extend_from_slice(keys);
        }
    }

    /// The bitmap to ship in a partial state: its first word with a set bit and the words from
    /// there to the last word with a set bit (none for an empty bitmap); `None` in the list form.
    pub(super) fn shipped_bitmap(&self) -> Option<(i64, &[u64])> {
        self.bitmap().map(|(first_word, words)| trimmed(first_word, words))
    }

    /// The number of values [`Self::shipped_bitmap`] or [`Self::append_keys`] ships, at most
    /// (a list not yet deduplicated counts its repeats).
    pub(super) fn shipped_len(&self) -> usize {
        match self {
            Self::Empty => 0,
            Self::List { keys, .. } => keys.len(),
            Self::Near { .. } | Self::Days { .. } => self.shipped_bitmap().map_or(0, |(_, words)| words.len()),
        }
    }

    /// Adds the days of a bitmap whose first word is word `first_word` (day `64 * first_word`):
    /// the bitmaps are or-ed when their union spans at most [`MAX_WORDS`] words (inline up to
    /// [`INLINE_WORDS`]), else its days are inserted one by one, which moves the set to the list.
    ///
    /// # Errors
    /// A set bit that is not a day of `i32` (a malformed partial state), as the message for
    /// the caller to report.
    pub(super) fn union_bitmap(&mut self, first_word: i64, words: &[u64]) -> Result<(), String> {
        let (first_word, words) = trimmed(first_word, words);
        if words.is_empty() {
            return Ok(());
        }
        let mine = match self {
            Self::Empty => Some((first_word, &[][..])),
            Self::Near { .. } | Self::Days { .. } => self.bitmap().map(|(f, w)| trimmed(f, w)),
            Self::List { .. } => None,
        };
        let span = mine.and_then(|(mine_first, mine_words)| {
            let start = mine_first.min(first_word);
            let end = (mine_first.checked_add(i64::try_from(mine_words.len()).ok()?)?)
                .max(first_word.checked_add(i64::try_from(words.len()).ok()?)?);
            let len = end.checked_sub(start)?;
            (len <= MAX_WORDS).then_some((start, usize::try_from(len).ok()?, mine_first, mine_words))
        });
        if let Some((start, len, mine_first, mine_words)) = span {
            let mut buffer = [0u64; MAX_WORDS as usize];
            let union = &mut buffer[..len];
            for (from, part) in [(mine_first, mine_words), (first_word, words)] {
                // both offsets are within 0..len: the union spans both bitmaps
                let offset = usize::try_from(from - start).unwrap_or_default();
                for (to, &word) in union[offset..].iter_mut().zip(part) {
                    *to |= word;
                }
            }
            *self = if len <= INLINE_WORDS {
                let mut inline = [0; INLINE_WORDS];
                inline[..len].copy_from_slice(union);
                Self::Near { first_word: start, words: inline }
            } else {
                Self::Days { first_word: start, words: union.to_vec() }
            };
            return Ok(());
        }
        for day in days_of(first_word, words) {
            let day = day
                .and_then(|d| i32::try_from(d).ok())
                .ok_or_else(|| format!("a bitmap from word {first_word} holds days that are not dates"))?;
            self.insert_day(day);
        }
        Ok(())
    }

    /// The number of distinct keys.
    pub(super) fn len(&mut self) -> usize {
        if let Some((_, words)) = self.bitmap() {
            words.iter().map(|w| w.count_ones() as usize).sum()
        } else if let Self::List { keys, distinct_prefix } = self {
            *distinct_prefix = sort_dedup(keys);
            keys.len()
        } else {
            0
        }
    }

    /// Bytes held on the heap.
    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            Self::Empty | Self::Near { .. } => 0,
            Self::Days { words, .. } => words.capacity() * size_of::<u64>(),
            Self::List { keys, .. } => keys.capacity() * size_of::<u64>(),
        }
    }
}

/// The words of a bitmap from its first to its last word with a set bit, and the index of the
/// first (`first_word` and no words when none is set).
fn trimmed(first_word: i64, words: &[u64]) -> (i64, &[u64]) {
    match (words.iter().position(|&w| w != 0), words.iter().rposition(|&w| w != 0)) {
        (Some(first), Some(last)) => {
            (first_word.saturating_add(i64::try_from(first).unwrap_or_default()), &words[first..=last])
        }
        _ => (first_word, &[]),
    }
}

/// Appends the days of a bitmap starting at word `first_word`, in their list form.
fn append_days(first_word: i64, words: &[u64], out: &mut Vec<u64>) {
    // a bitmap built from days of i32 has no day past i64
    out.extend(days_of(first_word, words).flatten().map(day_key));
}

/// The days of a bitmap starting at word `first_word`, ascending; `None` for a day past the
/// range of i64 (only a malformed bitmap, from a partial state, has one).
fn days_of(first_word: i64, words: &[u64]) -> impl Iterator<Item = Option<i64>> + '_ {
    words.iter().enumerate().flat_map(move |(index, &word)| {
        let base = i64::try_from(index).ok().and_then(|i| first_word.checked_add(i)).and_then(|w| w.checked_mul(64));
        // the set bits of `word`, lowest first
        std::iter::successors(Some(word), |&rest| Some(rest & rest.wrapping_sub(1)))
            .take_while(|&rest| rest != 0)
            .map(move |rest| base.and_then(|b| b.checked_add(i64::from(rest.trailing_zeros()))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(set: &mut DistinctKeys) -> Vec<i64> {
        let mut keys = Vec::new();
        set.append_keys(&mut keys);
        #[allow(clippy::cast_possible_wrap)]
        let mut days: Vec<i64> = keys.into_iter().map(|k| k as i64).collect();
        days.sort_unstable();
        days
    }

    #[test]
    fn days_in_any_order_and_sign_are_counted_once() {
        let mut set = DistinctKeys::default();
        for day in [130, 80, -3, 130, -70, 80, 0, 63, 64, -64, -65] {
            set.insert_day(day);
        }
        assert!(matches!(set, DistinctKeys::Near { .. }));
        assert_eq!(set.heap_bytes(), 0);
        assert_eq!(set.len(), 9);
        assert_eq!(days(&mut set), vec![-70, -65, -64, -3, 0, 63, 64, 80, 130]);
    }

    #[test]
    fn a_wide_span_moves_to_the_list_and_keeps_every_day() {
        let mut set = DistinctKeys::default();
        set.insert_day(10);
        set.insert_day(11);
        set.insert_day(10 + 64 * 64);
        assert!(matches!(set, DistinctKeys::List { .. }));
        set.insert_day(11);
        set.insert_day(i32::MIN);
        set.insert_day(i32::MAX);
        assert_eq!(set.len(), 5);
        assert_eq!(days(&mut set), vec![i64::from(i32::MIN), 10, 11, 10 + 64 * 64, i64::from(i32::MAX)]);
        assert!(set.heap_bytes() >= 5 * 8);
    }

    #[test]
    fn the_bitmap_never_exceeds_its_cap() {
        let mut set = DistinctKeys::default();
        for day in (0..64 * 64).step_by(7) {
            set.insert_day(day);
        }
        assert!(matches!(set, DistinctKeys::Days { .. }));
        assert!(set.heap_bytes() <= 64 * 8);
        assert_eq!(set.len(), (0..64 * 64).step_by(7).count());
    }

    #[test]
    fn a_year_stays_inline_and_a_longer_span_moves_to_the_heap() {
        // 385 days in any order fit the 7 inline words; earlier days shift them up
        let mut set = DistinctKeys::default();
        for day in (20_000..20_385).rev().step_by(3).chain((20_000..20_385).step_by(5)) {
            set.insert_day(day);
        }
        assert!(matches!(set, DistinctKeys::Near { .. }));
        let expected: Vec<i64> = (20_000..20_385).filter(|d| (20_384 - d) % 3 == 0 || (d - 20_000) % 5 == 0).collect();
        assert_eq!(days(&mut set), expected);
        // a day 500 days earlier needs 15 words: on the heap, every day kept
        set.insert_day(19_500);
        assert!(matches!(set, DistinctKeys::Days { .. }));
        assert!(set.heap_bytes() >= 8 * 8);
        let mut with_early = vec![19_500];
        with_early.extend(&expected);
        assert_eq!(days(&mut set), with_early);
        assert_eq!(set.len(), with_early.len());
    }

    #[test]
    fn an_earlier_day_that_does_not_fit_inline_keeps_the_later_ones() {
        let mut set = DistinctKeys::default();
        set.insert_day(64 * 6 + 5); // word 6
        set.insert_day(64 * 2); // word 2: shifts by 4, fits
        assert!(matches!(set, DistinctKeys::Near { .. }));
        set.insert_day(-64 * 3); // word -3: span of 10 words
        assert!(matches!(set, DistinctKeys::Days { .. }));
        assert_eq!(days(&mut set), vec![-64 * 3, 64 * 2, 64 * 6 + 5]);
    }

    /// A set of these days, built a day at a time.
    fn of_days(days: impl IntoIterator<Item = i32>) -> DistinctKeys {
        let mut set = DistinctKeys::default();
        days.into_iter().for_each(|day| set.insert_day(day));
        set
    }

    #[test]
    fn shipped_bitmaps_unite_as_their_days_do() {
        let year: Vec<i32> = (20_000..20_365).step_by(11).collect();
        let cases: Vec<(Vec<i32>, Vec<i32>)> = vec![
            // into an empty set; overlapping months; disjoint halves of a year (inline)
            (vec![], year.clone()),
            (year[..20].to_vec(), year[10..].to_vec()),
            (year[..17].to_vec(), year[17..].to_vec()),
            // later into earlier and earlier into later, together wider than the inline words
            (vec![20_000, 20_001], vec![21_000, 21_500]),
            (vec![21_500], vec![20_000, 20_640]),
            // together wider than the bitmap's cap: the list form
            (vec![10, 70], vec![64 * 64 + 5, 64 * 10]),
            // a list already, and negative days
            (vec![0, 64 * 70], vec![-1, -64, -65]),
            (vec![-300, -5], vec![-130, 7]),
        ];
        for (mine, theirs) in cases {
            let mut expected = of_days(mine.iter().chain(&theirs).copied());
            let mut set = of_days(mine.iter().copied());
            let shipped = of_days(theirs.iter().copied());
            match shipped.shipped_bitmap() {
                Some((first_word, words)) => {
                    assert!(words.first().is_some_and(|&w| w != 0) && words.last().is_some_and(|&w| w != 0));
                    assert_eq!(shipped.shipped_len(), words.len());
                    set.union_bitmap(first_word, words).expect("days of i32");
                }
                None => panic!("{theirs:?} ships as a bitmap"),
            }
            assert_eq!(days(&mut set), days(&mut expected), "{mine:?} + {theirs:?}");
            assert_eq!(set.len(), expected.len());
        }
        // words with zeros at either end and an empty bitmap are trimmed (word -2 + 2 = 0 holds
        // day 3; an untrimmed union would span up to word 40)
        let mut set = of_days([5]);
        set.union_bitmap(-2, &[0, 0, 1 << 3, 0]).expect("days of i32");
        set.union_bitmap(40, &[0, 0]).expect("nothing");
        assert!(matches!(set, DistinctKeys::Near { first_word: 0, .. }));
        assert_eq!(days(&mut set), vec![3, 5]);
        // far enough: the days are inserted one by one (into the list form)
        let mut set = of_days([5]);
        set.union_bitmap(1_000, &[1, 1 << 63]).expect("days of i32");
        assert!(matches!(set, DistinctKeys::List { .. }));
        assert_eq!(days(&mut set), vec![5, 64_000, 64_127]);
    }

    #[test]
    fn a_bitmap_of_days_beyond_i32_is_an_error() {
        let mut set = of_days([5]);
        let message = set.union_bitmap(i64::MAX / 2, &[1]).expect_err("not a date");
        assert!(message.contains("not dates"), "{message}");
        assert_eq!(days(&mut set), vec![5]);
    }

    #[test]
    fn hashed_keys_are_deduplicated() {
        let mut set = DistinctKeys::default();
        for key in (0..1000u64).chain(0..1000).rev() {
            set.insert_key(key % 300);
        }
        assert_eq!(set.len(), 300);
    }
}
