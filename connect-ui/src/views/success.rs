//! "Success!": the `connect` event has been posted; Finish closes the modal (embedded only).

use leptos::prelude::*;

use crate::components::logo::Logo;
use crate::controller::{use_controller, Selected};
use crate::i18n::Key;

#[component]
pub fn SuccessView(selected: Selected) -> impl IntoView {
    let ctrl = use_controller();
    let i18n = ctrl.i18n;
    view! {
        <div id="connect-success" class="view center">
            <div class="badged">
                <Logo src=selected.integration.logo.clone() large=true/>
                <span class="badge ok" aria-hidden="true">"✓"</span>
            </div>
            <h1 id="connect-ui-title" class="title" tabindex="-1">{i18n.t(Key::SuccessTitle)}</h1>
            <p role="status">{i18n.t_name(Key::SuccessText, &selected.integration.display_name)}</p>
            {ctrl.is_connect_link().then(|| view! { <p class="muted">{i18n.t(Key::CloseTab)}</p> })}
            {ctrl.can_close().then(|| view! {
                <button id="finish-button" type="button" class="primary" on:click=move |_| ctrl.close()>
                    {i18n.t(Key::Finish)}
                </button>
            })}
        </div>
    }
}
