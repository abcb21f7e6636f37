//! "Link {name} Account": for OAuth2, the popup hint and the Connect button (which opens the popup in
//! the click itself); other auth modes get a clear "not supported yet" message until forms land.

use latchkey_protocol::integrations::AuthMode;
use leptos::prelude::*;

use crate::components::logo::Logo;
use crate::controller::{use_controller, Selected};
use crate::i18n::Key;

#[component]
pub fn IntegrationView(selected: Selected) -> impl IntoView {
    let ctrl = use_controller();
    let i18n = ctrl.i18n;
    let name = selected.integration.display_name.clone();
    let guide = selected.provider.guide_url().map(str::to_owned);
    let back = (!ctrl.single.get_untracked()).then(|| {
        view! {
            <button id="back-button" type="button" class="link back" on:click=move |_| ctrl.back()>
                <span aria-hidden="true">"← "</span>
                {i18n.t(Key::Back)}
            </button>
        }
    });

    let action = if selected.provider.auth_mode == AuthMode::Oauth2 {
        let connecting = ctrl.connecting;
        let selected = selected.clone();
        view! {
            <p>{i18n.t_name(Key::WeWillConnect, &name)}</p>
            <p class="muted">{i18n.t(Key::PopupHint)}</p>
            <button
                id="connect-button"
                type="button"
                class="primary"
                aria-busy=move || connecting.get().to_string()
                // Synchronous: `connect` opens the popup before anything is awaited.
                on:click=move |_| ctrl.connect(selected.clone())
            >
                {move || i18n.t(if connecting.get() { Key::Connecting } else { Key::Connect })}
            </button>
        }
        .into_any()
    } else {
        view! {
            <p id="unsupported-auth-mode" class="callout" role="note">
                {i18n.t_name(Key::UnsupportedAuthMode, &name)}
            </p>
        }
        .into_any()
    };

    view! {
        <div id="connect-integration" class="view" data-integration=selected.integration.unique_key.clone()>
            {back}
            <div class="hero">
                <Logo src=selected.integration.logo.clone() large=true/>
                <h1 id="connect-ui-title" class="title" tabindex="-1">{i18n.t_name(Key::LinkAccount, &name)}</h1>
            </div>
            <div class="stack">{action}</div>
            {guide.map(|href| view! {
                <p class="footer muted">
                    {i18n.t(Key::NeedHelp)} " "
                    <a href=href target="_blank" rel="noopener noreferrer">{i18n.t(Key::ViewGuide)}</a>
                </p>
            })}
        </div>
    }
}
