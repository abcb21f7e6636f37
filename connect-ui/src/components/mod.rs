//! Building blocks shared by several views.

pub mod dialog;
pub mod logo;
