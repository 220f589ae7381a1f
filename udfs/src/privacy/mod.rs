//! Personal-data functions: validators, masking and keyed pseudonyms.

mod is_valid_cn_id;
mod is_valid_cn_mobile;

pub use is_valid_cn_id::{cn_id_check_digit, is_valid_cn_id, IsValidCnId};
pub use is_valid_cn_mobile::{is_valid_cn_mobile, IsValidCnMobile};
