//! One view per [`crate::controller::Screen`]. Each renders its heading as `#connect-ui-title` (the
//! dialog's label) and takes its data as typed props.

mod failure;
mod integration;
mod list;
mod loading;
mod notice;
mod success;

pub use failure::FailureView;
pub use integration::IntegrationView;
pub use list::ListView;
pub use loading::LoadingView;
pub use notice::NoticeView;
pub use success::SuccessView;
