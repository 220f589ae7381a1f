//! Campaign and model evaluation: response lift with significance, Welch's t-test, uplift
//! (Qini / AUUC / uplift@k), gains tables, AUC / Gini / KS, WoE / IV.

mod auc;
mod gains_table;
mod gini;
mod information_value;
mod ks_statistic;
mod labels;
mod qini_auc_score;
mod qini_curve;
mod response_lift;
mod scored;
mod stats;
mod uplift;
mod uplift_at_k;
mod uplift_auc_score;
mod uplift_curve;
mod welch_ttest;
mod woe_bins;
mod woe_table;

use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::physical_expr::expressions::Literal;

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
pub use woe_table::WoeTable;

/// The optional confidence level at argument `index`: a literal in (0, 1), default 0.95.
fn confidence_level(name: &str, args: &AccumulatorArgs, index: usize) -> Result<f64> {
    match args.exprs.get(index).map(|e| e.downcast_ref::<Literal>().map(Literal::value)) {
        None => Ok(0.95),
        Some(Some(ScalarValue::Float64(Some(level)))) if *level > 0.0 && *level < 1.0 => Ok(*level),
        Some(Some(other)) => plan_err!("{name}: confidence must be in (0, 1), got {other}"),
        Some(None) => plan_err!("{name}: confidence must be a literal"),
    }
}
