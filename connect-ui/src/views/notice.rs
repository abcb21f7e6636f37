//! Dead ends with one sentence: opened directly, session expired, fatal error.

use web_sys::Element;

use crate::dom::{add, h};
use crate::flow::Notice;
use crate::i18n::I18n;

pub fn notice_view(i18n: I18n, notice: Notice) -> Element {
    let kind = match notice {
        Notice::OpenedDirectly => "opened-directly",
        Notice::SessionExpired => "session-expired",
        Notice::Fatal => "fatal",
    };
    let root = h(
        "div",
        "view center",
        &[
            ("id", "connect-notice"),
            ("data-notice", kind),
            ("role", "alert"),
        ],
        "",
    );
    add(
        &root,
        &[
            &h("div", "badge error", &[("aria-hidden", "true")], "!"),
            &super::title("title small", i18n.t(notice.key())),
        ],
    );
    root
}
