//! Building blocks shared by several views.

pub mod field;
pub mod logo;
