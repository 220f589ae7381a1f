//! The k-means fit behind `kmeans`: greedy k-means++ seeding and Lloyd iterations, as
//! scikit-learn's `KMeans(algorithm='lloyd')` does them.

/// A fitted model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fit {
    /// k centroids of `dim` coordinates, row-major, sorted lexicographically.
    pub centroids: Vec<f64>,
    pub inertia: f64,
    pub iterations: usize,
}

const MAX_ITER: usize = 300;
const TOL: f64 = 1e-4;

/// Fits `k` centroids to `points` (n × dim, row-major), keeping the best of `n_init` runs
/// by inertia. The points are sorted first so that the result does not depend on the
/// order in which they arrived.
pub(crate) fn fit(points: &mut [f64], dim: usize, k: usize, seed: u64, n_init: usize) -> Fit {
    sort_rows(points, dim);
    let n = points.len() / dim;
    let tol = TOL * mean_variance(points, dim);
    let mut best: Option<Fit> = None;
    for run in 0..n_init.max(1) {
        let mut rng = SplitMix64::new(seed, run as u64);
        let centers = kmeans_plus_plus(points, dim, n, k, &mut rng);
        let fit = lloyd(points, dim, n, k, centers, tol);
        if best.as_ref().is_none_or(|b| fit.inertia < b.inertia) {
            best = Some(fit);
        }
    }
    let mut best = best.unwrap_or(Fit { centroids: Vec::new(), inertia: 0.0, iterations: 0 });
    sort_rows(&mut best.centroids, dim);
    best
}

/// Greedy k-means++ (Arthur & Vassilvitskii 2007, with 2 + ln k local trials per centre as
/// in scikit-learn).
fn kmeans_plus_plus(points: &[f64], dim: usize, n: usize, k: usize, rng: &mut SplitMix64) -> Vec<f64> {
    let row = |i: usize| &points[i * dim..(i + 1) * dim];
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut centers = Vec::with_capacity(k * dim);
    let first = rng.below(n);
    centers.extend_from_slice(row(first));
    let mut closest: Vec<f64> = (0..n).map(|i| squared_distance(row(i), row(first))).collect();
    let mut potential: f64 = closest.iter().sum();
    let mut candidate_distances = vec![0.0; n];
    let mut best_distances = vec![0.0; n];
    for _ in 1..k {
        let mut best_candidate = None;
        let mut best_potential = f64::INFINITY;
        for _ in 0..trials {
            let candidate = sample_by_weight(&closest, rng.uniform() * potential);
            let c = row(candidate);
            let mut candidate_potential = 0.0;
            for (i, d) in candidate_distances.iter_mut().enumerate() {
                *d = closest[i].min(squared_distance(row(i), c));
                candidate_potential += *d;
            }
            if candidate_potential < best_potential {
                best_potential = candidate_potential;
                best_candidate = Some(candidate);
                best_distances.copy_from_slice(&candidate_distances);
            }
        }
        let chosen = best_candidate.unwrap_or(0);
        centers.extend_from_slice(row(chosen));
        closest.copy_from_slice(&best_distances);
        potential = best_potential;
    }
    centers
}

/// The index where the cumulative weight first exceeds `target` (numpy searchsorted, left).
fn sample_by_weight(weights: &[f64], target: f64) -> usize {
    let mut cumulative = 0.0;
    for (i, w) in weights.iter().enumerate() {
        cumulative += w;
        if cumulative > target {
            return i;
        }
    }
    weights.len() - 1
}

/// Lloyd iterations until the centres move less than `tol` in total squared distance,
/// labels stop changing, or `MAX_ITER`; then a final assignment.
fn lloyd(points: &[f64], dim: usize, n: usize, k: usize, mut centers: Vec<f64>, tol: f64) -> Fit {
    let row = |i: usize| &points[i * dim..(i + 1) * dim];
    let mut labels = vec![usize::MAX; n];
    let mut distances = vec![0.0; n];
    let mut iterations = 0;
    for iteration in 1..=MAX_ITER {
        iterations = iteration;
        let changed = assign(points, dim, &centers, &mut labels, &mut distances);
        if !changed && iteration > 1 {
            break;
        }
        let mut sums = vec![0.0; k * dim];
        let mut counts = vec![0usize; k];
        for i in 0..n {
            counts[labels[i]] += 1;
            for (s, x) in sums[labels[i] * dim..(labels[i] + 1) * dim].iter_mut().zip(row(i)) {
                *s += x;
            }
        }
        relocate_empty_clusters(points, dim, &mut sums, &mut counts, &labels, &distances);
        let mut shift = 0.0;
        for c in 0..k {
            for j in 0..dim {
                let new = sums[c * dim + j] / counts[c] as f64;
                shift += (new - centers[c * dim + j]).powi(2);
                centers[c * dim + j] = new;
            }
        }
        if shift <= tol {
            break;
        }
    }
    assign(points, dim, &centers, &mut labels, &mut distances);
    Fit { inertia: distances.iter().sum(), centroids: centers, iterations }
}

/// Moves each empty cluster to the point farthest from its centre (as scikit-learn does).
fn relocate_empty_clusters(
    points: &[f64],
    dim: usize,
    sums: &mut [f64],
    counts: &mut [usize],
    labels: &[usize],
    distances: &[f64],
) {
    let empty: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] == 0).collect();
    if empty.is_empty() {
        return;
    }
    let mut far: Vec<usize> = (0..distances.len()).collect();
    far.sort_by(|&a, &b| distances[b].total_cmp(&distances[a]).then(a.cmp(&b)));
    for (cluster, &point) in empty.into_iter().zip(&far) {
        let old = labels[point];
        if counts[old] <= 1 {
            continue;
        }
        for j in 0..dim {
            let x = points[point * dim + j];
            sums[old * dim + j] -= x;
            sums[cluster * dim + j] = x;
        }
        counts[old] -= 1;
        counts[cluster] = 1;
    }
}

/// Assigns every point to its nearest centre (the lowest index on ties); returns whether
/// any label changed.
fn assign(points: &[f64], dim: usize, centers: &[f64], labels: &mut [usize], distances: &mut [f64]) -> bool {
    let mut changed = false;
    for (i, point) in points.chunks_exact(dim).enumerate() {
        let (label, distance) = nearest(point, centers, dim);
        changed |= labels[i] != label;
        labels[i] = label;
        distances[i] = distance;
    }
    changed
}

/// Index and squared distance of the centre nearest to `point` (the lowest index on ties).
pub(crate) fn nearest(point: &[f64], centers: &[f64], dim: usize) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (c, center) in centers.chunks_exact(dim).enumerate() {
        let d = squared_distance(point, center);
        if d < best.1 {
            best = (c, d);
        }
    }
    best
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Mean over the coordinates of their population variance (scikit-learn's tolerance scale).
fn mean_variance(points: &[f64], dim: usize) -> f64 {
    let n = (points.len() / dim) as f64;
    let mut total = 0.0;
    for j in 0..dim {
        let mean = points.iter().skip(j).step_by(dim).sum::<f64>() / n;
        total += points.iter().skip(j).step_by(dim).map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    }
    total / dim as f64
}

/// Sorts the rows of a row-major matrix lexicographically.
fn sort_rows(values: &mut [f64], dim: usize) {
    let mut rows: Vec<Vec<f64>> = values.chunks_exact(dim).map(<[f64]>::to_vec).collect();
    rows.sort_by(|a, b| {
        a.iter().zip(b).map(|(x, y)| x.total_cmp(y)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
    });
    for (target, row) in values.chunks_exact_mut(dim).zip(rows) {
        target.copy_from_slice(&row);
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a small generator whose stream never changes.
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64, stream: u64) -> Self {
        let mut rng = Self(seed ^ 0x6b6d_6561_6e73_2b2b); // "kmeans++"
        rng.0 = rng.0.wrapping_add(stream.wrapping_mul(0xd1b5_4a32_d192_ed03));
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn finds_well_separated_clusters() {
        let mut points = Vec::new();
        for (cx, cy) in [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)] {
            for i in 0..20 {
                let t = f64::from(i) * 0.3;
                points.extend([cx + t.sin() * 0.5, cy + t.cos() * 0.5]);
            }
        }
        let result = fit(&mut points.clone(), 2, 3, 0, 5);
        let centroids: Vec<i64> = result.centroids.iter().map(|c| c.round() as i64).collect();
        assert_eq!(centroids, [0, 0, 0, 10, 10, 0]);
        assert!(result.inertia < 60.0 * 0.3);
        // the order of the rows does not matter
        let reordered = fit(&mut points.chunks(2).rev().flatten().copied().collect::<Vec<_>>(), 2, 3, 0, 5);
        assert_eq!(reordered, result);
    }

    #[test]
    fn k_equal_to_the_number_of_points_has_zero_inertia() {
        let mut points = vec![1.0, 2.0, 3.0];
        let result = fit(&mut points, 1, 3, 7, 1);
        assert_eq!(result.centroids, [1.0, 2.0, 3.0]);
        assert!(result.inertia.abs() < 1e-12);
    }
}
