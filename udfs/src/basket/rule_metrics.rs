//! Association-rule metrics from supports, as mlxtend's `association_rules` defines them.

/// Metrics of a rule A -> C from the supports of A, C and A ∪ C.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RuleMetrics {
    /// support(A ∪ C) / support(A); `None` when support(A) is 0.
    pub confidence: Option<f64>,
    /// confidence / support(C); `None` when either is undefined or zero support(C).
    pub lift: Option<f64>,
    /// support(A ∪ C) − support(A) · support(C).
    pub leverage: f64,
    /// (1 − support(C)) / (1 − confidence), +∞ when confidence is 1.
    pub conviction: Option<f64>,
    /// leverage / max(support(A ∪ C)(1 − support(A)), support(A)(support(C) − support(A ∪ C))), 0 when that is 0.
    pub zhangs_metric: f64,
}

pub(crate) fn rule_metrics(s_a: f64, s_c: f64, s_ac: f64) -> RuleMetrics {
    let confidence = (s_a > 0.0).then(|| s_ac / s_a);
    let lift = confidence.filter(|_| s_c > 0.0).map(|c| c / s_c);
    let leverage = s_ac - s_a * s_c;
    let conviction = confidence.map(|c| if c < 1.0 { (1.0 - s_c) / (1.0 - c) } else { f64::INFINITY });
    let denominator = (s_ac * (1.0 - s_a)).max(s_a * (s_c - s_ac));
    let zhangs_metric = if denominator == 0.0 { 0.0 } else { leverage / denominator };
    RuleMetrics { confidence, lift, leverage, conviction, zhangs_metric }
}

#[cfg(test)]
mod tests {
    use super::rule_metrics;

    #[test]
    fn textbook_values() {
        // 10 baskets: A in 4, C in 5, both in 3
        let m = rule_metrics(0.4, 0.5, 0.3);
        assert!((m.confidence.unwrap_or_default() - 0.75).abs() < 1e-15);
        assert!((m.lift.unwrap_or_default() - 1.5).abs() < 1e-15);
        assert!((m.leverage - 0.1).abs() < 1e-15);
        assert!((m.conviction.unwrap_or_default() - 2.0).abs() < 1e-12);
        assert!((m.zhangs_metric - 0.1 / 0.18).abs() < 1e-12);
        assert_eq!(rule_metrics(0.2, 0.5, 0.2).conviction, Some(f64::INFINITY));
        assert_eq!(rule_metrics(0.0, 0.5, 0.0).confidence, None);
    }
}
