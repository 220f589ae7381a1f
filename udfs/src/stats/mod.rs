//! Shared statistics: distribution tails and quantiles, the two-sample Kolmogorov-Smirnov
//! statistic and its p-value, ROC ranking, and the k-means (Lloyd) fit. Plain functions over
//! slices and numbers — no Arrow, no state — that any family may call; nothing here imports a
//! family.

pub(crate) mod distributions;
pub(crate) mod kolmogorov_smirnov;
pub(crate) mod lloyd;
pub(crate) mod roc;
