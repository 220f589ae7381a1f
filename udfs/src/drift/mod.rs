//! Distribution shift between an expected (baseline) and an actual sample: PSI with its
//! drill-down and fixed-baseline variants, Jensen-Shannon divergence, two-sample KS.

mod binning;
mod js_divergence;
mod ks_2samp;
mod psi;
mod psi_bins;
mod psi_edges;
mod psi_from_counts;
mod psi_histogram;
mod sample_state;
mod shared_edges;

pub use js_divergence::JsDivergence;
pub use ks_2samp::Ks2Samp;
pub use psi::Psi;
pub use psi_bins::PsiBins;
pub use psi_edges::PsiEdges;
pub use psi_from_counts::PsiFromCounts;
pub use psi_histogram::PsiHistogram;
pub use shared_edges::SharedEdges;

crate::macros::functions! {
    scalar PsiFromCounts => psi_from_counts, psi_from_counts_udf;
    scalar SharedEdges => shared_edges, shared_edges_udf;
    aggregate JsDivergence => js_divergence, js_divergence_udaf;
    aggregate Ks2Samp => ks_2samp, ks_2samp_udaf;
    aggregate Psi => psi, psi_udaf;
    aggregate PsiBins => psi_bins, psi_bins_udaf;
    aggregate PsiEdges => psi_edges, psi_edges_udaf;
    aggregate PsiHistogram => psi_histogram, psi_histogram_udaf;
}
