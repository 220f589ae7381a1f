//! The months a demo lake covers, and Arrow date/time conversions.

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};

/// `months` calendar months starting on 2025-01-01.
#[derive(Debug, Clone, Copy)]
pub struct Calendar {
    start: NaiveDate,
    months: usize,
}

const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(date) => date,
    None => panic!("1970-01-01 is a date"),
};

pub const FIRST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(2025, 1, 1) {
    Some(date) => date,
    None => panic!("2025-01-01 is a date"),
};

impl Calendar {
    pub fn new(months: usize) -> Self {
        Self { start: FIRST_DAY, months }
    }

    pub fn start(&self) -> NaiveDate {
        self.start
    }

    pub fn months(&self) -> usize {
        self.months
    }

    pub fn first_year(&self) -> i32 {
        self.start.year()
    }

    /// First day of month `i` (0-based); month `months` is the day after the lake ends.
    pub fn month_start(&self, i: usize) -> NaiveDate {
        self.start + Months::new(i as u32)
    }

    /// The day after the last day of the lake (the natural as-of date).
    pub fn end(&self) -> NaiveDate {
        self.month_start(self.months)
    }

    pub fn days(&self) -> i64 {
        (self.end() - self.start).num_days()
    }

    /// `YYYY-MM` of month `i`, the value of the `month=` partitions.
    pub fn month_label(&self, i: usize) -> String {
        self.month_start(i).format("%Y-%m").to_string()
    }

    /// The month index of `date`, if the lake covers it.
    pub fn month_of(&self, date: NaiveDate) -> Option<usize> {
        let i = (date.year() - self.start.year()) * 12 + date.month() as i32 - 1;
        usize::try_from(i).ok().filter(|&i| i < self.months)
    }
}

/// Days since the Unix epoch (Arrow `Date32`).
pub fn date32(date: NaiveDate) -> i32 {
    (date - EPOCH).num_days() as i32
}

/// Microseconds since the Unix epoch of a naive local time (Arrow `Timestamp(µs)`).
pub fn timestamp_micros(ts: NaiveDateTime) -> i64 {
    ts.and_utc().timestamp_micros()
}
