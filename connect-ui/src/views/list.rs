//! "Select Integration": one button per integration the session allows. Choosing one loads its
//! provider, then shows the integration screen; a failed load is an inline alert here.

use latchkey_protocol::integrations::ApiPublicIntegration;
use reactive_graph::prelude::*;
use reactive_graph::signal::RwSignal;
use web_sys::Element;

use crate::components::logo::logo;
use crate::controller::Controller;
use crate::dom::{add, attr, bool_str, clear, h, on_click, spawn_local, watch};
use crate::i18n::Key;

pub fn list_view(ctrl: Controller, integrations: Vec<ApiPublicIntegration>) -> Element {
    let i18n = ctrl.i18n;
    // The integration whose provider is loading, and whether the last load failed.
    let pending = RwSignal::new(None::<String>);
    let failed = RwSignal::new(false);

    let root = h("div", "view", &[("id", "connect-list")], "");
    let live = h("div", "", &[("aria-live", "assertive")], "");
    add(
        &root,
        &[
            &super::title("title", i18n.t(Key::ListTitle)),
            &h("p", "muted", &[], i18n.t(Key::ListDescription)),
            &live,
        ],
    );
    watch(Box::new(move || {
        clear(&live);
        if failed.get() {
            add(
                &live,
                &[&h(
                    "p",
                    "alert",
                    &[("role", "alert")],
                    i18n.t(Key::ProviderLoadFailed),
                )],
            );
        }
    }));

    if integrations.is_empty() {
        add(&root, &[&h("p", "empty", &[], i18n.t(Key::ListEmpty))]);
        if ctrl.can_close() {
            let close = h(
                "button",
                "secondary",
                &[("id", "empty-close-button"), ("type", "button")],
                i18n.t(Key::Close),
            );
            on_click(&close, Box::new(move || ctrl.close()));
            add(&root, &[&close]);
        }
        return root;
    }

    let ul = h("ul", "integrations", &[], "");
    let mut buttons = Vec::with_capacity(integrations.len());
    for integration in integrations {
        let li = h("li", "", &[], "");
        let button = integration_button(ctrl, integration.clone(), pending, failed);
        add(&li, &[&button]);
        add(&ul, &[&li]);
        buttons.push((integration.unique_key, button));
    }
    add(&root, &[&ul]);
    watch(Box::new(move || {
        pending.with(|p| {
            for (key, button) in &buttons {
                attr(button, "aria-busy", bool_str(p.as_deref() == Some(key)));
            }
        })
    }));
    root
}

fn integration_button(
    ctrl: Controller,
    integration: ApiPublicIntegration,
    pending: RwSignal<Option<String>>,
    failed: RwSignal<bool>,
) -> Element {
    let button = h(
        "button",
        "integration",
        &[
            ("type", "button"),
            ("data-integration", &integration.unique_key),
            (
                "aria-label",
                &ctrl.i18n.t_name(Key::ConnectTo, &integration.display_name),
            ),
            ("aria-busy", "false"),
        ],
        "",
    );
    add(
        &button,
        &[
            &logo(&integration.logo, false),
            &h("span", "name", &[], &integration.display_name),
            &h("span", "arrow", &[("aria-hidden", "true")], "→"),
        ],
    );
    on_click(
        &button,
        Box::new(move || {
            if pending.with_untracked(Option::is_some) {
                return;
            }
            pending.set(Some(integration.unique_key.clone()));
            failed.set(false);
            choose(ctrl, integration.clone(), pending, failed);
        }),
    );
    button
}

fn choose(
    ctrl: Controller,
    integration: ApiPublicIntegration,
    pending: RwSignal<Option<String>>,
    failed: RwSignal<bool>,
) {
    spawn_local(async move {
        if !ctrl.load_provider(integration).await {
            // This view may be gone by now: `try_set` is a no-op then.
            failed.try_set(true);
        }
        pending.try_set(None);
    });
}
