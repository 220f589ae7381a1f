//! Ranking statistics of scores with binary labels, from the scores' runs: each distinct score
//! once, ascending, with its rows labelled 0 and 1 — what a group that counts its scores holds,
//! and what sorted lists of scores reduce to ([`runs_of_sorted`]).

/// A distinct score with its rows labelled 0 (`[0]`) and 1 (`[1]`).
pub(crate) type ScoreRun = (f64, [u64; 2]);

/// The runs of ascending negative and positive scores: equal scores (`==`, so -0.0 and 0.0
/// are one) make one run, and a zero run's score is 0.0 (as a group that counts its scores
/// stores it), whichever zeros it holds.
pub(crate) fn runs_of_sorted(neg: &[f64], pos: &[f64]) -> Vec<ScoreRun> {
    let (mut i, mut j) = (0, 0);
    let mut runs = Vec::new();
    loop {
        let x = match (neg.get(i), pos.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => return runs,
        };
        let mut counts = [0u64; 2];
        while i < neg.len() && neg[i] == x {
            counts[0] += 1;
            i += 1;
        }
        while j < pos.len() && pos[j] == x {
            counts[1] += 1;
            j += 1;
        }
        // -0.0 + 0.0 is 0.0; every other score is unchanged
        runs.push((x + 0.0, counts));
    }
}

/// Rows labelled 0 and 1.
pub(crate) fn totals(runs: &[ScoreRun]) -> [u64; 2] {
    runs.iter().fold([0, 0], |[n, p], (_, [neg, pos])| [n + neg, p + pos])
}

/// Area under the ROC curve: the share of (positive, negative) pairs where the positive scores
/// higher, ties counting ½. `None` without rows of either label. One term per distinct
/// positive score, in ascending order — the same sums, in the same order, as pairing sorted
/// lists run by run.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn auc(runs: &[ScoreRun]) -> Option<f64> {
    let [n_neg, n_pos] = totals(runs);
    if n_neg == 0 || n_pos == 0 {
        return None;
    }
    let (mut below, mut wins) = (0u64, 0.0);
    for &(_, [neg, pos]) in runs {
        if pos > 0 {
            wins += pos as f64 * (below as f64 + 0.5 * neg as f64);
        }
        below += neg;
    }
    Some(wins / (n_neg as f64 * n_pos as f64))
}

/// The Kolmogorov-Smirnov distance between the positives' and the negatives' score
/// distributions, exactly as [`super::kolmogorov_smirnov::ks_statistic`]`(positives,
/// negatives)` computes it from sorted lists (both CDFs stepped at every distinct score).
/// `None` without rows of either label.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn ks_separation(runs: &[ScoreRun]) -> Option<f64> {
    let [n_neg, n_pos] = totals(runs);
    if n_neg == 0 || n_pos == 0 {
        return None;
    }
    let (n1, n2) = (n_pos as f64, n_neg as f64);
    let (mut i, mut j) = (0u64, 0u64);
    let (mut max_diff, mut min_diff) = (f64::NEG_INFINITY, f64::INFINITY);
    for &(_, [neg, pos]) in runs {
        i += pos;
        j += neg;
        let diff = i as f64 / n1 - j as f64 / n2;
        max_diff = max_diff.max(diff);
        min_diff = min_diff.min(diff);
    }
    let below = (-min_diff).clamp(0.0, 1.0);
    Some(if below > max_diff { below } else { max_diff })
}

#[cfg(test)]
mod tests {
    use super::{auc, ks_separation, runs_of_sorted};
    use crate::stats::kolmogorov_smirnov::ks_statistic;

    #[test]
    fn auc_counts_ties_as_half() {
        // sklearn roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        assert_eq!(auc(&runs_of_sorted(&[0.1, 0.4], &[0.35, 0.8])), Some(0.75));
        // all scores equal: 0.5
        assert_eq!(auc(&runs_of_sorted(&[1.0, 1.0], &[1.0])), Some(0.5));
        assert_eq!(auc(&runs_of_sorted(&[], &[1.0])), None);
    }

    #[test]
    fn runs_merge_equal_scores() {
        let runs = runs_of_sorted(&[-0.0, 0.0, 1.0, 3.0], &[0.0, 2.0, 3.0, 3.0]);
        assert_eq!(runs, vec![(0.0, [2, 1]), (1.0, [1, 0]), (2.0, [0, 1]), (3.0, [1, 2])]);
        // the zero run is +0.0 whichever zeros it holds
        for (neg, pos) in [(&[-0.0][..], &[][..]), (&[-0.0], &[0.0]), (&[0.0], &[-0.0])] {
            let zero = runs_of_sorted(neg, pos)[0].0;
            assert!(zero == 0.0 && zero.is_sign_positive(), "{neg:?} {pos:?}");
        }
    }

    /// The KS distance of runs equals the two-sample statistic of the lists they come from.
    #[test]
    fn ks_of_runs_is_the_two_sample_statistic() {
        let cases: [(&[f64], &[f64]); 4] = [
            (&[1.0, 2.0, 2.0, 3.0], &[2.0, 3.0, 4.0]),
            (&[1.0, 2.0], &[1.0, 2.0]),
            (&[0.1, 0.4], &[0.35, 0.8]),
            (&[5.0, 6.0, 7.0], &[1.0, 2.0]),
        ];
        for (neg, pos) in cases {
            assert_eq!(ks_separation(&runs_of_sorted(neg, pos)), Some(ks_statistic(pos, neg)));
        }
        assert_eq!(ks_separation(&runs_of_sorted(&[1.0], &[])), None);
    }
}
