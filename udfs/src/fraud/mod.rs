//! Fraud and anomaly signals on a customer's own behaviour: scores of each transaction against
//! the customer's history, as window functions over sorted transactions.

mod robust_zscore;

pub use robust_zscore::RobustZscore;

crate::macros::functions! {
    window RobustZscore => robust_zscore, robust_zscore_udwf;
}
