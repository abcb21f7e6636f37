//! One view per [`crate::flow::Screen`], built with the plain DOM helpers of [`crate::dom`].
//! Each renders its heading as `#connect-ui-title` (the dialog's label) and takes its data as
//! arguments; the reactive parts (alerts, busy and disabled states) are [`crate::dom::watch`]es
//! owned by the screen.

mod failure;
mod integration;
mod list;
mod loading;
mod notice;
mod success;

use web_sys::Element;

use crate::components::logo::logo;
use crate::controller::Controller;
use crate::dom::{add, h};
use crate::flow::Screen;

/// The DOM of `screen`.
pub fn render(ctrl: Controller, screen: Screen) -> Element {
    match screen {
        Screen::Loading => loading::loading_view(ctrl.i18n),
        Screen::Notice(notice) => notice::notice_view(ctrl.i18n, notice),
        Screen::List(integrations) => list::list_view(ctrl, integrations),
        Screen::Integration(selected) => integration::integration_view(ctrl, selected),
        Screen::Success(selected) => success::success_view(ctrl, &selected),
        Screen::Failure(selected, failure) => failure::failure_view(ctrl, selected, &failure),
    }
}

/// The screen's heading, `#connect-ui-title`, focusable by script (focus moves there on each screen).
fn title(class: &str, text: &str) -> Element {
    h(
        "h1",
        class,
        &[("id", "connect-ui-title"), ("tabindex", "-1")],
        text,
    )
}

/// A large logo with a status badge on its corner.
fn badged(src: &str, badge: &str, mark: &str) -> Element {
    let wrap = h("div", "badged", &[], "");
    add(
        &wrap,
        &[
            &logo(src, true),
            &h("span", badge, &[("aria-hidden", "true")], mark),
        ],
    );
    wrap
}
