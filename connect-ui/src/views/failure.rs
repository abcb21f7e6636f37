//! "Connection failed": the human reason, the error type in collapsible details, and Try again
//! (back to the integration screen). The `error` event was posted on entering this screen.

use leptos::prelude::*;

use crate::components::logo::Logo;
use crate::controller::{use_controller, Failure, Selected};
use crate::i18n::Key;

#[component]
pub fn FailureView(selected: Selected, failure: Failure) -> impl IntoView {
    let ctrl = use_controller();
    let i18n = ctrl.i18n;
    let logo = selected.integration.logo.clone();
    let error_type = failure.error_type.clone();
    view! {
        <div id="connect-error" class="view center" data-error-type=error_type>
            <div class="badged">
                <Logo src=logo large=true/>
                <span class="badge error" aria-hidden="true">"×"</span>
            </div>
            <h1 id="connect-ui-title" class="title" tabindex="-1">{i18n.t(Key::FailureTitle)}</h1>
            <p id="connect-error-message" role="alert" aria-live="assertive">{failure.message}</p>
            <details class="details">
                <summary>{i18n.t(Key::ErrorDetails)}</summary>
                <dl>
                    <dt>{i18n.t(Key::ErrorType)}</dt>
                    <dd><code>{failure.error_type}</code></dd>
                </dl>
            </details>
            <button id="retry-button" type="button" class="primary" on:click=move |_| ctrl.retry(selected.clone())>
                {i18n.t(Key::TryAgain)}
            </button>
        </div>
    }
}
