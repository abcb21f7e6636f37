//! While the session token or the session is on its way.

use web_sys::Element;

use crate::dom::{add, h};
use crate::i18n::{I18n, Key};

pub fn loading_view(i18n: I18n) -> Element {
    let root = h(
        "div",
        "view center",
        &[
            ("id", "connect-loading"),
            ("role", "status"),
            ("aria-live", "polite"),
        ],
        "",
    );
    add(
        &root,
        &[
            &super::title("sr-only", i18n.t(Key::Loading)),
            &h("div", "spinner", &[("aria-hidden", "true")], ""),
        ],
    );
    root
}
