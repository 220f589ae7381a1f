//! Planted fraud: on [`FRAUD_SHARE`] of the customers, one fraud episode in one month, with its
//! transactions labelled in the `fraud_labels` table (the answer key `sql/fraud_monitor.sql`
//! scores its alerts against). Three patterns, one per episode, equally likely:
//!
//! - `account_takeover`: a burst of 4–8 online purchases of electronics, digital services or
//!   travel a few minutes apart, starting between midnight and 5 a.m., about 2,000 RMB each;
//! - `amount_spike`: one purchase in a category the customer uses, at a usual hour, 10–30 times
//!   the customer's typical amount for it;
//! - `night_new_category`: one or two online purchases between 1 and 5 a.m. in the customer's
//!   least-used category, about twice its typical amount.
//!
//! Episodes fall in the third month or later (so there is history to compare with), at least 30
//! days after signup and before churn. They draw from their own random stream, so the rest of
//! the lake is the same with or without them.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{Duration, NaiveTime};
use datafusion::common::Result;

use super::calendar::{timestamp_micros, Calendar};
use super::customers::Customer;
use super::reference::MERCHANT_CATEGORIES;
use super::rng::Rng;
use super::stream;
use super::transactions::{category_weights, MonthBuilder, HOURLY};

/// Share of customers with a fraud episode.
pub const FRAUD_SHARE: f64 = 0.03;

/// The first month index an episode can fall in.
pub const FIRST_FRAUD_MONTH: usize = 2;

/// The planted patterns and what they look like, for `_truth.json`.
pub const PATTERNS: &[(&str, &str)] = &[
    (
        "account_takeover",
        "4-8 online purchases (electronics, digital_services, travel) 1-5 minutes apart from a start between 00:00 and 05:00, about 2,000 RMB each",
    ),
    ("amount_spike", "one purchase in a category the customer uses, at a usual hour, 10-30 times the customer's typical amount"),
    (
        "night_new_category",
        "1-2 online purchases between 01:00 and 05:00 in the customer's least-used category, about twice its typical amount",
    ),
];

/// Categories account takeovers buy: resellable goods and vouchers.
const TAKEOVER_CATEGORIES: [&str; 3] = ["electronics", "digital_services", "travel"];

/// The rows of `fraud_labels`.
pub struct LabelBuilder {
    txn_id: Int64Builder,
    customer_id: Int64Builder,
    txn_ts: TimestampMicrosecondBuilder,
    pattern: StringBuilder,
}

impl LabelBuilder {
    pub fn new() -> Self {
        Self {
            txn_id: Int64Builder::new(),
            customer_id: Int64Builder::new(),
            txn_ts: TimestampMicrosecondBuilder::new(),
            pattern: StringBuilder::new(),
        }
    }

    pub fn finish(mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.txn_id.finish()),
            Arc::new(self.customer_id.finish()),
            Arc::new(self.txn_ts.finish()),
            Arc::new(self.pattern.finish()),
        ];
        Ok(RecordBatch::try_new(schema(), columns)?)
    }
}

/// The schema of `fraud_labels`: one row per planted fraudulent transaction.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("txn_id", DataType::Int64, false),
        Field::new("customer_id", DataType::Int64, false),
        Field::new("txn_ts", DataType::Timestamp(TimeUnit::Microsecond, None), false),
        Field::new("pattern", DataType::Utf8, false),
    ]))
}

/// One planted transaction before it is written.
struct Planted {
    ts: i64,
    amount: f64,
    category: &'static str,
    channel: &'static str,
}

/// Plants the customer's fraud episode, if any, after their `n` ordinary transactions.
pub fn append(
    seed: u64,
    customer: &Customer,
    calendar: &Calendar,
    n: i64,
    months: &mut [MonthBuilder],
    labels: &mut LabelBuilder,
) {
    let mut rng = Rng::new(seed, &[stream::FRAUD, customer.id as u64]);
    if !rng.chance(FRAUD_SHARE) {
        return;
    }
    let eligible: Vec<usize> = (FIRST_FRAUD_MONTH..calendar.months())
        .filter(|&i| customer.churn_month.is_none_or(|churn| i < churn))
        .filter(|&i| calendar.month_start(i) >= customer.signup_date + Duration::days(30))
        .collect();
    if eligible.is_empty() {
        return;
    }
    let month = *rng.pick(&eligible);
    let start = calendar.month_start(month);
    let days = (calendar.month_start(month + 1) - start).num_days();
    let day = start + Duration::days(rng.below(days.unsigned_abs()) as i64);
    let at = |seconds: u64| timestamp_micros(day.and_time(NaiveTime::MIN) + Duration::seconds(seconds as i64));
    let (weights, _) = category_weights(seed, customer);
    let typical = |category: usize| MERCHANT_CATEGORIES[category].2 * customer.spend_level;
    let pattern = rng.below(PATTERNS.len() as u64) as usize;
    let mut planted = Vec::new();
    match pattern {
        0 => {
            let mut seconds = rng.below(5 * 3_600);
            for _ in 0..4 + rng.below(5) {
                planted.push(Planted {
                    ts: at(seconds),
                    amount: rng.lognormal(2_000.0, 0.5),
                    category: TAKEOVER_CATEGORIES[rng.below(TAKEOVER_CATEGORIES.len() as u64) as usize],
                    channel: if rng.chance(0.5) { "online" } else { "app" },
                });
                seconds += 60 + rng.below(240);
            }
        }
        1 => {
            let category = rng.weighted(&weights);
            let seconds = rng.weighted(&HOURLY) as u64 * 3_600 + rng.below(3_600);
            planted.push(Planted {
                ts: at(seconds),
                amount: rng.lognormal(typical(category), 0.3) * (10.0 + 20.0 * rng.uniform()),
                category: MERCHANT_CATEGORIES[category].0,
                channel: if rng.chance(MERCHANT_CATEGORIES[category].3) { "pos" } else { "online" },
            });
        }
        _ => {
            let category = (0..weights.len()).min_by(|&a, &b| weights[a].total_cmp(&weights[b])).unwrap_or(0);
            let mut seconds = 3_600 + rng.below(4 * 3_600);
            for _ in 0..1 + rng.below(2) {
                planted.push(Planted {
                    ts: at(seconds),
                    amount: rng.lognormal(2.0 * typical(category), 0.5),
                    category: MERCHANT_CATEGORIES[category].0,
                    channel: "online",
                });
                seconds += 600 + rng.below(3_000);
            }
        }
    }
    for (i, p) in planted.into_iter().enumerate() {
        let txn_id = customer.id * 100_000 + n + 1 + i as i64;
        let amount = (p.amount * 100.0).round().max(100.0) / 100.0;
        months[month].push(txn_id, customer.id, p.ts, amount, p.category, p.channel);
        labels.txn_id.append_value(txn_id);
        labels.customer_id.append_value(customer.id);
        labels.txn_ts.append_value(p.ts);
        labels.pattern.append_value(PATTERNS[pattern].0);
    }
}
