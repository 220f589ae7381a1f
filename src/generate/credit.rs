//! The `credit_scores` table: a monthly snapshot of every customer on book, with the
//! credit model's features, its score and the observed default flag. Two drifts are
//! planted (see [`Drifts`]); every other feature is stationary.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int32Builder, Int64Builder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::Datelike;
use datafusion::common::Result;

use super::calendar::{date32, Calendar};
use super::customers::Customer;
use super::rng::Rng;
use super::stream;

/// Month indices from which the planted drifts apply.
#[derive(Debug, Clone, Copy)]
pub struct Drifts {
    /// From this month `credit_utilization` shifts up by 0.9 on the logit scale (about
    /// +0.18 on average), and with it the model outputs `pd_12m` and `score`.
    pub utilization_from: Option<usize>,
    /// From this month `app_logins_30d` falls to 45% (an app redesign broke the tracking).
    pub logins_from: Option<usize>,
}

impl Drifts {
    /// At two thirds of the lake and two months before its end; none in lakes under 6 months.
    pub fn for_calendar(calendar: &Calendar) -> Self {
        let m = calendar.months();
        if m < 6 {
            Self { utilization_from: None, logins_from: None }
        } else {
            Self { utilization_from: Some(2 * m / 3), logins_from: Some(m - 2) }
        }
    }
}

/// Points to double the odds, and the score at odds of 1:20 (bad:good).
const PDO: f64 = 50.0;
const SCORE_AT_BASE_ODDS: f64 = 600.0;

pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("snapshot_month", DataType::Date32, false),
        Field::new("age", DataType::Int32, false),
        Field::new("monthly_income", DataType::Float64, false),
        Field::new("debt_to_income", DataType::Float64, false),
        Field::new("credit_utilization", DataType::Float64, false),
        Field::new("num_open_loans", DataType::Int32, false),
        Field::new("overdue_count_12m", DataType::Int32, false),
        Field::new("app_logins_30d", DataType::Int32, false),
        Field::new("pd_12m", DataType::Float64, false),
        Field::new("score", DataType::Int32, false),
        Field::new("default_12m", DataType::Boolean, false),
    ]))
}

pub struct SnapshotBuilder {
    customer_id: Int64Builder,
    snapshot_month: Date32Builder,
    age: Int32Builder,
    monthly_income: Float64Builder,
    debt_to_income: Float64Builder,
    credit_utilization: Float64Builder,
    num_open_loans: Int32Builder,
    overdue_count_12m: Int32Builder,
    app_logins_30d: Int32Builder,
    pd_12m: Float64Builder,
    score: Int32Builder,
    default_12m: BooleanBuilder,
}

impl SnapshotBuilder {
    pub fn new() -> Self {
        Self {
            customer_id: Int64Builder::new(),
            snapshot_month: Date32Builder::new(),
            age: Int32Builder::new(),
            monthly_income: Float64Builder::new(),
            debt_to_income: Float64Builder::new(),
            credit_utilization: Float64Builder::new(),
            num_open_loans: Int32Builder::new(),
            overdue_count_12m: Int32Builder::new(),
            app_logins_30d: Int32Builder::new(),
            pd_12m: Float64Builder::new(),
            score: Int32Builder::new(),
            default_12m: BooleanBuilder::new(),
        }
    }

    pub fn finish(mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.customer_id.finish()),
            Arc::new(self.snapshot_month.finish()),
            Arc::new(self.age.finish()),
            Arc::new(self.monthly_income.finish()),
            Arc::new(self.debt_to_income.finish()),
            Arc::new(self.credit_utilization.finish()),
            Arc::new(self.num_open_loans.finish()),
            Arc::new(self.overdue_count_12m.finish()),
            Arc::new(self.app_logins_30d.finish()),
            Arc::new(self.pd_12m.finish()),
            Arc::new(self.score.finish()),
            Arc::new(self.default_12m.finish()),
        ];
        Ok(RecordBatch::try_new(schema(), columns)?)
    }
}

/// Per-customer feature levels; each month adds noise around them.
struct Profile {
    utilization_logit: f64,
    debt_to_income: f64,
    open_loans: f64,
    overdue_rate: f64,
    logins: f64,
}

/// Appends the customer's monthly snapshots (from the signup month on) to `months[i]`.
pub fn append(seed: u64, customer: &Customer, calendar: &Calendar, drifts: Drifts, months: &mut [SnapshotBuilder]) {
    let mut rng = Rng::new(seed, &[stream::CREDIT, customer.id as u64]);
    let risk = customer.risk;
    let profile = Profile {
        utilization_logit: -0.8 + 0.4 * risk + 0.9 * rng.normal(),
        debt_to_income: (rng.lognormal(0.35, 0.5) * (0.15 * risk).exp()).min(3.0),
        open_loans: rng.lognormal(2.0, 0.5),
        overdue_rate: 0.2 * (0.8 * risk).exp(),
        logins: rng.lognormal(10.0, 0.7),
    };
    for (i, out) in months.iter_mut().enumerate() {
        let month = calendar.month_start(i);
        if customer.signup_date >= calendar.month_start(i + 1) {
            continue;
        }
        let utilization_shift = if drifts.utilization_from.is_some_and(|from| i >= from) { 0.9 } else { 0.0 };
        let logins_factor = if drifts.logins_from.is_some_and(|from| i >= from) { 0.45 } else { 1.0 };
        let utilization = round_to(sigmoid(profile.utilization_logit + utilization_shift + 0.25 * rng.normal()), 4);
        let debt_to_income = round_to(profile.debt_to_income * rng.lognormal(1.0, 0.08), 4);
        let open_loans = rng.poisson(profile.open_loans);
        let overdue = rng.poisson(profile.overdue_rate);
        let logins = rng.poisson(profile.logins * logins_factor);
        // the lender's scorecard model: it sees the features, not the latent risk
        let model_logit = -3.3
            + 2.5 * (utilization - 0.32)
            + 0.5 * (debt_to_income.max(0.01) / 0.35).ln()
            + 0.35 * f64::from(overdue)
            + 0.08 * (f64::from(open_loans) - 2.0)
            - 0.25 * (customer.monthly_income.max(500.0) / 8_000.0).ln();
        let pd = sigmoid(model_logit);
        let score = (SCORE_AT_BASE_ODDS - PDO / std::f64::consts::LN_2 * (model_logit - (1.0f64 / 20.0).ln()))
            .round()
            .clamp(300.0, 900.0);
        let defaulted = rng.chance(sigmoid(model_logit + 0.8 * risk));
        out.customer_id.append_value(customer.id);
        out.snapshot_month.append_value(date32(month));
        out.age.append_value(month.year() - customer.birth_date.year());
        out.monthly_income.append_value(customer.monthly_income);
        out.debt_to_income.append_value(debt_to_income);
        out.credit_utilization.append_value(utilization);
        out.num_open_loans.append_value(open_loans as i32);
        out.overdue_count_12m.append_value(overdue as i32);
        out.app_logins_30d.append_value(logins as i32);
        out.pd_12m.append_value(round_to(pd, 6));
        out.score.append_value(score as i32);
        out.default_12m.append_value(defaulted);
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn round_to(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}
