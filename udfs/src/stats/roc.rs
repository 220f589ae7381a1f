//! Ranking statistics of scores with binary labels.

/// Area under the ROC curve from ascending negative and positive scores: the share of
/// (positive, negative) pairs where the positive scores higher, ties counting ½.
pub(crate) fn auc(neg: &[f64], pos: &[f64]) -> Option<f64> {
    if neg.is_empty() || pos.is_empty() {
        return None;
    }
    let (mut below, mut j) = (0usize, 0usize);
    let mut wins = 0.0;
    let mut i = 0;
    while i < pos.len() {
        let s = pos[i];
        let mut run = 0usize;
        while i < pos.len() && pos[i] == s {
            run += 1;
            i += 1;
        }
        while j < neg.len() && neg[j] < s {
            below += 1;
            j += 1;
        }
        let mut equal = 0usize;
        while j + equal < neg.len() && neg[j + equal] == s {
            equal += 1;
        }
        wins += run as f64 * (below as f64 + 0.5 * equal as f64);
    }
    Some(wins / (neg.len() as f64 * pos.len() as f64))
}

#[cfg(test)]
mod tests {
    use super::auc;

    #[test]
    fn auc_counts_ties_as_half() {
        // sklearn roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        assert_eq!(auc(&[0.1, 0.4], &[0.35, 0.8]), Some(0.75));
        // all scores equal: 0.5
        assert_eq!(auc(&[1.0, 1.0], &[1.0]), Some(0.5));
        assert_eq!(auc(&[], &[1.0]), None);
    }
}
