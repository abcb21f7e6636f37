//! "Connection failed": the human reason in the user's language, the error type and the server's
//! own words in collapsible details, and Try again (back to the form, values kept). The `error` event was posted on entering this screen.

use std::sync::Arc;

use web_sys::Element;

use crate::controller::Controller;
use crate::dom::{add, h, on_click};
use crate::flow::{Failure, Selected};
use crate::i18n::Key;

pub fn failure_view(ctrl: Controller, selected: Arc<Selected>, failure: &Failure) -> Element {
    let i18n = ctrl.i18n;
    let root = h(
        "div",
        "view center",
        &[
            ("id", "connect-error"),
            ("data-error-type", &failure.error_type),
        ],
        "",
    );
    let dl = h("dl", "", &[], "");
    let dd = h("dd", "", &[], "");
    add(&dd, &[&h("code", "", &[], &failure.error_type)]);
    add(&dl, &[&h("dt", "", &[], i18n.t(Key::ErrorType)), &dd]);
    if let Some(detail) = &failure.detail {
        add(
            &dl,
            &[&h("dd", "", &[("id", "connect-error-detail")], detail)],
        );
    }
    let details = h("details", "details", &[], "");
    add(
        &details,
        &[&h("summary", "", &[], i18n.t(Key::ErrorDetails)), &dl],
    );
    let retry = h(
        "button",
        "primary",
        &[("id", "retry-button"), ("type", "button")],
        i18n.t(Key::TryAgain),
    );
    add(
        &root,
        &[
            &super::badged(&selected.integration.logo, "badge error", "×"),
            &super::title("title", i18n.t(Key::FailureTitle)),
            &h(
                "p",
                "",
                &[
                    ("id", "connect-error-message"),
                    ("role", "alert"),
                    ("aria-live", "assertive"),
                ],
                &failure.message,
            ),
            &details,
            &retry,
        ],
    );
    on_click(&retry, Box::new(move || ctrl.retry(selected.clone())));
    root
}
