//! While the session token or the session is on its way.

use leptos::prelude::*;

use crate::controller::use_controller;
use crate::i18n::Key;

#[component]
pub fn LoadingView() -> impl IntoView {
    let i18n = use_controller().i18n;
    view! {
        <div id="connect-loading" class="view center" role="status" aria-live="polite">
            <h1 id="connect-ui-title" class="sr-only" tabindex="-1">{i18n.t(Key::Loading)}</h1>
            <div class="spinner" aria-hidden="true"></div>
        </div>
    }
}
