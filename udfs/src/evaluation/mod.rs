//! Campaign and model evaluation: response lift with significance, Welch's t-test, uplift
//! (Qini / AUUC / uplift@k), gains tables, AUC / Gini / KS, WoE / IV.

mod auc;
mod gains_table;
mod gini;
mod information_value;
mod ks_statistic;
mod label_args;
mod qini_auc_score;
mod qini_curve;
mod response_lift;
mod scored_state;
mod uplift_at_k;
mod uplift_auc_score;
mod uplift_curve;
mod uplift_state;
mod welch_ttest;
mod woe;
mod woe_state;
mod woe_table;

use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::AccumulatorArgs;

use crate::common::{literal_arg, LiteralArg};

pub use auc::Auc;
pub use gains_table::GainsTable;
pub use gini::Gini;
pub use information_value::InformationValue;
pub use ks_statistic::KsStatistic;
pub use qini_auc_score::QiniAucScore;
pub use qini_curve::QiniCurve;
pub use response_lift::ResponseLift;
pub use uplift_at_k::UpliftAtK;
pub use uplift_auc_score::UpliftAucScore;
pub use uplift_curve::UpliftCurve;
pub use welch_ttest::WelchTtest;
pub use woe::Woe;
pub use woe_table::WoeTable;

crate::macros::functions! {
    scalar Woe => woe, woe_udf;
    aggregate Auc => auc, auc_udaf;
    aggregate GainsTable => gains_table, gains_table_udaf;
    aggregate Gini => gini, gini_udaf;
    aggregate InformationValue => information_value, information_value_udaf;
    aggregate KsStatistic => ks_statistic, ks_statistic_udaf;
    aggregate QiniAucScore => qini_auc_score, qini_auc_score_udaf;
    aggregate QiniCurve => qini_curve, qini_curve_udaf;
    aggregate ResponseLift => response_lift, response_lift_udaf;
    aggregate UpliftAtK => uplift_at_k, uplift_at_k_udaf;
    aggregate UpliftAucScore => uplift_auc_score, uplift_auc_score_udaf;
    aggregate UpliftCurve => uplift_curve, uplift_curve_udaf;
    aggregate WelchTtest => welch_ttest, welch_ttest_udaf;
    aggregate WoeTable => woe_table, woe_table_udaf;
}

/// The optional confidence level at argument `index`: a literal in (0, 1), default 0.95.
fn confidence_level(name: &str, args: &AccumulatorArgs, index: usize) -> Result<f64> {
    match literal_arg(args.exprs, index) {
        LiteralArg::Absent => Ok(0.95),
        LiteralArg::Value(ScalarValue::Float64(Some(level))) if *level > 0.0 && *level < 1.0 => Ok(*level),
        LiteralArg::Value(other) => plan_err!("{name}: confidence must be in (0, 1), got {other}"),
        LiteralArg::NotLiteral => plan_err!("{name}: confidence must be a literal"),
    }
}
