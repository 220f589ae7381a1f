//! Validity rules of personal-data formats, shared by the privacy validators and the data-quality
//! profile.

const PROVINCE_CODES: [u8; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63,
    64, 65, 71, 81, 82,
];

/// The ISO 7064 MOD 11-2 check character (`b'0'..=b'9'` or `b'X'`) of the first 17 digits,
/// or `None` when `first17` is not 17 ASCII digits.
#[must_use]
pub fn cn_id_check_digit(first17: &[u8]) -> Option<u8> {
    if first17.len() != 17 || !first17.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // weight of position i (0-based) is 2^(17 - i) mod 11
    let mut weight: u32 = 1;
    let mut sum: u32 = 0;
    for &digit in first17.iter().rev() {
        weight = weight * 2 % 11;
        sum += u32::from(digit - b'0') * weight;
    }
    Some(b"10X98765432"[(sum % 11) as usize])
}

/// The validity rule of `is_valid_cn_id` on one value.
#[must_use]
pub fn is_valid_cn_id(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() != 18 {
        return false;
    }
    let Some(expected) = cn_id_check_digit(&bytes[..17]) else {
        return false;
    };
    let digits =
        |range: std::ops::Range<usize>| bytes[range].iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    let province = digits(0..2);
    if !PROVINCE_CODES.iter().any(|&p| u32::from(p) == province) {
        return false;
    }
    if !is_calendar_date(digits(6..10), digits(10..12), digits(12..14)) {
        return false;
    }
    bytes[17].to_ascii_uppercase() == expected
}

fn is_calendar_date(year: u32, month: u32, day: u32) -> bool {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1900..=2099).contains(&year) && (1..=days_in_month).contains(&day)
}

/// The validity rule of `is_valid_cn_mobile` on one value.
#[must_use]
pub fn is_valid_cn_mobile(value: &str) -> bool {
    let number = value
        .strip_prefix("+86")
        .or_else(|| value.strip_prefix("86").filter(|rest| rest.len() == 11))
        .unwrap_or(value)
        .as_bytes();
    number.len() == 11
        && number[0] == b'1'
        && (b'3'..=b'9').contains(&number[1])
        && number.iter().all(u8::is_ascii_digit)
}

/// The validity rule of `is_valid_email` on one value: `local@domain` with exactly one `@`;
/// the local part is 1–64 characters of letters, digits and ``!#$%&'*+/=?^_`{|}~.-`` without a
/// leading, trailing or doubled dot (RFC 5322's dot-atom, ASCII only, no quoted strings or
/// comments); the domain is at most 253 characters of two or more dot-separated labels of
/// 1–63 letters, digits and hyphens, no label starting or ending with a hyphen, and the last
/// label (the top-level domain) is at least two letters.
#[must_use]
pub fn is_valid_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    if domain.contains('@') {
        return false;
    }
    let local_ok = (1..=64).contains(&local.len())
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
    if !local_ok || domain.is_empty() || domain.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
}

#[cfg(test)]
mod tests {
    use super::is_valid_email;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in ["wang.fang1990@163.com", "li_na+promo@qq.com", "a@b.cn", "x-y@mail.example.com.cn"] {
            assert!(is_valid_email(ok), "{ok}");
        }
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "wang.fang",
            "@163.com",
            "wang@",
            "wang@@163.com",
            "wang@163",
            "wang@163.c",
            "wang@163.com1",
            ".wang@163.com",
            "wang.@163.com",
            "wa..ng@163.com",
            "wang fang@163.com",
            "wang@-163.com",
            "wang@163-.com",
            "wang@163..com",
            "王芳@163.com",
            "wang@163.com ",
        ] {
            assert!(!is_valid_email(bad), "{bad:?}");
        }
    }
}
