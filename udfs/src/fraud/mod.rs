//! Fraud and anomaly signals on a customer's own behaviour: scores of each transaction against
//! the customer's history, as window functions over sorted transactions that stream through
//! DataFusion's bounded window operator (`running.rs`).

mod category_novelty;
mod hour_rarity;
mod recent_state;
mod robust_zscore;
mod running;
mod velocity_count;
mod velocity_sum;

pub use category_novelty::CategoryNovelty;
pub use hour_rarity::HourRarity;
pub use robust_zscore::RobustZscore;
pub use velocity_count::VelocityCount;
pub use velocity_sum::VelocitySum;

crate::macros::functions! {
    window CategoryNovelty => category_novelty, category_novelty_udwf;
    window HourRarity => hour_rarity, hour_rarity_udwf;
    window RobustZscore => robust_zscore, robust_zscore_udwf;
    window VelocityCount => velocity_count, velocity_count_udwf;
    window VelocitySum => velocity_sum, velocity_sum_udwf;
}
