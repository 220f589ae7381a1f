//! The `products` and `baskets` tables: orders of the instalment mall, one row per
//! order and item, with the associations of `PLANTED_RULES` planted in them.

use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Builder, Float64Builder, Int64Builder, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::Duration;
use datafusion::common::Result;

use super::calendar::{date32, Calendar};
use super::customers::Customer;
use super::reference::{PLANTED_RULES, PRODUCTS, TASTE_ANCHOR, TASTE_SHARE};
use super::rng::Rng;
use super::stream;

/// Expected mall orders per active customer-month.
const ORDERS_PER_MONTH: f64 = 0.15;

pub struct BasketBuilder {
    order_id: Int64Builder,
    customer_id: Int64Builder,
    order_date: Date32Builder,
    item: StringBuilder,
}

impl BasketBuilder {
    pub fn new() -> Self {
        Self {
            order_id: Int64Builder::new(),
            customer_id: Int64Builder::new(),
            order_date: Date32Builder::new(),
            item: StringBuilder::new(),
        }
    }

    pub fn finish(mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.order_id.finish()),
            Arc::new(self.customer_id.finish()),
            Arc::new(self.order_date.finish()),
            Arc::new(self.item.finish()),
        ];
        Ok(RecordBatch::try_new(basket_schema(), columns)?)
    }
}

pub fn basket_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Int64, false),
        Field::new("customer_id", DataType::Int64, false),
        Field::new("order_date", DataType::Date32, false),
        Field::new("item", DataType::Utf8, false),
    ]))
}

/// Appends the customer's orders. `order_id = customer_id * 1_000 + n` for the n-th order.
pub fn append(seed: u64, customer: &Customer, calendar: &Calendar, out: &mut BasketBuilder) {
    let mut rng = Rng::new(seed, &[stream::BASKET, customer.id as u64]);
    let first_day = customer.signup_date.max(calendar.start());
    let last_day = customer.churn_month.map_or(calendar.end(), |churn| calendar.month_start(churn)).min(calendar.end());
    let active_days = (last_day - first_day).num_days();
    if active_days <= 0 {
        return;
    }
    let orders = rng.poisson(ORDERS_PER_MONTH * active_days as f64 / 30.4).min(999);
    let popularity: Vec<f64> = PRODUCTS.iter().map(|p| p.3).collect();
    // the taste's popularity: the category's items keep their weights, the others none
    let taste: Option<Vec<f64>> = taste(seed, customer.id)
        .map(|category| PRODUCTS.iter().map(|p| if p.1 == category { p.3 } else { 0.0 }).collect());
    for n in 1..=i64::from(orders) {
        let date = first_day + Duration::days(rng.below(active_days as u64) as i64);
        let mut size = 1;
        while size < 6 && rng.chance(0.45) {
            size += 1;
        }
        let mut items: Vec<usize> = Vec::with_capacity(size + 3);
        if let Some(taste) = &taste {
            if rng.chance(TASTE_ANCHOR) {
                items.push(rng.weighted(taste));
            }
        }
        while items.len() < size {
            let item = rng.weighted(&popularity);
            if !items.contains(&item) {
                items.push(item);
            }
        }
        for rule in PLANTED_RULES {
            let fires = rule.antecedent.iter().all(|a| items.iter().any(|&i| PRODUCTS[i].0 == *a));
            if fires && rng.chance(rule.probability) {
                for consequent in rule.consequent {
                    if let Some(index) = PRODUCTS.iter().position(|p| p.0 == *consequent) {
                        if !items.contains(&index) {
                            items.push(index);
                        }
                    }
                }
            }
        }
        for item in items {
            out.order_id.append_value(customer.id * 1_000 + n);
            out.customer_id.append_value(customer.id);
            out.order_date.append_value(date32(date));
            out.item.append_value(PRODUCTS[item].0);
        }
    }
}

/// The customer's favourite category, if they have one (a stream of its own, so the other
/// tables do not depend on it).
pub fn taste(seed: u64, customer_id: i64) -> Option<&'static str> {
    let mut rng = Rng::new(seed, &[stream::TASTE, customer_id as u64]);
    if !rng.chance(TASTE_SHARE) {
        return None;
    }
    let mut categories: Vec<&'static str> = Vec::new();
    for p in PRODUCTS {
        if !categories.contains(&p.1) {
            categories.push(p.1);
        }
    }
    Some(categories[rng.below(categories.len() as u64) as usize])
}

pub fn product_batch() -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("item", DataType::Utf8, false),
        Field::new("category", DataType::Utf8, false),
        Field::new("price", DataType::Float64, false),
    ]));
    let mut item = StringBuilder::new();
    let mut category = StringBuilder::new();
    let mut price = Float64Builder::new();
    for (name, cat, list_price, _) in PRODUCTS {
        item.append_value(name);
        category.append_value(cat);
        price.append_value(*list_price);
    }
    let columns: Vec<ArrayRef> = vec![Arc::new(item.finish()), Arc::new(category.finish()), Arc::new(price.finish())];
    Ok(RecordBatch::try_new(schema, columns)?)
}
