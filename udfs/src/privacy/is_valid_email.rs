//! `is_valid_email`: validates the syntax of an e-mail address.

use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::string_predicate;
pub use crate::common::validate::is_valid_email;

#[user_doc(
    doc_section(label = "Privacy Functions"),
    description = "Returns true when the string is an e-mail address Persona accepts: `local@domain` with exactly one `@`; \
the local part is 1-64 characters of ASCII letters, digits and ``!#$%&'*+/=?^_`{|}~.-`` with no leading, trailing or doubled dot \
(RFC 5322 dot-atom; quoted local parts, comments and non-ASCII addresses are rejected); the domain is at most 253 characters of \
two or more dot-separated labels of 1-63 letters, digits and hyphens, no label starting or ending with a hyphen, \
and a top-level domain of at least two letters. No trimming. NULL gives NULL.",
    syntax_example = "is_valid_email(email)",
    sql_example = r#"```sql
> SELECT is_valid_email('wang.fang1990@163.com') AS a, is_valid_email('wang.fang@163') AS b, is_valid_email('wang..fang@qq.com') AS c;
+------+-------+-------+
| a    | b     | c     |
+------+-------+-------+
| true | false | false |
+------+-------+-------+
```"#,
    argument(name = "email", description = "String expression holding the e-mail address.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IsValidEmail {
    signature: Signature,
}

impl Default for IsValidEmail {
    fn default() -> Self {
        Self::new()
    }
}

impl IsValidEmail {
    #[must_use]
    pub fn new() -> Self {
        Self { signature: Signature::string(1, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for IsValidEmail {
    fn name(&self) -> &'static str {
        "is_valid_email"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        string_predicate(self.name(), &args.args[0], args.number_rows, is_valid_email)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
