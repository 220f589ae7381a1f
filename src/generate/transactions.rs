//! The `transactions` table: card and credit-line spending, one row per transaction,
//! partitioned by month. Frequency and amounts are heavy-tailed; volume follows the
//! Chinese shopping calendar (see `SEASONALITY`), with a spike on 11 November.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, Duration, NaiveTime};
use datafusion::common::Result;

use super::calendar::{timestamp_micros, Calendar};
use super::customers::{weighted_label, Customer};
use super::reference::{MERCHANT_CATEGORIES, ONLINE_CHANNELS, SEASONALITY};
use super::rng::Rng;
use super::stream;

/// Share of transactions that are refunds (negative amounts).
pub const REFUND_SHARE: f64 = 0.005;

/// Relative activity by hour of day: a lunch peak and an evening peak.
pub const HOURLY: [f64; 24] = [
    1.0, 0.6, 0.3, 0.2, 0.2, 0.3, 0.8, 2.0, 3.5, 4.0, 4.5, 5.5, 7.0, 6.0, 4.5, 4.0, 4.0, 4.5, 6.0, 6.5, 7.0, 7.0, 5.5,
    3.0,
];

/// Column builders for one month of one chunk.
pub struct MonthBuilder {
    txn_id: Int64Builder,
    customer_id: Int64Builder,
    txn_ts: TimestampMicrosecondBuilder,
    amount: Float64Builder,
    merchant_category: StringBuilder,
    channel: StringBuilder,
}

impl MonthBuilder {
    pub fn new() -> Self {
        Self {
            txn_id: Int64Builder::new(),
            customer_id: Int64Builder::new(),
            txn_ts: TimestampMicrosecondBuilder::new(),
            amount: Float64Builder::new(),
            merchant_category: StringBuilder::new(),
            channel: StringBuilder::new(),
        }
    }

    /// Appends one transaction.
    pub fn push(&mut self, txn_id: i64, customer_id: i64, ts: i64, amount: f64, category: &str, channel: &str) {
        self.txn_id.append_value(txn_id);
        self.customer_id.append_value(customer_id);
        self.txn_ts.append_value(ts);
        self.amount.append_value(amount);
        self.merchant_category.append_value(category);
        self.channel.append_value(channel);
    }

    pub fn finish(mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.txn_id.finish()),
            Arc::new(self.customer_id.finish()),
            Arc::new(self.txn_ts.finish()),
            Arc::new(self.amount.finish()),
            Arc::new(self.merchant_category.finish()),
            Arc::new(self.channel.finish()),
        ];
        Ok(RecordBatch::try_new(schema(), columns)?)
    }
}

pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("txn_id", DataType::Int64, false),
        Field::new("customer_id", DataType::Int64, false),
        Field::new("txn_ts", DataType::Timestamp(TimeUnit::Microsecond, None), false),
        Field::new("amount", DataType::Float64, false),
        Field::new("merchant_category", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, false),
    ]))
}

/// The customer's relative preference for each of [`MERCHANT_CATEGORIES`] (the first draws of
/// the transaction stream) and that stream, ready for the transactions.
pub fn category_weights(seed: u64, customer: &Customer) -> (Vec<f64>, Rng) {
    let mut rng = Rng::new(seed, &[stream::TRANSACTION, customer.id as u64]);
    let weights = MERCHANT_CATEGORIES.iter().map(|(_, share, _, _)| share * rng.lognormal(1.0, 0.6)).collect();
    (weights, rng)
}

/// Share of transactions written twice (a planted data-quality defect: the same row, same
/// `txn_id`, as a replayed load would leave).
pub const DUPLICATE_SHARE: f64 = 0.001;

/// Appends the customer's transactions to the month builders and returns how many and how many
/// of them were written twice ([`DUPLICATE_SHARE`]).
/// `txn_id = customer_id * 100_000 + n` for the customer's n-th transaction.
pub fn append(seed: u64, customer: &Customer, calendar: &Calendar, months: &mut [MonthBuilder]) -> (i64, u64) {
    let (category_weights, mut rng) = category_weights(seed, customer);
    let mut defects = Rng::new(seed, &[stream::DEFECT, customer.id.unsigned_abs(), 1]);
    let mut duplicates = 0;
    let mut n: i64 = 0;
    for (i, builder) in months.iter_mut().enumerate() {
        if customer.churn_month.is_some_and(|churn| i >= churn) {
            break;
        }
        let month_start = calendar.month_start(i);
        let month_end = calendar.month_start(i + 1);
        let first_day = customer.signup_date.max(month_start);
        if first_day >= month_end {
            continue;
        }
        let active_days = (month_end - first_day).num_days();
        let month_days = (month_end - month_start).num_days();
        let season = SEASONALITY[month_start.month0() as usize];
        let lambda = customer.activity * season * active_days as f64 / month_days as f64;
        let count = rng.poisson(lambda).min(9_999 / calendar.months().max(1) as u32);
        for _ in 0..count {
            let singles_day = month_start.month() == 11 && first_day.day() <= 11 && rng.chance(0.25);
            let day = if singles_day {
                month_start + Duration::days(10)
            } else {
                first_day + Duration::days(rng.below(active_days as u64) as i64)
            };
            let time = NaiveTime::from_num_seconds_from_midnight_opt(
                rng.weighted(&HOURLY) as u32 * 3_600 + rng.below(3_600) as u32,
                0,
            )
            .unwrap_or_default();
            let category = rng.weighted(&category_weights);
            let (name, _, median, in_store) = MERCHANT_CATEGORIES[category];
            let mut amount = (rng.lognormal(median * customer.spend_level, 0.8) * 100.0).round().max(1.0) / 100.0;
            if rng.chance(REFUND_SHARE) {
                amount = -amount;
            }
            n += 1;
            let channel = if rng.chance(in_store) { "pos" } else { weighted_label(&mut rng, ONLINE_CHANNELS) };
            let ts = timestamp_micros(day.and_time(time));
            builder.push(customer.id * 100_000 + n, customer.id, ts, amount, name, channel);
            if defects.chance(DUPLICATE_SHARE) {
                builder.push(customer.id * 100_000 + n, customer.id, ts, amount, name, channel);
                duplicates += 1;
            }
        }
    }
    (n, duplicates)
}
