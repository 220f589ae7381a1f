//! Human-readable byte sizes (`512M`, `4G`) for flags and configuration files.

/// Parses sizes such as `512M`, `4G`, `1.5G` or a plain number of bytes (binary units:
/// K = 1024).
///
/// # Errors
/// An unknown unit, a number that is not positive and finite, or an empty string.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len()));
    let factor: f64 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "K" | "KB" => 1024.0,
        "M" | "MB" => 1024.0 * 1024.0,
        "G" | "GB" => 1024.0 * 1024.0 * 1024.0,
        "T" | "TB" => 1024.0_f64.powi(4),
        other => return Err(format!("unknown size unit '{other}' (use K, M, G or T)")),
    };
    match number.trim().parse::<f64>() {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(n) if n.is_finite() && n > 0.0 => Ok((n * factor) as usize),
        _ => Err(format!("invalid size '{text}' (e.g. 512M or 4G)")),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("0").is_err());
        assert!(parse_size("4X").is_err());
        assert!(parse_size("").is_err());
    }
}
