//! Shared statistics: distribution tails and quantiles, the two-sample Kolmogorov-Smirnov
//! statistic and its p-value, ROC ranking, the k-means (Lloyd) fit, special functions (ln Γ, ₂F₁), a BFGS minimiser for
//! likelihood fits and Cholesky solves for the regressions. Plain functions over
//! slices and numbers — no Arrow, no state — that any family may call; nothing here imports a
//! family.

pub(crate) mod distributions;
pub(crate) mod frequent;
pub(crate) mod hll;
pub(crate) mod kolmogorov_smirnov;
pub(crate) mod linalg;
pub(crate) mod lloyd;
pub(crate) mod optimize;
pub(crate) mod roc;
pub(crate) mod special;
