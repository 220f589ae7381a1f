//! Human-readable byte sizes (`512M`, `4G`) for flags and configuration files.

/// Parses sizes such as `512M`, `4G`, `1.5G` or a plain number of bytes (binary units:
/// K = 1024, M, G, T; an optional trailing `B` or `iB`, any case).
///
/// Whole numbers are exact. Fractions are allowed and rounded down to whole bytes
/// (`1.5G` = 1610612736, `0.5K` = 512), but the result must be at least one byte: `0`, `0.5`
/// and `0.0001K` are errors rather than a zero-byte memory pool.
///
/// # Errors
/// An unknown unit, a number that is not positive and finite, an empty string, a size under
/// one byte, or one larger than the address space (`usize::MAX` bytes) — never saturated.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let trimmed = text.trim();
    let (number, unit) = trimmed.split_at(trimmed.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(trimmed.len()));
    let number = number.trim();
    let shift: u32 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        other => return Err(format!("unknown size unit '{other}' in '{trimmed}' (use K, M, G or T)")),
    };
    let invalid = || format!("invalid size '{trimmed}' (e.g. 512M or 4G)");
    let too_large = || format!("size '{trimmed}' is too large (at most {} bytes)", usize::MAX);
    let bytes: u128 = if let Ok(whole) = number.parse::<u64>() {
        u128::from(whole) << shift
    } else {
        let value = number.parse::<f64>().map_err(|_| invalid())?;
        if !value.is_finite() || value <= 0.0 {
            return Err(invalid());
        }
        #[allow(clippy::cast_precision_loss)] // a power of two up to 2^40: exact
        let factor = (1_u64 << shift) as f64;
        let bytes = (value * factor).floor();
        // 2^64: every smaller f64 converts to u128 exactly
        if bytes >= 18_446_744_073_709_551_616.0 {
            return Err(too_large());
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let bytes = bytes as u128;
        bytes
    };
    if bytes == 0 {
        return Err(format!("size '{trimmed}' is less than one byte"));
    }
    usize::try_from(bytes).map_err(|_| too_large())
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size(" 4 gib "), Ok(4 << 30));
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("0.5K"), Ok(512));
        assert_eq!(parse_size("1.9"), Ok(1));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        assert!(parse_size("4X").unwrap_err().contains("unknown size unit 'X'"));
        assert!(parse_size("").is_err());
        assert!(parse_size("-1G").unwrap_err().contains("invalid size '-1G'"));
        assert!(parse_size("1.2.3M").is_err());
    }

    #[test]
    fn sizes_under_one_byte_are_errors_not_empty_pools() {
        for text in ["0", "0B", "0.5", "0.0001K", "0G"] {
            let error = parse_size(text).expect_err(text);
            assert!(error.contains("less than one byte") || error.contains("invalid size"), "{text}: {error}");
        }
        assert_eq!(parse_size("0.5").unwrap_err(), "size '0.5' is less than one byte");
    }

    #[test]
    fn huge_sizes_are_errors_not_saturated() {
        let max = usize::MAX.to_string();
        assert_eq!(parse_size(&max), Ok(usize::MAX));
        for text in ["18446744073709551616", "16777216T", "99999999999999999999T", "1e300", "17179869184.5G"] {
            let error = parse_size(text).expect_err(text);
            assert!(error.contains("too large") || error.contains("unknown size unit"), "{text}: {error}");
        }
        assert!(parse_size("16777216T").unwrap_err().contains("too large"));
        assert!(parse_size("17179869184.5G").unwrap_err().contains("too large"));
        assert!(parse_size("99999999999999999999").unwrap_err().contains("too large"));
    }
}
