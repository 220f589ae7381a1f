//! `is_valid_cn_id`: validates an 18-digit resident identity number of the PRC (GB 11643-1999).

use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::string_predicate;
pub use crate::common::validate::{cn_id_check_digit, is_valid_cn_id};

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
