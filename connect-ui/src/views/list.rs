//! "Select Integration": one button per integration the session allows. Choosing one loads its
//! provider, then shows the integration screen; a failed load is an inline alert here.

use latchkey_protocol::integrations::ApiPublicIntegration;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::ApiFailure;
use crate::components::logo::Logo;
use crate::controller::{use_controller, Controller};
use crate::i18n::Key;

#[component]
pub fn ListView(integrations: Vec<ApiPublicIntegration>) -> impl IntoView {
    let ctrl = use_controller();
    let i18n = ctrl.i18n;
    // The integration whose provider is loading, and whether the last load failed.
    let pending = RwSignal::new(None::<String>);
    let failed = RwSignal::new(false);

    let content = if integrations.is_empty() {
        view! {
            <p class="empty">{i18n.t(Key::ListEmpty)}</p>
            {ctrl.can_close().then(|| view! {
                <button id="empty-close-button" type="button" class="secondary" on:click=move |_| ctrl.close()>{i18n.t(Key::Close)}</button>
            })}
        }
        .into_any()
    } else {
        view! {
            <ul class="integrations">
                {integrations
                    .into_iter()
                    .map(|integration| view! {
                        <li><IntegrationButton integration=integration pending=pending failed=failed/></li>
                    })
                    .collect_view()}
            </ul>
        }
        .into_any()
    };

    view! {
        <div id="connect-list" class="view">
            <h1 id="connect-ui-title" class="title" tabindex="-1">{i18n.t(Key::ListTitle)}</h1>
            <p class="muted">{i18n.t(Key::ListDescription)}</p>
            <div aria-live="assertive">
                <Show when=move || failed.get()>
                    <p class="alert" role="alert">{i18n.t(Key::ProviderLoadFailed)}</p>
                </Show>
            </div>
            {content}
        </div>
    }
}

#[component]
fn IntegrationButton(
    integration: ApiPublicIntegration,
    pending: RwSignal<Option<String>>,
    failed: RwSignal<bool>,
) -> impl IntoView {
    let ctrl = use_controller();
    let key = integration.unique_key.clone();
    let busy = {
        let key = key.clone();
        move || pending.with(|p| p.as_deref() == Some(key.as_str()))
    };
    let label = ctrl.i18n.t_name(Key::ConnectTo, &integration.display_name);
    let (logo, name) = (integration.logo.clone(), integration.display_name.clone());
    let on_click = move |_| {
        if pending.with_untracked(Option::is_some) {
            return;
        }
        pending.set(Some(integration.unique_key.clone()));
        failed.set(false);
        choose(ctrl, integration.clone(), pending, failed);
    };
    view! {
        <button
            type="button"
            class="integration"
            data-integration=key
            aria-label=label
            aria-busy=move || busy().to_string()
            on:click=on_click
        >
            <Logo src=logo/>
            <span class="name">{name}</span>
            <span class="arrow" aria-hidden="true">"→"</span>
        </button>
    }
}

fn choose(
    ctrl: Controller,
    integration: ApiPublicIntegration,
    pending: RwSignal<Option<String>>,
    failed: RwSignal<bool>,
) {
    spawn_local(async move {
        match ctrl.load_provider(integration).await {
            Ok(selected) => ctrl.show_integration(selected),
            Err(ApiFailure::SessionExpired) => ctrl.api_failed(&ApiFailure::SessionExpired),
            Err(_) => {
                // This view may be gone by now: `try_set` is a no-op then.
                failed.try_set(true);
            }
        }
        pending.try_set(None);
    });
}
