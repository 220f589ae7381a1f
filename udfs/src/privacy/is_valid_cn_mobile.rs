//! `is_valid_cn_mobile`: validates a mainland-China mobile number.

use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::string_predicate;
pub use crate::common::validate::is_valid_cn_mobile;

#[user_doc(
    doc_section(label = "Privacy Functions"),
    description = "Returns true when the string is a mainland-China mobile number: exactly 11 ASCII digits matching `1[3-9]` followed by 9 digits, \
optionally preceded by `+86` or `86` (nothing else: no spaces, dashes or trimming). NULL gives NULL.",
    syntax_example = "is_valid_cn_mobile(phone)",
    sql_example = r#"```sql
> SELECT is_valid_cn_mobile('13812345678'), is_valid_cn_mobile('+8613812345678'), is_valid_cn_mobile('12812345678');
+-----------------------------------------+--------------------------------------------+-----------------------------------------+
| is_valid_cn_mobile(Utf8("13812345678")) | is_valid_cn_mobile(Utf8("+8613812345678")) | is_valid_cn_mobile(Utf8("12812345678")) |
+-----------------------------------------+--------------------------------------------+-----------------------------------------+
| true                                    | true                                       | false                                   |
+-----------------------------------------+--------------------------------------------+-----------------------------------------+
```"#,
    argument(name = "phone", description = "String expression holding the phone number.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IsValidCnMobile {
    signature: Signature,
}

impl Default for IsValidCnMobile {
    fn default() -> Self {
        Self::new()
    }
}

impl IsValidCnMobile {
    #[must_use]
    pub fn new() -> Self {
        Self { signature: Signature::string(1, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for IsValidCnMobile {
    fn name(&self) -> &'static str {
        "is_valid_cn_mobile"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        string_predicate(self.name(), &args.args[0], args.number_rows, is_valid_cn_mobile)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::is_valid_cn_mobile;

    #[test]
    fn accepts_plain_and_prefixed_numbers() {
        assert!(is_valid_cn_mobile("13812345678"));
        assert!(is_valid_cn_mobile("19912345678"));
        assert!(is_valid_cn_mobile("+8613812345678"));
        assert!(is_valid_cn_mobile("8613812345678"));
    }

    #[test]
    fn rejects_wrong_prefix_length_and_characters() {
        assert!(!is_valid_cn_mobile("12812345678"));
        assert!(!is_valid_cn_mobile("1381234567"));
        assert!(!is_valid_cn_mobile("138123456789"));
        assert!(!is_valid_cn_mobile("138 1234 5678"));
        assert!(!is_valid_cn_mobile("1381234567a"));
        assert!(!is_valid_cn_mobile("+86 13812345678"));
        assert!(!is_valid_cn_mobile(""));
    }
}
