//! Persona's SQL functions for Apache DataFusion.
//!
//! Every function lives in its own file, grouped by family folder, and carries
//! `#[user_doc]` documentation so `SHOW FUNCTIONS` and `information_schema.routines`
//! list it. [`register_all`] adds all of them to a [`SessionContext`]; a service can
//! depend on this crate alone.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF, WindowUDF};
use datafusion::prelude::SessionContext;

pub mod basket;
mod common;
pub mod drift;
pub mod evaluation;
mod group_state;
pub mod privacy;
pub mod segment;

/// All scalar functions of Persona.
#[must_use]
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(basket::AssociationRules::new())),
        Arc::new(ScalarUDF::from(drift::PsiFromCounts::new())),
        Arc::new(ScalarUDF::from(privacy::HashPii::new())),
        Arc::new(ScalarUDF::from(privacy::IsValidCnId::new())),
        Arc::new(ScalarUDF::from(privacy::IsValidCnMobile::new())),
        Arc::new(ScalarUDF::from(privacy::MaskEmail::new())),
        Arc::new(ScalarUDF::from(privacy::MaskIdNumber::new())),
        Arc::new(ScalarUDF::from(privacy::MaskName::new())),
        Arc::new(ScalarUDF::from(privacy::MaskPhone::new())),
        Arc::new(ScalarUDF::from(segment::KMeansAssign::new())),
        Arc::new(ScalarUDF::from(segment::RfmCell::new())),
        Arc::new(ScalarUDF::from(segment::RfmSegment::new())),
        Arc::new(ScalarUDF::from(segment::SegmentBy::new())),
    ]
}

/// All aggregate functions of Persona.
#[must_use]
pub fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    vec![
        Arc::new(AggregateUDF::from(basket::FrequentItemsets::new())),
        Arc::new(AggregateUDF::from(basket::RuleStats::new())),
        Arc::new(AggregateUDF::from(drift::JsDivergence::new())),
        Arc::new(AggregateUDF::from(drift::Ks2Samp::new())),
        Arc::new(AggregateUDF::from(drift::Psi::new())),
        Arc::new(AggregateUDF::from(drift::PsiBins::new())),
        Arc::new(AggregateUDF::from(drift::PsiEdges::new())),
        Arc::new(AggregateUDF::from(drift::PsiHistogram::new())),
        Arc::new(AggregateUDF::from(evaluation::Auc::new())),
        Arc::new(AggregateUDF::from(evaluation::GainsTable::new())),
        Arc::new(AggregateUDF::from(evaluation::Gini::new())),
        Arc::new(AggregateUDF::from(evaluation::InformationValue::new())),
        Arc::new(AggregateUDF::from(evaluation::KsStatistic::new())),
        Arc::new(AggregateUDF::from(evaluation::QiniAucScore::new())),
        Arc::new(AggregateUDF::from(evaluation::QiniCurve::new())),
        Arc::new(AggregateUDF::from(evaluation::ResponseLift::new())),
        Arc::new(AggregateUDF::from(evaluation::UpliftAtK::new())),
        Arc::new(AggregateUDF::from(evaluation::UpliftAucScore::new())),
        Arc::new(AggregateUDF::from(evaluation::UpliftCurve::new())),
        Arc::new(AggregateUDF::from(evaluation::WelchTtest::new())),
        Arc::new(AggregateUDF::from(evaluation::WoeTable::new())),
        Arc::new(AggregateUDF::from(segment::KMeans::new())),
        Arc::new(AggregateUDF::from(segment::Rfm::new())),
    ]
}

/// All window functions of Persona.
#[must_use]
pub fn window_functions() -> Vec<Arc<WindowUDF>> {
    vec![Arc::new(WindowUDF::from(segment::QuantileScore::new()))]
}

/// Registers every Persona function with `ctx`.
///
/// # Errors
/// Never fails today; the `Result` keeps the signature stable for functions that
/// need to check the session configuration when they are registered.
pub fn register_all(ctx: &SessionContext) -> Result<()> {
    for udf in scalar_functions() {
        ctx.register_udf(udf.as_ref().clone());
    }
    for udaf in aggregate_functions() {
        ctx.register_udaf(udaf.as_ref().clone());
    }
    for udwf in window_functions() {
        ctx.register_udwf(udwf.as_ref().clone());
    }
    Ok(())
}
