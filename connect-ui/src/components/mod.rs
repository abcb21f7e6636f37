//! Building blocks shared by several views.

pub mod dialog;
pub mod field;
pub mod logo;
