//! Distribution shift between an expected (baseline) and an actual sample: PSI with its
//! drill-down and fixed-baseline variants, Jensen-Shannon divergence, two-sample KS.

mod bins;
mod js_divergence;
pub(crate) mod ks_2samp;
mod ks_pvalue;
mod psi;
mod psi_bins;
mod psi_edges;
mod psi_from_counts;
mod psi_histogram;
mod sample;

use arrow::datatypes::DataType;
use datafusion::logical_expr::{Signature, TypeSignature, Volatility};

pub use js_divergence::JsDivergence;
pub use ks_2samp::Ks2Samp;
pub use psi::Psi;
pub use psi_bins::PsiBins;
pub use psi_edges::PsiEdges;
pub use psi_from_counts::PsiFromCounts;
pub use psi_histogram::PsiHistogram;

/// `(value, is_actual [, bins [, epsilon]])`: UserDefined coerces (see `sample::coerce_sample_args`);
/// the Exact variants document the usual argument types for SHOW FUNCTIONS.
fn sample_signature() -> Signature {
    let list = DataType::new_list(DataType::Float64, true);
    Signature::one_of(
        vec![
            TypeSignature::UserDefined,
            TypeSignature::Exact(vec![DataType::Float64, DataType::Boolean]),
            TypeSignature::Exact(vec![DataType::Utf8, DataType::Boolean]),
            TypeSignature::Exact(vec![DataType::Float64, DataType::Boolean, DataType::Int64]),
            TypeSignature::Exact(vec![DataType::Float64, DataType::Boolean, list]),
        ],
        Volatility::Immutable,
    )
}
