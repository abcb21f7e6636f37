//! The modal shell around every screen: backdrop, `role="dialog"` panel labelled by the current
//! view's `#connect-ui-title`, close button, Escape, focus trap, and focus moved to the title on each
//! screen change so screen readers announce it.

use reactive_graph::graph::untrack;
use reactive_graph::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, KeyboardEvent};

use crate::controller::Controller;
use crate::dom::{add, clear, document, h, on, on_click, watch, window};
use crate::i18n::Key;
use crate::views;

/// What keyboard focus may land on inside the dialog.
const FOCUSABLE: &str = "a[href], button:not([disabled]), input:not([disabled]), select, textarea, summary, [tabindex]:not([tabindex='-1'])";

/// Builds the dialog into `<body>` and keeps its content on the controller's current screen.
pub fn mount(ctrl: Controller) {
    let i18n = ctrl.i18n;
    let can_close = ctrl.can_close();

    on(
        &window(),
        "keydown",
        Box::new(move |event| {
            let Some(event) = event.dyn_ref::<KeyboardEvent>() else {
                return;
            };
            match event.key().as_str() {
                "Escape" if can_close => {
                    event.prevent_default();
                    close_asking(ctrl);
                }
                "Tab" => trap_focus(event),
                _ => {}
            }
        }),
    );

    let backdrop = h(
        "div",
        if ctrl.is_connect_link() {
            "backdrop connect-link"
        } else {
            "backdrop"
        },
        &[],
        "",
    );
    on(
        &backdrop,
        "click",
        Box::new(move |event| {
            // Only a click on the backdrop itself, not one that bubbled up from the panel.
            if can_close && event.target() == event.current_target() {
                close_asking(ctrl);
            }
        }),
    );
    let dialog = h(
        "div",
        "dialog",
        &[
            ("id", "connect-ui-dialog"),
            ("role", "dialog"),
            ("aria-modal", "true"),
            ("aria-labelledby", "connect-ui-title"),
        ],
        "",
    );
    if can_close {
        let close = h(
            "button",
            "icon-button close",
            &[
                ("id", "close-button"),
                ("type", "button"),
                ("aria-label", i18n.t(Key::Close)),
            ],
            "",
        );
        add(&close, &[&h("span", "", &[("aria-hidden", "true")], "×")]);
        on_click(&close, Box::new(move || close_asking(ctrl)));
        add(&dialog, &[&close]);
    }
    let content = h("div", "content", &[("id", "connect-ui-dialog-content")], "");
    add(&dialog, &[&content]);
    add(&backdrop, &[&dialog]);
    if let Some(body) = document().body() {
        add(&body, &[&backdrop]);
    }
    // index.html's spinner, painted while the wasm was on its way: the dialog takes over.
    if let Some(boot) = document().get_element_by_id("boot") {
        boot.remove();
    }

    // One screen at a time; its own watches end when the next one replaces it. The first one
    // rendered, the parent hears `ready`.
    let first_render = std::cell::Cell::new(true);
    watch(Box::new(move || {
        let screen = ctrl.screen.get();
        untrack(|| {
            clear(&content);
            add(&content, &[&views::render(ctrl, screen)]);
        });
        if first_render.replace(false) {
            ctrl.announce_ready();
        }
        // Focus the new title so screen readers announce the screen.
        if let Some(title) = document().get_element_by_id("connect-ui-title") {
            if let Ok(title) = title.dyn_into::<HtmlElement>() {
                let _ = title.focus();
            }
        }
    }));
}

/// Closes, after asking when the form holds unsent input (as Nango: the browser's `confirm`).
fn close_asking(ctrl: Controller) {
    if ctrl.dirty()
        && !window()
            .confirm_with_message(ctrl.i18n.t(Key::ConfirmLeave))
            .unwrap_or(true)
    {
        return;
    }
    ctrl.close();
}

/// Keeps Tab / Shift+Tab cycling inside the dialog.
fn trap_focus(event: &KeyboardEvent) {
    let Some(dialog) = document().get_element_by_id("connect-ui-dialog") else {
        return;
    };
    let Ok(nodes) = dialog.query_selector_all(FOCUSABLE) else {
        return;
    };
    let (Some(first), Some(last)) = (nodes.item(0), nodes.item(nodes.length().saturating_sub(1)))
    else {
        event.prevent_default();
        return;
    };
    let active = document().active_element();
    let inside = active.as_ref().is_some_and(|a| dialog.contains(Some(a)));
    let at = |node: &web_sys::Node| active.as_ref().is_some_and(|a| a.is_same_node(Some(node)));
    let target = if !inside {
        Some(if event.shift_key() { &last } else { &first })
    } else if event.shift_key() && at(&first) {
        Some(&last)
    } else if !event.shift_key() && at(&last) {
        Some(&first)
    } else {
        None
    };
    if let Some(node) = target {
        if let Some(element) = node.dyn_ref::<HtmlElement>() {
            event.prevent_default();
            let _ = element.focus();
        }
    }
}
