//! The `campaigns` and `campaign_contacts` tables: marketing campaigns with a randomised
//! holdout (control arm) and a planted uplift that depends on campaign and age band.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, Duration, NaiveDate};
use datafusion::common::Result;

use super::calendar::{date32, timestamp_micros, Calendar};
use super::customers::Customer;
use super::reference::{open_click_rates, CampaignTemplate, CAMPAIGNS};
use super::rng::Rng;
use super::stream;

pub const CAMPAIGN_DAYS: i64 = 14;

/// A campaign placed in the lake's calendar.
pub struct Campaign {
    pub id: i64,
    pub start: NaiveDate,
    pub template: &'static CampaignTemplate,
}

/// The campaigns whose start date (first occurrence of its month and day) the lake covers,
/// numbered in start order.
pub fn schedule(calendar: &Calendar) -> Vec<Campaign> {
    let mut placed: Vec<(NaiveDate, &'static CampaignTemplate)> = CAMPAIGNS
        .iter()
        .filter_map(|t| {
            (0..calendar.months())
                .map(|i| calendar.month_start(i))
                .find(|m| m.month() == t.start.0)
                .and_then(|m| m.with_day(t.start.1))
                .filter(|start| *start + Duration::days(CAMPAIGN_DAYS) <= calendar.end())
                .map(|start| (start, t))
        })
        .collect();
    placed.sort_by_key(|(start, _)| *start);
    placed
        .into_iter()
        .enumerate()
        .map(|(i, (start, template))| Campaign { id: i as i64 + 1, start, template })
        .collect()
}

pub fn campaign_batch(campaigns: &[Campaign]) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("campaign_id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("start_date", DataType::Date32, false),
        Field::new("end_date", DataType::Date32, false),
        Field::new("cost_per_contact", DataType::Float64, false),
    ]));
    let mut id = Int64Builder::new();
    let mut name = StringBuilder::new();
    let mut channel = StringBuilder::new();
    let mut start = Date32Builder::new();
    let mut end = Date32Builder::new();
    let mut cost = Float64Builder::new();
    for c in campaigns {
        id.append_value(c.id);
        name.append_value(c.template.name);
        channel.append_value(c.template.channel);
        start.append_value(date32(c.start));
        end.append_value(date32(c.start + Duration::days(CAMPAIGN_DAYS - 1)));
        cost.append_value(c.template.cost_per_contact);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(name.finish()),
        Arc::new(channel.finish()),
        Arc::new(start.finish()),
        Arc::new(end.finish()),
        Arc::new(cost.finish()),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}

pub struct ContactBuilder {
    campaign_id: Int64Builder,
    customer_id: Int64Builder,
    arm: StringBuilder,
    contacted_at: TimestampMicrosecondBuilder,
    opened: BooleanBuilder,
    clicked: BooleanBuilder,
    converted: BooleanBuilder,
    revenue: Float64Builder,
}

impl ContactBuilder {
    pub fn new() -> Self {
        Self {
            campaign_id: Int64Builder::new(),
            customer_id: Int64Builder::new(),
            arm: StringBuilder::new(),
            contacted_at: TimestampMicrosecondBuilder::new(),
            opened: BooleanBuilder::new(),
            clicked: BooleanBuilder::new(),
            converted: BooleanBuilder::new(),
            revenue: Float64Builder::new(),
        }
    }

    pub fn finish(mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.campaign_id.finish()),
            Arc::new(self.customer_id.finish()),
            Arc::new(self.arm.finish()),
            Arc::new(self.contacted_at.finish()),
            Arc::new(self.opened.finish()),
            Arc::new(self.clicked.finish()),
            Arc::new(self.converted.finish()),
            Arc::new(self.revenue.finish()),
        ];
        Ok(RecordBatch::try_new(contact_schema(), columns)?)
    }
}

pub fn contact_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("campaign_id", DataType::Int64, false),
        Field::new("customer_id", DataType::Int64, false),
        Field::new("arm", DataType::Utf8, false),
        Field::new("contacted_at", DataType::Timestamp(TimeUnit::Microsecond, None), false),
        Field::new("opened", DataType::Boolean, true),
        Field::new("clicked", DataType::Boolean, true),
        Field::new("converted", DataType::Boolean, false),
        Field::new("revenue", DataType::Float64, false),
    ]))
}

/// Appends the customer's campaign assignments. Customers who signed up before a
/// campaign starts are eligible; a random `target_share` of them is targeted and a random
/// `control_share` of the targeted is held out. Control rows have NULL opened/clicked
/// (nothing was sent) and `contacted_at` is the assignment time.
pub fn append(seed: u64, customer: &Customer, calendar: &Calendar, campaigns: &[Campaign], out: &mut ContactBuilder) {
    let band = customer.age_band(calendar);
    for campaign in campaigns {
        let mut rng = Rng::new(seed, &[stream::CAMPAIGN, campaign.id as u64, customer.id as u64]);
        let t = campaign.template;
        if customer.signup_date >= campaign.start || !rng.chance(t.target_share) {
            continue;
        }
        let treated = !rng.chance(t.control_share);
        let seconds = 9 * 3_600 + rng.below(12 * 3_600) as i64; // 09:00-21:00
        let day = campaign.start + Duration::days(rng.below(3) as i64);
        let at = day.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::seconds(seconds);
        let p = t.base_rate[band] + if treated { t.uplift[band] } else { 0.0 };
        let converted = rng.chance(p);
        let revenue = if converted { (rng.lognormal(650.0, 0.6) * 100.0).round() / 100.0 } else { 0.0 };
        out.campaign_id.append_value(campaign.id);
        out.customer_id.append_value(customer.id);
        out.arm.append_value(if treated { "treatment" } else { "control" });
        out.contacted_at.append_value(timestamp_micros(at));
        if treated {
            let (open_rate, click_rate) = open_click_rates(t.channel);
            let opened = rng.chance(open_rate);
            out.opened.append_value(opened);
            out.clicked.append_value(opened && rng.chance(click_rate));
        } else {
            out.opened.append_null();
            out.clicked.append_null();
        }
        out.converted.append_value(converted);
        out.revenue.append_value(revenue);
    }
}
