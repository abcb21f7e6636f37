//! One module per screen.

pub mod connections;
pub mod environment;
pub mod integrations;
pub mod logs;
pub mod overview;
pub mod signin;

use leptos::prelude::*;

/// An error line screen readers announce.
#[component]
pub fn Problem(message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <p class="problem" role="alert">{move || message.get().unwrap_or_default()}</p>
    }
}

/// A short confirmation screen readers announce.
#[component]
pub fn Notice(message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <p class="notice" role="status">{move || message.get().unwrap_or_default()}</p>
    }
}

/// Asks the browser's own confirmation dialog (keyboard- and screen-reader-friendly).
pub fn confirm(question: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(question).ok())
        .unwrap_or(false)
}
