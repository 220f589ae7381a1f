//! Segmentation: RFM inputs, quantile scores, the RFM segment map and cells, break-point
//! buckets, k-means.

mod distinct_keys_state;
mod kmeans;
mod kmeans_assign;
mod quantile_score;
mod rfm;
mod rfm_cell;
mod rfm_segment;
mod score_args;
mod segment_by;

pub use kmeans::KMeans;
pub use kmeans_assign::KMeansAssign;
pub use quantile_score::QuantileScore;
pub use rfm::Rfm;
pub use rfm_cell::RfmCell;
pub use rfm_segment::{rfm_segment_name, RfmSegment};
pub use segment_by::SegmentBy;

crate::macros::functions! {
    scalar KMeansAssign => kmeans_assign, kmeans_assign_udf;
    scalar RfmCell => rfm_cell, rfm_cell_udf;
    scalar RfmSegment => rfm_segment, rfm_segment_udf;
    scalar SegmentBy => segment_by, segment_by_udf;
    aggregate KMeans => kmeans, kmeans_udaf;
    aggregate Rfm => rfm, rfm_udaf;
    window QuantileScore => quantile_score, quantile_score_udwf;
}
