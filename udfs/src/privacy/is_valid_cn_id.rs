//! `is_valid_cn_id`: validates an 18-digit resident identity number of the PRC (GB 11643-1999).

use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::string_predicate;

#[user_doc(
    doc_section(label = "Privacy Functions"),
    description = "Returns true when the string is a well-formed 18-character resident identity number of the PRC (GB 11643-1999): \
17 ASCII digits followed by a check character; the first two digits a province code (11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71, 81, 82); \
digits 7-14 a real calendar date YYYYMMDD with year 1900-2099; and the 18th character the ISO 7064 MOD 11-2 check digit \
(weights 2^(17-i) mod 11, remainder 0..10 mapped to 1 0 X 9 8 7 6 5 4 3 2; lower-case x is accepted). \
No whitespace is trimmed, 15-digit legacy numbers are invalid, and the date is not compared with today. NULL gives NULL.",
    syntax_example = "is_valid_cn_id(id_number)",
    sql_example = r#"```sql
> SELECT is_valid_cn_id('11010519491231002X'), is_valid_cn_id('110105194912310021');
+--------------------------------------------+--------------------------------------------+
| is_valid_cn_id(Utf8("11010519491231002X")) | is_valid_cn_id(Utf8("110105194912310021")) |
+--------------------------------------------+--------------------------------------------+
| true                                       | false                                      |
+--------------------------------------------+--------------------------------------------+
```"#,
    argument(name = "id_number", description = "String expression holding the identity number.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IsValidCnId {
    signature: Signature,
}

impl Default for IsValidCnId {
    fn default() -> Self {
        Self::new()
    }
}

impl IsValidCnId {
    #[must_use]
    pub fn new() -> Self {
        Self { signature: Signature::string(1, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for IsValidCnId {
    fn name(&self) -> &'static str {
        "is_valid_cn_id"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        string_predicate(self.name(), &args.args[0], args.number_rows, is_valid_cn_id)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_standard_example() {
        // the worked example of GB 11643-1999
        assert!(is_valid_cn_id("11010519491231002X"));
        assert!(is_valid_cn_id("11010519491231002x"));
        assert_eq!(cn_id_check_digit(b"11010519491231002"), Some(b'X'));
    }

    #[test]
    fn rejects_bad_check_digit_date_province_and_length() {
        assert!(!is_valid_cn_id("110105194912310021"));
        assert!(!is_valid_cn_id("110105194902300026")); // 30 February
        assert!(!is_valid_cn_id("99010519491231002X"));
        assert!(!is_valid_cn_id("1101051949123100"));
        assert!(!is_valid_cn_id("11010519491231002X "));
        assert!(!is_valid_cn_id("1101051949123100２X"));
        assert!(!is_valid_cn_id(""));
    }
}
