//! The modal shell around every screen: backdrop, `role="dialog"` panel labelled by the current
//! view's `#connect-ui-title`, close button, Escape, focus trap, and focus moved to the title on each
//! screen change so screen readers announce it.

use leptos::ev;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, KeyboardEvent};

use crate::controller::{use_controller, Screen};
use crate::i18n::Key;
use crate::views::{FailureView, IntegrationView, ListView, LoadingView, NoticeView, SuccessView};

/// What keyboard focus may land on inside the dialog.
const FOCUSABLE: &str = "a[href], button:not([disabled]), input:not([disabled]), select, textarea, summary, [tabindex]:not([tabindex='-1'])";

#[component]
pub fn Dialog() -> impl IntoView {
    let ctrl = use_controller();
    let i18n = ctrl.i18n;
    let can_close = ctrl.can_close();

    let keys = window_event_listener(ev::keydown, move |event: KeyboardEvent| {
        match event.key().as_str() {
            "Escape" if can_close => {
                event.prevent_default();
                ctrl.close();
            }
            "Tab" => trap_focus(&event),
            _ => {}
        }
    });
    on_cleanup(move || keys.remove());

    Effect::new(move |_| {
        ctrl.screen.track();
        request_animation_frame(|| {
            if let Some(title) = document().get_element_by_id("connect-ui-title") {
                if let Ok(title) = title.dyn_into::<HtmlElement>() {
                    let _ = title.focus();
                }
            }
        });
    });

    let on_backdrop = move |event: ev::MouseEvent| {
        // Only a click on the backdrop itself, not one that bubbled up from the panel.
        if can_close && event.target() == event.current_target() {
            ctrl.close();
        }
    };

    let body = move || match ctrl.screen.get() {
        Screen::Loading => view! { <LoadingView/> }.into_any(),
        Screen::Notice(notice) => view! { <NoticeView notice=notice/> }.into_any(),
        Screen::List(integrations) => view! { <ListView integrations=integrations/> }.into_any(),
        Screen::Integration(selected) => view! { <IntegrationView selected=selected/> }.into_any(),
        Screen::Success(selected) => view! { <SuccessView selected=selected/> }.into_any(),
        Screen::Failure(selected, failure) => {
            view! { <FailureView selected=selected failure=failure/> }.into_any()
        }
    };

    view! {
        <div class="backdrop" class:connect-link=ctrl.is_connect_link() on:click=on_backdrop>
            <div
                id="connect-ui-dialog"
                class="dialog"
                role="dialog"
                aria-modal="true"
                aria-labelledby="connect-ui-title"
            >
                {can_close.then(|| view! {
                    <button
                        id="close-button"
                        type="button"
                        class="icon-button close"
                        aria-label=i18n.t(Key::Close)
                        on:click=move |_| ctrl.close()
                    >
                        <span aria-hidden="true">"×"</span>
                    </button>
                })}
                <div id="connect-ui-dialog-content" class="content">{body}</div>
            </div>
        </div>
    }
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
