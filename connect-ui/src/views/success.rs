//! "Success!": the `connect` event has been posted; Finish closes the modal (embedded only).

use web_sys::Element;

use crate::controller::Controller;
use crate::dom::{add, h, on_click};
use crate::flow::Selected;
use crate::i18n::Key;

pub fn success_view(ctrl: Controller, selected: &Selected) -> Element {
    let i18n = ctrl.i18n;
    let integration = &selected.integration;
    let root = h("div", "view center", &[("id", "connect-success")], "");
    add(
        &root,
        &[
            &super::badged(&integration.logo, "badge ok", "✓"),
            &super::title("title", i18n.t(Key::SuccessTitle)),
            &h(
                "p",
                "",
                &[("role", "status")],
                &i18n.t_name(Key::SuccessText, &integration.display_name),
            ),
        ],
    );
    if ctrl.is_connect_link() {
        add(&root, &[&h("p", "muted", &[], i18n.t(Key::CloseTab))]);
    }
    if ctrl.can_close() {
        let finish = h(
            "button",
            "primary",
            &[("id", "finish-button"), ("type", "button")],
            i18n.t(Key::Finish),
        );
        on_click(&finish, Box::new(move || ctrl.close()));
        add(&root, &[&finish]);
    }
    root
}
