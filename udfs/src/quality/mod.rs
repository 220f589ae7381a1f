//! Data quality: the one-pass column profile behind `persona profile` and the report's
//! data-quality section.

mod column_profile;

pub use column_profile::ColumnProfile;

crate::macros::functions! {
    aggregate ColumnProfile => column_profile, column_profile_udaf;
}
