//! Comparing a cluster's printed results with the local engine's.

/// Whether two printed values agree token by token (numbers inside nested values included):
/// floating values to 1e-9 relative or, for values a query rounded, to one unit of their last
/// decimal (sums in another order can land on the other side of a rounding boundary, and an AUC
/// over scores fitted that way can swap a tie); everything else exactly.
pub fn same_text(local: &str, remote: &str) -> bool {
    if local == remote {
        return true;
    }
    let tokens = |s: &str| -> Vec<String> {
        s.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_')))
            .map(str::to_string)
            .collect()
    };
    let (a, b) = (tokens(local), tokens(remote));
    a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| {
            x == y
                || matches!((x.parse::<f64>(), y.parse::<f64>()),
                    (Ok(p), Ok(q)) if (p - q).abs() <= last_digit(x).max(1e-9 * p.abs().max(q.abs())))
        })
}

/// One unit of the last decimal of a number written with at least two decimals, else 0.
fn last_digit(number: &str) -> f64 {
    match number.split_once('.') {
        Some((_, decimals)) if decimals.len() >= 2 && decimals.bytes().all(|b| b.is_ascii_digit()) => {
            1.000_001 * 10f64.powi(-i32::try_from(decimals.len()).unwrap_or(i32::MAX))
        }
        _ => 0.0,
    }
}
