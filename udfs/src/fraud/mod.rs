//! Fraud and anomaly signals on a customer's own behaviour: scores of each transaction against
//! the customer's history, as window functions over sorted transactions. Velocity (count and
//! amount in the last hour) needs no function of its own: `count(*)` and `sum(amount)` over a
//! `RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW` frame (see docs/functions.md).

mod category_novelty;
mod hour_rarity;
mod robust_zscore;
mod running;

pub use category_novelty::CategoryNovelty;
pub use hour_rarity::HourRarity;
pub use robust_zscore::RobustZscore;

crate::macros::functions! {
    window CategoryNovelty => category_novelty, category_novelty_udwf;
    window HourRarity => hour_rarity, hour_rarity_udwf;
    window RobustZscore => robust_zscore, robust_zscore_udwf;
}
