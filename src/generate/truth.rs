//! `_truth.json`: what the generator planted, so tests and analysts can check that SQL
//! recovers it.

use chrono::Datelike;
use serde::{Deserialize, Serialize};

use super::calendar::Calendar;
use super::campaigns::Campaign;
use super::credit::Drifts;
use super::reference::{AGE_BANDS, PLANTED_RULES, SEASONALITY, TASTE_ANCHOR, TASTE_SHARE};
use super::transactions::REFUND_SHARE;
use super::GenerateOptions;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Truth {
    pub seed: u64,
    pub customers: i64,
    pub months: usize,
    pub first_month: String,
    pub last_month: String,
    /// The day after the lake ends: the natural as-of date for recency.
    pub as_of: String,
    pub transactions: TransactionTruth,
    pub baskets: BasketTruth,
    pub campaigns: CampaignTruth,
    pub drift: DriftTruth,
    pub churn: ChurnTruth,
    pub fraud: FraudTruth,
    /// Data-quality defects (lakes of generator version 4 and older have none recorded).
    #[serde(default)]
    pub quality: QualityTruth,
}

/// The data-quality defects of the lake, counted exactly as written: what `persona profile`
/// must find.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct QualityTruth {
    /// `customers.id_number` failing `is_valid_cn_id` (a wrong check digit).
    pub invalid_id_numbers: u64,
    /// `customers.phone` failing `is_valid_cn_mobile` (the last digit lost).
    pub invalid_phones: u64,
    /// `customers.email` failing `is_valid_email` (cut before the top-level domain).
    pub invalid_emails: u64,
    /// `customers.email` NULL.
    pub missing_emails: u64,
    /// `transactions` rows whose `txn_id` occurred before (the whole row written twice).
    pub duplicate_transactions: u64,
    /// `transactions.amount` below zero: refunds, by design.
    pub negative_amounts: u64,
}

impl QualityTruth {
    #[must_use]
    pub fn plus(&self, o: &Self) -> Self {
        Self {
            invalid_id_numbers: self.invalid_id_numbers + o.invalid_id_numbers,
            invalid_phones: self.invalid_phones + o.invalid_phones,
            invalid_emails: self.invalid_emails + o.invalid_emails,
            missing_emails: self.missing_emails + o.missing_emails,
            duplicate_transactions: self.duplicate_transactions + o.duplicate_transactions,
            negative_amounts: self.negative_amounts + o.negative_amounts,
        }
    }

    pub(crate) fn count_customers(&mut self, customers: &[super::customers::Customer]) {
        use persona_udfs::privacy::{is_valid_cn_id, is_valid_cn_mobile, is_valid_email};
        for c in customers {
            self.invalid_id_numbers += u64::from(!is_valid_cn_id(&c.id_number));
            self.invalid_phones += u64::from(!is_valid_cn_mobile(&c.phone));
            match &c.email {
                Some(e) => self.invalid_emails += u64::from(!is_valid_email(e)),
                None => self.missing_emails += 1,
            }
        }
    }

    pub(crate) fn count_amounts(&mut self, batch: &arrow::record_batch::RecordBatch) -> datafusion::common::Result<()> {
        use arrow::array::AsArray;
        let Some(amount) = batch.column_by_name("amount") else {
            return datafusion::common::internal_err!("generate: a transactions batch without amount");
        };
        let amount = amount.as_primitive::<arrow::datatypes::Float64Type>();
        self.negative_amounts += amount.iter().filter(|a| a.is_some_and(|a| a < 0.0)).count() as u64;
        Ok(())
    }
}

/// The planted fraud that `sql/fraud_monitor.sql` scores its alerts against.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct FraudTruth {
    /// The share of customers with one fraud episode.
    pub customer_share: f64,
    /// The first month an episode can fall in.
    pub first_month: String,
    /// The table listing every fraudulent transaction with its pattern.
    pub table: String,
    pub patterns: Vec<FraudPattern>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct FraudPattern {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct TransactionTruth {
    /// Relative volume by calendar month, January first.
    pub seasonality: Vec<f64>,
    /// The covered month with the largest seasonal factor: the busiest month.
    pub peak_month: String,
    /// Share of transactions that are refunds (negative amount).
    pub refund_share: f64,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct BasketTruth {
    pub planted_rules: Vec<PlantedRuleTruth>,
    /// Share of customers with a favourite category (a taste).
    pub taste_share: f64,
    /// Probability that such a customer's order starts with an item of that category.
    pub taste_anchor: f64,
    pub note: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct PlantedRuleTruth {
    pub antecedent: Vec<String>,
    pub consequent: Vec<String>,
    /// Probability that the consequent is added to a basket holding the antecedent.
    pub probability: f64,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct CampaignTruth {
    /// SQL over `customers` giving the segment the uplift depends on.
    pub segment_sql: String,
    pub campaigns: Vec<CampaignPlan>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct CampaignPlan {
    pub campaign_id: i64,
    pub name: String,
    pub channel: String,
    pub start_date: String,
    pub target_share: f64,
    pub control_share: f64,
    pub segments: Vec<SegmentUplift>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct SegmentUplift {
    pub age_band: String,
    /// Conversion probability of the control arm.
    pub control_rate: f64,
    /// Treatment minus control conversion probability.
    pub true_uplift: f64,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct DriftTruth {
    pub baseline_month: String,
    pub features: Vec<String>,
    /// (feature, month) pairs at or after `from_month` are drifted: PSI against the
    /// baseline above 0.25 on 10 baseline-decile bins; every other pair is below 0.10.
    pub drifted: Vec<DriftedFeature>,
}

/// The planted churn that `sql/customer_lifetime.sql` checks P(alive) against.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct ChurnTruth {
    /// The share of customers who churn.
    pub share: f64,
    /// The table listing them with `churn_month`, the first month without purchases.
    pub table: String,
    pub note: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct DriftedFeature {
    pub feature: String,
    pub from_month: String,
    pub cause: String,
}

impl Truth {
    pub fn new(
        options: &GenerateOptions,
        calendar: &Calendar,
        campaigns: &[Campaign],
        drifts: Drifts,
        quality: QualityTruth,
    ) -> Self {
        let months = calendar.months();
        let peak = (0..months)
            .max_by(|&a, &b| {
                let factor = |i: usize| SEASONALITY[calendar.month_start(i).month0() as usize];
                factor(a).total_cmp(&factor(b)).then(b.cmp(&a))
            })
            .unwrap_or(0);
        let mut drifted = Vec::new();
        if let Some(from) = drifts.utilization_from {
            for feature in ["credit_utilization", "pd_12m", "score"] {
                drifted.push(DriftedFeature {
                    feature: feature.into(),
                    from_month: calendar.month_label(from),
                    cause:
                        "credit_utilization shifted up by 0.9 on the logit scale; pd_12m and score are computed from it"
                            .into(),
                });
            }
        }
        if let Some(from) = drifts.logins_from {
            drifted.push(DriftedFeature {
                feature: "app_logins_30d".into(),
                from_month: calendar.month_label(from),
                cause: "app_logins_30d fell to 45% (app redesign broke login tracking)".into(),
            });
        }
        Self {
            seed: options.seed,
            customers: options.customers,
            months,
            first_month: calendar.month_label(0),
            last_month: calendar.month_label(months - 1),
            as_of: calendar.end().to_string(),
            transactions: TransactionTruth {
                seasonality: SEASONALITY.to_vec(),
                peak_month: calendar.month_label(peak),
                refund_share: REFUND_SHARE,
            },
            baskets: BasketTruth {
                planted_rules: PLANTED_RULES
                    .iter()
                    .map(|r| PlantedRuleTruth {
                        antecedent: r.antecedent.iter().map(|s| (*s).to_string()).collect(),
                        consequent: r.consequent.iter().map(|s| (*s).to_string()).collect(),
                        probability: r.probability,
                    })
                    .collect(),
                taste_share: TASTE_SHARE,
                taste_anchor: TASTE_ANCHOR,
                note:
                    "other items are drawn independently by popularity; as larger baskets hold more items, every other pair has a lift slightly above 1 (below 1.5 at 20,000 customers). \
                     A customer with a taste (a category drawn uniformly) starts an order with one of its items with probability taste_anchor, so item-based collaborative filtering \
                     on a customer's earlier orders predicts their next order better than popularity; the taste adds no association inside a basket"
                        .into(),
            },
            campaigns: CampaignTruth {
                segment_sql: format!(
                    "CASE WHEN {y} - birth_year < 30 THEN '<30' WHEN {y} - birth_year < 45 THEN '30-44' ELSE '45+' END",
                    y = calendar.first_year()
                ),
                campaigns: campaigns
                    .iter()
                    .map(|c| CampaignPlan {
                        campaign_id: c.id,
                        name: c.template.name.into(),
                        channel: c.template.channel.into(),
                        start_date: c.start.to_string(),
                        target_share: c.template.target_share,
                        control_share: c.template.control_share,
                        segments: AGE_BANDS
                            .iter()
                            .enumerate()
                            .map(|(band, name)| SegmentUplift {
                                age_band: (*name).into(),
                                control_rate: c.template.base_rate[band],
                                true_uplift: c.template.uplift[band],
                            })
                            .collect(),
                    })
                    .collect(),
            },
            drift: DriftTruth {
                baseline_month: calendar.month_label(0),
                features: [
                    "age",
                    "monthly_income",
                    "debt_to_income",
                    "credit_utilization",
                    "num_open_loans",
                    "overdue_count_12m",
                    "app_logins_30d",
                    "pd_12m",
                    "score",
                ]
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
                drifted,
            },
            churn: ChurnTruth {
                share: super::customers::CHURN_SHARE,
                table: "planted_churn".into(),
                note: "a churned customer makes no purchase and no basket from the first day of churn_month on; the month is \
                       drawn uniformly over the lake's months, so about half of the churners are still buying in the first half"
                    .into(),
            },
            fraud: FraudTruth {
                customer_share: super::fraud::FRAUD_SHARE,
                first_month: calendar.month_label(super::fraud::FIRST_FRAUD_MONTH.min(months - 1)),
                table: "fraud_labels".into(),
                patterns: super::fraud::PATTERNS
                    .iter()
                    .map(|(name, description)| FraudPattern { name: (*name).into(), description: (*description).into() })
                    .collect(),
            },
            quality,
        }
    }
}
