//! The binning and the measures the drift functions share: quantile cut points of the
//! expected sample, right-closed bins, the missing bin, and PSI / Jensen-Shannon on shares.

/// Bins when no bins argument is given.
pub(crate) const DEFAULT_BINS: usize = 10;
/// Upper bound on n_bins.
pub(crate) const MAX_BINS: usize = 10_000;
/// The share that replaces an empty bin's share of 0, unless smoothing is turned off.
pub(crate) const DEFAULT_EPSILON: f64 = 1e-4;

/// Cut points at the quantiles k / n_bins (k = 1 .. n_bins - 1) of `sorted` (ascending, finite
/// values), with numpy's default linear interpolation (virtual index (N - 1) q), duplicates
/// dropped. Empty when `sorted` is.
pub(crate) fn quantile_edges(sorted: &[f64], n_bins: usize) -> Vec<f64> {
    let mut edges: Vec<f64> = Vec::with_capacity(n_bins.saturating_sub(1));
    if sorted.is_empty() {
        return edges;
    }
    let last = sorted.len() - 1;
    for k in 1..n_bins {
        let q = k as f64 / n_bins as f64;
        let virtual_index = last as f64 * q;
        let below = (virtual_index.floor() as usize).min(last);
        let above = (below + 1).min(last);
        let edge = lerp(sorted[below], sorted[above], virtual_index - below as f64);
        if edges.last() != Some(&edge) {
            edges.push(edge);
        }
    }
    edges
}

/// numpy's `_lerp`: a + (b - a) t, computed from b when t >= 0.5.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Up to this many edges, [`bin_of`] counts instead of searching.
pub(crate) const COUNTED_EDGES: usize = 32;

/// The bin of `x` (not NaN) among (-inf, e_0], (e_0, e_1], ..., (e_last, +inf), for ascending
/// `edges`: the number of edges below `x`. Deciles and other short edge lists are counted
/// without branches (the compiler vectorises it; a binary search mispredicts on every step),
/// longer ones searched.
pub(crate) fn bin_of(x: f64, edges: &[f64]) -> usize {
    if edges.len() <= COUNTED_EDGES {
        edges.iter().map(|&e| usize::from(e < x)).sum()
    } else {
        edges.partition_point(|&e| e < x)
    }
}

/// One bin: a label, its bounds (none for categories and the missing bin), and the
/// expected [0] and actual [1] counts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bin {
    pub label: String,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub counts: [u64; 2],
}

/// The numeric bins of `edges` with their counts (`counts.len() == edges.len() + 1`).
pub(crate) fn numeric_bins(edges: &[f64], counts: &[[u64; 2]]) -> Vec<Bin> {
    counts
        .iter()
        .enumerate()
        .map(|(i, &counts)| {
            let lower = if i == 0 { f64::NEG_INFINITY } else { edges[i - 1] };
            let upper = edges.get(i).copied().unwrap_or(f64::INFINITY);
            let close = if upper.is_finite() { "]" } else { ")" };
            Bin { label: format!("({lower}, {upper}{close}"), lower: Some(lower), upper: Some(upper), counts }
        })
        .collect()
}

/// The bin of NULL and NaN values, added when either side has any.
pub(crate) fn with_missing(mut bins: Vec<Bin>, missing: [u64; 2]) -> Vec<Bin> {
    if missing != [0, 0] {
        bins.push(Bin { label: "NULL".to_string(), lower: None, upper: None, counts: missing });
    }
    bins
}

/// Sample sizes: expected and actual rows over all bins.
pub(crate) fn totals(bins: &[Bin]) -> [u64; 2] {
    bins.iter().fold([0, 0], |t, b| [t[0] + b.counts[0], t[1] + b.counts[1]])
}

/// PSI contribution of one bin with shares `e` (expected) and `a` (actual): (a - e) ln(a / e),
/// a share of 0 replaced by `epsilon` when `epsilon > 0`; without smoothing a bin empty on one
/// side only gives +inf, and a bin empty on both sides 0.
pub(crate) fn psi_term(e: f64, a: f64, epsilon: f64) -> f64 {
    let (e, a) =
        if epsilon > 0.0 { (if e == 0.0 { epsilon } else { e }, if a == 0.0 { epsilon } else { a }) } else { (e, a) };
    match (e == 0.0, a == 0.0) {
        (true, true) => 0.0,
        (true, false) | (false, true) => f64::INFINITY,
        (false, false) => (a - e) * (a / e).ln(),
    }
}

/// Shares of each bin: count / side total.
pub(crate) fn shares(bin: &Bin, totals: [u64; 2]) -> [f64; 2] {
    [bin.counts[0] as f64 / totals[0] as f64, bin.counts[1] as f64 / totals[1] as f64]
}

/// PSI over `bins`; `None` when either side is empty.
pub(crate) fn psi(bins: &[Bin], epsilon: f64) -> Option<f64> {
    let totals = totals(bins);
    if totals[0] == 0 || totals[1] == 0 {
        return None;
    }
    Some(bins.iter().map(|b| shares(b, totals)).map(|[e, a]| psi_term(e, a, epsilon)).sum())
}

/// Jensen-Shannon divergence (natural log) of the expected and actual shares over `bins`:
/// ½ Σ e ln(e / m) + ½ Σ a ln(a / m), m = (e + a) / 2, terms with a zero share are 0.
/// `None` when either side is empty.
pub(crate) fn js_divergence(bins: &[Bin]) -> Option<f64> {
    let totals = totals(bins);
    if totals[0] == 0 || totals[1] == 0 {
        return None;
    }
    let term = |p: f64, m: f64| if p > 0.0 { p * (p / m).ln() } else { 0.0 };
    let (mut left, mut right) = (0.0, 0.0);
    for [e, a] in bins.iter().map(|b| shares(b, totals)) {
        let m = (e + a) / 2.0;
        left += term(e, m);
        right += term(a, m);
    }
    Some(0.5 * left + 0.5 * right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_and_searching_find_the_same_bin() {
        // right-closed bins, infinities in the outer bins, on both sides of the counting cap
        for n in [1, 9, COUNTED_EDGES, COUNTED_EDGES + 1, 100] {
            let edges: Vec<f64> = (0..n).map(|i| f64::from(i32::try_from(i).unwrap_or_default()) * 1.5).collect();
            for x in [f64::NEG_INFINITY, -1.0, 0.0, 0.1, 1.5, 1.6, 7.5, 47.9, 48.0, 149.0, f64::INFINITY] {
                assert_eq!(bin_of(x, &edges), edges.partition_point(|&e| e < x), "n = {n}, x = {x}");
            }
        }
        assert_eq!(bin_of(0.0, &[0.0, 1.0]), 0);
        assert_eq!(bin_of(1.0, &[0.0, 1.0]), 1);
        assert_eq!(bin_of(1.0 + 1e-12, &[0.0, 1.0]), 2);
    }

    #[test]
    fn numpy_linear_quantiles() {
        // np.quantile([1, 2, 3, 4, 10], [0.25, 0.5, 0.75]) = [2, 3, 4]
        assert_eq!(quantile_edges(&[1.0, 2.0, 3.0, 4.0, 10.0], 4), [2.0, 3.0, 4.0]);
        // np.quantile([0, 1], [1/3, 2/3]): 1/3 from below, 2/3 computed from above
        assert_eq!(quantile_edges(&[0.0, 1.0], 3), [1.0 / 3.0, 1.0 - (1.0 - 0.0) * (1.0 - 2.0 / 3.0)]);
        // duplicates dropped
        assert_eq!(quantile_edges(&[5.0, 5.0, 5.0, 5.0, 9.0], 4), [5.0]);
        assert!(quantile_edges(&[], 10).is_empty());
    }

    #[test]
    fn bins_are_closed_on_the_right() {
        let edges = [1.0, 2.0];
        assert_eq!(bin_of(f64::NEG_INFINITY, &edges), 0);
        assert_eq!(bin_of(1.0, &edges), 0);
        assert_eq!(bin_of(1.5, &edges), 1);
        assert_eq!(bin_of(2.0, &edges), 1);
        assert_eq!(bin_of(f64::INFINITY, &edges), 2);
    }

    #[test]
    fn psi_smoothing() {
        let bins = vec![
            Bin { label: "a".into(), lower: None, upper: None, counts: [5, 0] },
            Bin { label: "b".into(), lower: None, upper: None, counts: [5, 10] },
        ];
        let smoothed = (1e-4 - 0.5) * (1e-4f64 / 0.5).ln() + (1.0 - 0.5) * 2f64.ln();
        assert_eq!(psi(&bins, 1e-4), Some(smoothed));
        assert_eq!(psi(&bins, 0.0), Some(f64::INFINITY));
        assert_eq!(psi(&bins[..1], 1e-4), None);
        assert_eq!(psi_term(0.0, 0.0, 0.0), 0.0);
    }
}
