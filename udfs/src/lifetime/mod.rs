//! Customer lifetime value and lifecycle: the summary of a customer's purchases, the BG/NBD,
//! Pareto/NBD and Gamma-Gamma models fitted per group, their predictions (P(alive), expected
//! purchases, expected spend, CLV) — all as lifetimes 0.11.3 computes them — and the lifecycle stage.

mod bgnbd;
mod bgnbd_expected_purchases;
mod bgnbd_expected_purchases_new;
mod bgnbd_fit;
mod bgnbd_p_alive;
mod clv;
mod clv_holdout;
mod clv_summary;
mod fit_state;
mod gamma_gamma;
mod gamma_gamma_expected_spend;
mod gamma_gamma_fit;
mod lifecycle_stage;
mod model_args;
mod occasions_state;
mod pareto_nbd;
mod pareto_nbd_expected_purchases;
mod pareto_nbd_expected_purchases_new;
mod pareto_nbd_fit;
mod pareto_nbd_p_alive;

pub use bgnbd_expected_purchases::BgnbdExpectedPurchases;
pub use bgnbd_expected_purchases_new::BgnbdExpectedPurchasesNew;
pub use bgnbd_fit::BgnbdFit;
pub use bgnbd_p_alive::BgnbdPAlive;
pub use clv::Clv;
pub use clv_holdout::ClvHoldout;
pub use clv_summary::ClvSummary;
pub use gamma_gamma_expected_spend::GammaGammaExpectedSpend;
pub use gamma_gamma_fit::GammaGammaFit;
pub use lifecycle_stage::LifecycleStage;
pub use pareto_nbd_expected_purchases::ParetoNbdExpectedPurchases;
pub use pareto_nbd_expected_purchases_new::ParetoNbdExpectedPurchasesNew;
pub use pareto_nbd_fit::ParetoNbdFit;
pub use pareto_nbd_p_alive::ParetoNbdPAlive;

crate::macros::functions! {
    scalar BgnbdExpectedPurchases => bgnbd_expected_purchases, bgnbd_expected_purchases_udf;
    scalar BgnbdExpectedPurchasesNew => bgnbd_expected_purchases_new, bgnbd_expected_purchases_new_udf;
    scalar BgnbdPAlive => bgnbd_p_alive, bgnbd_p_alive_udf;
    scalar Clv => clv, clv_udf;
    scalar GammaGammaExpectedSpend => gamma_gamma_expected_spend, gamma_gamma_expected_spend_udf;
    scalar LifecycleStage => lifecycle_stage, lifecycle_stage_udf;
    scalar ParetoNbdExpectedPurchases => pareto_nbd_expected_purchases, pareto_nbd_expected_purchases_udf;
    scalar ParetoNbdExpectedPurchasesNew => pareto_nbd_expected_purchases_new, pareto_nbd_expected_purchases_new_udf;
    scalar ParetoNbdPAlive => pareto_nbd_p_alive, pareto_nbd_p_alive_udf;
    aggregate BgnbdFit => bgnbd_fit, bgnbd_fit_udaf;
    aggregate ClvHoldout => clv_holdout, clv_holdout_udaf;
    aggregate ClvSummary => clv_summary, clv_summary_udaf;
    aggregate GammaGammaFit => gamma_gamma_fit, gamma_gamma_fit_udaf;
    aggregate ParetoNbdFit => pareto_nbd_fit, pareto_nbd_fit_udaf;
}
