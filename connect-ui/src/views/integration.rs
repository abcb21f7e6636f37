//! "Link {name} Account": the form built from the provider's catalog entry ([`crate::form`]) and the
//! Connect button, enabled only when every value is valid. OAuth2 explains the popup and opens it in
//! the submit itself (its connection config goes along as `params`); API key, basic and client
//! credentials are `POST`ed without a popup. Recoverable failures (popup blocked or closed, network)
//! appear inline above the button, in an assertive live region.

use latchkey_protocol::AuthErrorType;
use reactive_graph::graph::untrack;
use reactive_graph::prelude::*;
use reactive_graph::signal::RwSignal;
use web_sys::Element;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use crate::components::field::{self, BrowserSyntax, FieldDom};
use crate::components::logo::logo;
use crate::controller::Controller;
use crate::dom::{add, add_text, attr, bool_str, clear, h, on, on_click, watch};
use crate::flow::Selected;
use crate::form::Field;
use crate::form::{assertion_option_fields, build_form, collect, is_supported};
use crate::i18n::Key;

pub fn integration_view(ctrl: Controller, selected: Arc<Selected>) -> Element {
    let i18n = ctrl.i18n;
    let name = selected.integration.display_name.clone();
    let key = selected.integration.unique_key.clone();
    let guide = selected.provider.guide_url().map(str::to_owned);
    let mode = selected.provider.auth_mode.clone();

    let root = h(
        "div",
        "view",
        &[("id", "connect-integration"), ("data-integration", &key)],
        "",
    );
    if !ctrl.single() {
        let back = h(
            "button",
            "link back",
            &[("id", "back-button"), ("type", "button")],
            "",
        );
        add(&back, &[&h("span", "", &[("aria-hidden", "true")], "← ")]);
        add_text(&back, i18n.t(Key::Back));
        on_click(&back, Box::new(move || ctrl.back()));
        add(&root, &[&back]);
    }
    let hero = h("div", "hero", &[], "");
    add(
        &hero,
        &[
            &logo(&selected.integration.logo, true),
            &super::title("title", &i18n.t_name(Key::LinkAccount, &name)),
        ],
    );
    add(&root, &[&hero]);

    if is_supported(&mode) {
        add(&root, &[&form_view(ctrl, selected, guide.as_deref())]);
    } else {
        add(
            &root,
            &[&h(
                "p",
                "callout",
                &[("id", "unsupported-auth-mode"), ("role", "note")],
                &i18n.t_name(Key::UnsupportedAuthMode, &name),
            )],
        );
    }

    if let Some(href) = guide {
        let footer = h("p", "footer muted", &[], "");
        add_text(&footer, i18n.t(Key::NeedHelp));
        add_text(&footer, " ");
        add(
            &footer,
            &[&h(
                "a",
                "",
                &[
                    ("id", "guide-link"),
                    ("href", &href),
                    ("target", "_blank"),
                    ("rel", "noopener noreferrer"),
                ],
                i18n.t(Key::ViewGuide),
            )],
        );
        add(&root, &[&footer]);
    }
    root
}

/// The form of a supported auth mode: intro, fields, inline alert, Connect button.
fn form_view(ctrl: Controller, selected: Arc<Selected>, guide: Option<&str>) -> Element {
    let i18n = ctrl.i18n;
    let name = selected.integration.display_name.clone();
    let key = selected.integration.unique_key.clone();
    let mode = selected.provider.auth_mode.clone();
    let mut fields = build_form(
        &mode,
        &selected.provider.credentials,
        &selected.provider.connection_config,
        &ctrl.presets(&key),
    );
    fields.extend(assertion_option_fields(&selected.provider.assertion_option));
    // Values typed before a failure come back on "Try again".
    let first: Vec<String> = ctrl
        .draft(&key, fields.len())
        .unwrap_or_else(|| fields.iter().map(|f| f.initial.clone()).collect());
    let has_visible = fields.iter().any(|f| !f.hidden);
    // Plain shared state, not signals: only `valid` needs to be reactive.
    let form = Rc::new(FormState {
        fields,
        first,
        doms: RefCell::new(Vec::new()),
        key,
    });
    let valid = RwSignal::new(false);
    let is_oauth = crate::form::is_popup(&mode);

    let root = h(
        "form",
        "form",
        &[("id", "connect-form"), ("novalidate", "")],
        "",
    );
    if !has_visible {
        add(
            &root,
            &[&h("p", "", &[], &i18n.t_name(Key::WeWillConnect, &name))],
        );
    }
    if is_oauth {
        add(&root, &[&h("p", "muted", &[], i18n.t(Key::PopupHint))]);
    }

    let container = h("div", "form", &[], "");
    let refresh: Rc<dyn Fn()> = {
        let form = Rc::downgrade(&form);
        Rc::new(move || {
            if let Some(form) = form.upgrade() {
                form.refresh(ctrl, valid);
            }
        })
    };
    let mut doms = Vec::new();
    let doc = crate::dom::document();
    for (i, f) in form.fields.iter().enumerate().filter(|(_, f)| !f.hidden) {
        let dom = field::render(&doc, f, &form.first[i], i18n, guide, refresh.clone());
        add(&container, &[&dom.root]);
        doms.push((i, dom));
    }
    *form.doms.borrow_mut() = doms;
    refresh();

    let alert_region = h(
        "div",
        "",
        &[("id", "connect-alert"), ("aria-live", "assertive")],
        "",
    );
    let button = h(
        "button",
        "primary",
        &[("id", "connect-button"), ("type", "submit")],
        "",
    );
    // Says why the button is disabled (an empty required field or one with an error).
    let hint = h("p", "muted hint", &[("id", "connect-hint")], "");
    attr(&button, "aria-describedby", "connect-hint");
    add(&root, &[&container, &alert_region, &button, &hint]);

    let alert = ctrl.alert;
    let weak_form = Rc::downgrade(&form);
    let blocked_selected = selected.clone();
    watch(Box::new(move || {
        clear(&alert_region);
        if let Some(f) = alert.get() {
            add(
                &alert_region,
                &[&h(
                    "p",
                    "alert",
                    &[("role", "alert"), ("data-error-type", &f.error_type)],
                    &f.message,
                )],
            );
            // A blocked popup, and the page allows redirect mode: offer to go on without a popup.
            if f.error_type == AuthErrorType::BlockedByBrowser.as_str() && ctrl.can_continue_here()
            {
                let here = h(
                    "button",
                    "secondary",
                    &[("id", "continue-here"), ("type", "button")],
                    i18n.t(Key::ContinueHere),
                );
                let form = weak_form.clone();
                let selected = blocked_selected.clone();
                on_click(
                    &here,
                    Box::new(move || {
                        let Some(form) = form.upgrade() else {
                            return;
                        };
                        if let Some(s) = collect(&form.fields, &form.read(), &BrowserSyntax) {
                            ctrl.continue_here(selected.clone(), s.params);
                        }
                    }),
                );
                add(&alert_region, &[&here]);
            }
        }
    }));
    let connecting = ctrl.connecting;
    let update_button = {
        let button = button.clone();
        move || {
            let busy = connecting.get();
            let blocked = !valid.get();
            let _ = button.toggle_attribute_with_force("disabled", blocked);
            hint.set_text_content(Some(if blocked && !busy {
                i18n.t(Key::FillRequired)
            } else {
                ""
            }));
            attr(&button, "aria-busy", bool_str(busy));
            let key = if busy {
                Key::Connecting
            } else if alert.with(Option::is_some) {
                Key::TryAgain
            } else {
                Key::Connect
            };
            button.set_text_content(Some(i18n.t(key)));
        }
    };
    // The first state at once (no flash of an enabled, empty button), then on every change.
    untrack(&update_button);
    watch(Box::new(update_button));

    on(
        &root,
        "submit",
        Box::new(move |ev| {
            ev.prevent_default();
            let Some(submission) = collect(&form.fields, &form.read(), &BrowserSyntax) else {
                return;
            };
            if is_oauth {
                // Synchronous: `connect` opens the popup before anything is awaited.
                ctrl.connect(selected.clone(), submission.params);
            } else {
                ctrl.submit(selected.clone(), submission);
            }
        }),
    );
    root
}

/// The form of one visit to the screen.
struct FormState {
    fields: Vec<Field>,
    /// Starting values (a draft's, or the fields' own).
    first: Vec<String>,
    /// The rendered visible fields, by index into `fields` (hidden ones keep their starting value).
    doms: RefCell<Vec<(usize, Rc<FieldDom>)>>,
    key: String,
}

impl FormState {
    fn read(&self) -> Vec<String> {
        let mut current = self.first.clone();
        for (i, dom) in self.doms.borrow().iter() {
            current[*i] = dom.value();
        }
        current
    }

    /// After an edit: the Connect button's state, the dirty flag and the draft.
    fn refresh(&self, ctrl: Controller, valid: RwSignal<bool>) {
        let current = self.read();
        valid.set(collect(&self.fields, &current, &BrowserSyntax).is_some());
        let dirty = self
            .fields
            .iter()
            .zip(&current)
            .any(|(f, v)| f.initial != *v);
        ctrl.edited(self.key.clone(), current, dirty);
    }
}
