//! Personal-data functions: validators, masking and keyed pseudonyms.

mod hash_pii;
mod is_valid_cn_id;
mod is_valid_cn_mobile;
mod is_valid_email;
mod mask_email;
mod mask_id_number;
mod mask_name;
mod mask_phone;
mod pseudonym;

pub use hash_pii::{hmac_sha256_hex, HashPii};
pub use is_valid_cn_id::{cn_id_check_digit, is_valid_cn_id, IsValidCnId};
pub use is_valid_cn_mobile::{is_valid_cn_mobile, IsValidCnMobile};
pub use is_valid_email::{is_valid_email, IsValidEmail};
pub use mask_email::{mask_email, MaskEmail};
pub use mask_id_number::{mask_id_number, MaskIdNumber};
pub use mask_name::{mask_name, MaskName};
pub use mask_phone::{mask_phone, MaskPhone};
pub use pseudonym::Pseudonym;

crate::macros::functions! {
    scalar HashPii => hash_pii, hash_pii_udf;
    scalar IsValidCnId => is_valid_cn_id, is_valid_cn_id_udf;
    scalar IsValidCnMobile => is_valid_cn_mobile, is_valid_cn_mobile_udf;
    scalar IsValidEmail => is_valid_email, is_valid_email_udf;
    scalar MaskEmail => mask_email, mask_email_udf;
    scalar MaskIdNumber => mask_id_number, mask_id_number_udf;
    scalar MaskName => mask_name, mask_name_udf;
    scalar MaskPhone => mask_phone, mask_phone_udf;
}
