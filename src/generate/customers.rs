//! The `customers` table: demographics, contact data (synthetic but format-valid PII)
//! and the latent traits that drive every other table.

use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Builder, Int32Builder, Int64Builder, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, Duration, NaiveDate};
use datafusion::common::Result;
use persona_udfs::privacy::cn_id_check_digit;

use super::calendar::{date32, Calendar};
use super::reference::{
    City, ACQUISITION_CHANNELS, CITIES, EMAIL_DOMAINS, GIVEN_NAME_CHARS, INCOME_BANDS, INCOME_BAND_LIMITS,
    MOBILE_PREFIXES, OCCUPATIONS, SURNAMES,
};
use super::rng::Rng;
use super::stream;

/// One synthetic customer.
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub male: bool,
    pub birth_date: NaiveDate,
    pub city: &'static City,
    pub occupation: &'static str,
    pub acquisition_channel: &'static str,
    pub signup_date: NaiveDate,
    pub phone: String,
    pub id_number: String,
    pub email: Option<String>,
    /// Monthly income, RMB.
    pub monthly_income: f64,
    /// Expected transactions per month (heavy-tailed).
    pub activity: f64,
    /// Scale of the customer's transaction amounts.
    pub spend_level: f64,
    /// Month index from which the customer no longer transacts.
    pub churn_month: Option<usize>,
    /// Latent credit risk, standard normal; the credit model only sees it through features.
    pub risk: f64,
}

impl Customer {
    pub fn generate(seed: u64, id: i64, calendar: &Calendar) -> Self {
        let mut rng = Rng::new(seed, &[stream::CUSTOMER, id as u64]);
        let first_year = calendar.first_year();
        let age = (18.0 + rng.lognormal(13.0, 0.45)).clamp(18.0, 70.0) as i32;
        let birth_date = NaiveDate::from_ymd_opt(first_year - age, 1, 1).unwrap_or(calendar.start())
            + Duration::days(rng.below(365) as i64);
        let male = rng.chance(0.52);
        let city = &CITIES[rng.weighted(&CITIES.iter().map(|c| c.weight).collect::<Vec<_>>())];
        let occupation = occupation(&mut rng, age);
        let acquisition_channel = weighted_label(&mut rng, ACQUISITION_CHANNELS);
        let signup_date = if rng.chance(0.7) {
            calendar.start() - Duration::days(1 + rng.below(3 * 365) as i64)
        } else {
            calendar.start() + Duration::days(rng.below(calendar.days() as u64) as i64)
        };
        let monthly_income = income(&mut rng, city.tier, age, occupation);
        let (surname, pinyin) = *rng.pick(SURNAMES);
        let given: String = (0..1 + rng.below(2)).map(|_| *rng.pick(GIVEN_NAME_CHARS)).collect();
        let phone = format!("{}{:08}", rng.pick(MOBILE_PREFIXES), rng.below(100_000_000));
        let id_number = id_number(&mut rng, city.area_code, birth_date, male);
        let email = rng.chance(0.88).then(|| email(&mut rng, pinyin, birth_date.year()));
        let activity = (rng.lognormal(2.6, 1.0) * (monthly_income / 8_000.0).powf(0.15)).min(120.0);
        let spend_level = (monthly_income / 8_000.0).powf(0.35) * rng.lognormal(1.0, 0.25);
        let churn_month = rng.chance(CHURN_SHARE).then(|| rng.below(calendar.months() as u64) as usize);
        let risk = rng.normal();
        let (phone, id_number, email) = plant_defects(seed, id, phone, id_number, email);
        Self {
            id,
            name: format!("{surname}{given}"),
            male,
            birth_date,
            city,
            occupation,
            acquisition_channel,
            signup_date,
            phone,
            id_number,
            email,
            monthly_income,
            activity,
            spend_level,
            churn_month,
            risk,
        }
    }

    /// The age band campaign uplift depends on: the age reached in the lake's first year.
    pub fn age_band(&self, calendar: &Calendar) -> usize {
        match calendar.first_year() - self.birth_date.year() {
            age if age < 30 => 0,
            age if age < 45 => 1,
            _ => 2,
        }
    }

    fn income_band(&self) -> &'static str {
        let band = INCOME_BAND_LIMITS.iter().take_while(|&&limit| self.monthly_income >= limit).count();
        INCOME_BANDS[band]
    }
}

pub fn weighted_label(rng: &mut Rng, labels: &[(&'static str, f64)]) -> &'static str {
    labels[rng.weighted(&labels.iter().map(|(_, w)| *w).collect::<Vec<_>>())].0
}

fn occupation(rng: &mut Rng, age: i32) -> &'static str {
    if age < 23 && rng.chance(0.6) {
        return "student";
    }
    if age >= 58 && rng.chance(0.7) {
        return "retired";
    }
    let working: Vec<_> = OCCUPATIONS.iter().copied().filter(|(o, _)| *o != "student" && *o != "retired").collect();
    weighted_label(rng, &working)
}

fn income(rng: &mut Rng, tier: i32, age: i32, occupation: &str) -> f64 {
    let tier_median = [13_000.0, 10_000.0, 8_000.0, 6_500.0, 5_000.0][(tier - 1) as usize];
    let age_factor = match age {
        ..=24 => 0.6,
        25..=34 => 0.9,
        35..=49 => 1.05,
        50..=57 => 0.9,
        _ => 0.75,
    };
    let occupation_factor = match occupation {
        "student" => 0.25,
        "retired" => 0.5,
        "blue_collar" => 0.7,
        "freelancer" => 0.9,
        "civil_servant" => 1.1,
        "self_employed" => 1.2,
        _ => 1.0,
    };
    (rng.lognormal(tier_median * age_factor * occupation_factor, 0.55) / 10.0).round() * 10.0
}

/// Area code, birth date, a sequence number whose last digit is odd for men and even for
/// women, and the ISO 7064 MOD 11-2 check digit.
/// Share of customers whose identity number has a wrong check digit (a planted defect).
pub const INVALID_ID_SHARE: f64 = 0.002;
/// Share of customers whose mobile number lost its last digit (a planted defect).
pub const INVALID_PHONE_SHARE: f64 = 0.002;
/// Share of e-mail addresses cut after the mail host, without the top-level domain (`x@163`).
pub const INVALID_EMAIL_SHARE: f64 = 0.003;

/// The planted data-quality defects of the contact data, from the customer's own defect stream
/// (so every other column is the same as without them).
fn plant_defects(
    seed: u64,
    id: i64,
    phone: String,
    id_number: String,
    email: Option<String>,
) -> (String, String, Option<String>) {
    let mut rng = Rng::new(seed, &[stream::DEFECT, id.unsigned_abs()]);
    let mut id_number = id_number;
    if rng.chance(INVALID_ID_SHARE) {
        let wrong = match id_number.pop() {
            Some('X') => '0',
            Some('9') => 'X',
            Some(d) => char::from_digit(d.to_digit(10).map_or(0, |d| d + 1), 10).unwrap_or('0'),
            None => '0',
        };
        id_number.push(wrong);
    }
    let mut phone = phone;
    if rng.chance(INVALID_PHONE_SHARE) {
        phone.pop();
    }
    let email = email.map(|e| match e.rfind('.') {
        Some(dot) if rng.chance(INVALID_EMAIL_SHARE) => e[..dot].to_string(),
        _ => e,
    });
    (phone, id_number, email)
}

fn id_number(rng: &mut Rng, area_code: &str, birth_date: NaiveDate, male: bool) -> String {
    let sequence = rng.below(50) * 20 + 2 * rng.below(5) + u64::from(male);
    let first17 = format!("{area_code}{}{sequence:03}", birth_date.format("%Y%m%d"));
    let check = cn_id_check_digit(first17.as_bytes()).map_or('0', char::from);
    format!("{first17}{check}")
}

fn email(rng: &mut Rng, pinyin: &str, birth_year: i32) -> String {
    let domain = weighted_label(rng, EMAIL_DOMAINS);
    if domain == "qq.com" && rng.chance(0.7) {
        let qq_number = 10_000 + rng.below(3_000_000_000);
        return format!("{qq_number}@qq.com");
    }
    let letters = b"abcdefghijklmnopqrstuvwxyz";
    let initials: String = (0..1 + rng.below(2)).map(|_| char::from(*rng.pick(letters))).collect();
    match rng.below(3) {
        0 => format!("{pinyin}{initials}{birth_year}@{domain}"),
        1 => format!("{pinyin}.{initials}{}@{domain}", rng.below(1_000)),
        _ => format!("{initials}{pinyin}{:02}@{domain}", birth_year % 100),
    }
}

pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("gender", DataType::Utf8, false),
        Field::new("birth_year", DataType::Int32, false),
        Field::new("signup_date", DataType::Date32, false),
        Field::new("province", DataType::Utf8, false),
        Field::new("city", DataType::Utf8, false),
        Field::new("city_tier", DataType::Int32, false),
        Field::new("income_band", DataType::Utf8, false),
        Field::new("occupation", DataType::Utf8, false),
        Field::new("acquisition_channel", DataType::Utf8, false),
        Field::new("phone", DataType::Utf8, false),
        Field::new("id_number", DataType::Utf8, false),
        Field::new("email", DataType::Utf8, true),
    ]))
}

/// The share of customers the generator makes churn: from a month drawn uniformly over the
/// lake's months on, they make no purchase and no basket.
pub const CHURN_SHARE: f64 = 0.18;

/// The schema of `planted_churn`: the churned customers and the first month without purchases.
pub fn churn_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("churn_month", DataType::Date32, false),
    ]))
}

/// The `planted_churn` rows of `customers`: the generator's answer key for churn models.
pub fn churn_batch(customers: &[Customer], calendar: &Calendar) -> Result<RecordBatch> {
    let mut id = Int64Builder::new();
    let mut month = Date32Builder::new();
    for c in customers {
        if let Some(churn) = c.churn_month {
            id.append_value(c.id);
            month.append_value(date32(calendar.month_start(churn)));
        }
    }
    let columns: Vec<ArrayRef> = vec![Arc::new(id.finish()), Arc::new(month.finish())];
    Ok(RecordBatch::try_new(churn_schema(), columns)?)
}

pub fn batch(customers: &[Customer]) -> Result<RecordBatch> {
    let mut id = Int64Builder::new();
    let mut name = StringBuilder::new();
    let mut gender = StringBuilder::new();
    let mut birth_year = Int32Builder::new();
    let mut signup = Date32Builder::new();
    let mut province = StringBuilder::new();
    let mut city = StringBuilder::new();
    let mut tier = Int32Builder::new();
    let mut income_band = StringBuilder::new();
    let mut occupation = StringBuilder::new();
    let mut channel = StringBuilder::new();
    let mut phone = StringBuilder::new();
    let mut id_number = StringBuilder::new();
    let mut email = StringBuilder::new();
    for c in customers {
        id.append_value(c.id);
        name.append_value(&c.name);
        gender.append_value(if c.male { "M" } else { "F" });
        birth_year.append_value(c.birth_date.year());
        signup.append_value(date32(c.signup_date));
        province.append_value(c.city.province);
        city.append_value(c.city.city);
        tier.append_value(c.city.tier);
        income_band.append_value(c.income_band());
        occupation.append_value(c.occupation);
        channel.append_value(c.acquisition_channel);
        phone.append_value(&c.phone);
        id_number.append_value(&c.id_number);
        email.append_option(c.email.as_deref());
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(name.finish()),
        Arc::new(gender.finish()),
        Arc::new(birth_year.finish()),
        Arc::new(signup.finish()),
        Arc::new(province.finish()),
        Arc::new(city.finish()),
        Arc::new(tier.finish()),
        Arc::new(income_band.finish()),
        Arc::new(occupation.finish()),
        Arc::new(channel.finish()),
        Arc::new(phone.finish()),
        Arc::new(id_number.finish()),
        Arc::new(email.finish()),
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}
