//! Segmentation: RFM inputs, quantile scores, the RFM segment map and cells, break-point
//! buckets, k-means.

mod distinct_keys;
mod kmeans;
mod kmeans_assign;
mod kmeans_lloyd;
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
