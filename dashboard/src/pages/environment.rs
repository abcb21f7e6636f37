//! Environment: keys (reveal, rotate), the callback URL, webhook URLs (and a test webhook), allowed origins, the HMAC
//! switch and the Connect UI theme, with a live preview of the real Connect UI in an iframe (a
//! preview connect session is handed to it the way the SDK does: on its `ready` message).

use super::{confirm, Notice, Problem};
use crate::api;
use latchkey_protocol::dashboard::{EnvironmentView, Keys, PreviewSession, RotateKeys};
use latchkey_protocol::settings::EnvironmentSettings;
use leptos::html::Iframe;
use leptos::prelude::*;
use serde_json::json;
use wasm_bindgen::JsValue;

#[component]
pub fn Environment() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let view_data = LocalResource::new(move || {
        version.track();
        api::get::<EnvironmentView>("/environment")
    });
    view! {
        <h1>"Environment"</h1>
        <Suspense fallback=|| view! { <p role="status">"Loading…"</p> }>
            {move || view_data.get().map(|r| match r {
                Err(e) => view! { <p class="problem" role="alert">{e.message}</p> }.into_any(),
                Ok(v) => view! { <KeysPanel v=v.clone()/> <Settings v=v version=version/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn KeysPanel(v: EnvironmentView) -> impl IntoView {
    let keys = RwSignal::new(None::<Keys>);
    let error = RwSignal::new(None::<String>);
    let reveal = move |_| {
        leptos::task::spawn_local(async move {
            match api::write::<Keys>("POST", "/environment/keys/reveal", None::<&()>).await {
                Ok(k) => keys.set(Some(k)),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let rotate = move |which: RotateKeys, what: &'static str| {
        move |_| {
            if !confirm(&format!(
                "Rotate the {what}? Everything using the old one stops working at once."
            )) {
                return;
            }
            let which = which.clone();
            leptos::task::spawn_local(async move {
                match api::write::<Keys>("POST", "/environment/keys/rotate", Some(&which)).await {
                    Ok(k) => keys.set(Some(k)),
                    Err(e) => error.set(Some(e.message)),
                }
            });
        }
    };
    let hidden = "•••••••• (hidden)".to_string();
    let (h1, h2) = (hidden.clone(), hidden);
    view! {
        <section aria-labelledby="keys-title" class="panel">
            <h2 id="keys-title">"Keys"</h2>
            <dl class="facts">
                <dt>"Public key"</dt><dd><code>{move || keys.get().map(|k| k.public_key).unwrap_or_else(|| v.public_key.clone())}</code></dd>
                <dt>"Secret key"</dt><dd><code id="secret-key">{move || keys.get().map(|k| k.secret_key).unwrap_or_else(|| h1.clone())}</code></dd>
                <dt>"Webhook signing key"</dt><dd><code>{move || keys.get().map(|k| k.webhook_signing_key).unwrap_or_else(|| h2.clone())}</code></dd>
            </dl>
            <div class="row">
                <button type="button" on:click=reveal>"Reveal keys"</button>
                <button type="button" class="danger" on:click=rotate(RotateKeys { secret: true, ..Default::default() }, "secret key")>"Rotate secret key"</button>
                <button type="button" class="danger" on:click=rotate(RotateKeys { webhook_signing: true, ..Default::default() }, "webhook signing key")>"Rotate webhook signing key"</button>
            </div>
            <Problem message=error.into()/>
        </section>
    }
}

#[component]
fn Settings(v: EnvironmentView, version: RwSignal<u32>) -> impl IntoView {
    let s: EnvironmentSettings = v.settings.clone();
    let callback = RwSignal::new(s.callback_url.clone().unwrap_or_default());
    let webhook = RwSignal::new(s.webhook_url.clone().unwrap_or_default());
    let webhook2 = RwSignal::new(s.webhook_url_secondary.clone().unwrap_or_default());
    let origins = RwSignal::new(s.allowed_origins.join("\n"));
    let hmac = RwSignal::new(s.hmac_enabled);
    let theme = RwSignal::new(s.connect_ui.default_theme.clone());
    let light = RwSignal::new(s.connect_ui.theme.light.primary.clone());
    let dark = RwSignal::new(s.connect_ui.theme.dark.primary.clone());
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let preview = RwSignal::new(0u32);
    let opt = |s: String| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = json!({
            "callback_url": opt(callback.get_untracked()),
            "webhook_url": opt(webhook.get_untracked()),
            "webhook_url_secondary": opt(webhook2.get_untracked()),
            "allowed_origins": origins.get_untracked().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>(),
            "hmac_enabled": hmac.get_untracked(),
            "connect_ui": {
                "defaultTheme": theme.get_untracked(),
                "theme": {"light": {"primary": light.get_untracked()}, "dark": {"primary": dark.get_untracked()}}
            }
        });
        leptos::task::spawn_local(async move {
            match api::write::<serde_json::Value>("PATCH", "/environment/settings", Some(&body))
                .await
            {
                Ok(_) => {
                    error.set(None);
                    notice.set(Some("Settings saved.".into()));
                    preview.update(|p| *p += 1);
                }
                Err(e) => {
                    notice.set(None);
                    error.set(Some(e.message));
                }
            }
        });
    };
    let _ = version;
    let test_webhook = move |_| {
        leptos::task::spawn_local(async move {
            match api::write::<serde_json::Value>("POST", "/environment/test-webhook", None::<&()>)
                .await
            {
                Ok(v) => {
                    error.set(None);
                    notice.set(Some(format!("Test webhook queued for {} destination(s); its deliveries show in the activity log.", v["queued"])));
                }
                Err(e) => {
                    notice.set(None);
                    error.set(Some(e.message));
                }
            }
        });
    };
    view! {
        <form class="panel settings" on:submit=save aria-labelledby="settings-title">
            <h2 id="settings-title">"Settings"</h2>
            <p>"Callback URL to register with providers: " <code id="effective-callback">{v.callback_url.clone()}</code></p>
            <label for="s-callback">"Custom callback URL (optional)"</label>
            <input id="s-callback" type="url" prop:value=move || callback.get() on:input=move |ev| callback.set(event_target_value(&ev))/>
            <label for="s-webhook">"Webhook URL"</label>
            <input id="s-webhook" type="url" prop:value=move || webhook.get() on:input=move |ev| webhook.set(event_target_value(&ev))/>
            <label for="s-webhook2">"Secondary webhook URL"</label>
            <input id="s-webhook2" type="url" prop:value=move || webhook2.get() on:input=move |ev| webhook2.set(event_target_value(&ev))/>
            <button type="button" id="test-webhook" on:click=test_webhook>"Send a test webhook"</button>
            <label for="s-origins">"Allowed origins (one per line; empty allows any)"</label>
            <textarea id="s-origins" rows="3" prop:value=move || origins.get() on:input=move |ev| origins.set(event_target_value(&ev))></textarea>
            <div class="check">
                <input id="s-hmac" type="checkbox" prop:checked=move || hmac.get() on:change=move |ev| hmac.set(event_target_checked(&ev))/>
                <label for="s-hmac">"Require HMAC in public-key mode"</label>
            </div>
            <fieldset>
                <legend>"Connect UI theme"</legend>
                <label for="s-theme">"Default theme"</label>
                <select id="s-theme" on:change=move |ev| theme.set(event_target_value(&ev))>
                    {["system", "light", "dark"].into_iter().map(|t| view! {
                        <option value=t selected=move || theme.get() == t>{t}</option>
                    }).collect_view()}
                </select>
                <label for="s-light">"Primary colour (light)"</label>
                <input id="s-light" type="color" prop:value=move || light.get() on:input=move |ev| light.set(event_target_value(&ev))/>
                <label for="s-dark">"Primary colour (dark)"</label>
                <input id="s-dark" type="color" prop:value=move || dark.get() on:input=move |ev| dark.set(event_target_value(&ev))/>
            </fieldset>
            <button type="submit" id="save-settings">"Save settings"</button>
            <Problem message=error.into()/>
            <Notice message=notice.into()/>
        </form>
        <Preview url=v.connect_ui_url.clone() reload=preview/>
    }
}

/// The real Connect UI in an iframe, reloaded after each save.
#[component]
fn Preview(url: String, reload: RwSignal<u32>) -> impl IntoView {
    let frame = NodeRef::<Iframe>::new();
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    let connect_origin = web_sys::Url::new(&url)
        .map(|u| u.origin())
        .unwrap_or_default();
    let src = {
        let origin = origin.clone();
        move || {
            format!(
                "{url}?parentOrigin={}&apiURL={}&preview={}",
                api::enc(&origin),
                api::enc(&origin),
                reload.get()
            )
        }
    };
    // The Connect UI says `ready`; it gets a preview session as it would from the SDK.
    let handle = window_event_listener(leptos::ev::message, move |ev: web_sys::MessageEvent| {
        if ev.origin() != connect_origin {
            return;
        }
        let kind = js_sys::Reflect::get(&ev.data(), &JsValue::from_str("type"))
            .ok()
            .and_then(|t| t.as_string());
        if kind.as_deref() != Some("ready") {
            return;
        }
        let target = connect_origin.clone();
        leptos::task::spawn_local(async move {
            let Ok(session) =
                api::write::<PreviewSession>("POST", "/preview-session", None::<&()>).await
            else {
                return;
            };
            let Some(win) = frame.get_untracked().and_then(|f| f.content_window()) else {
                return;
            };
            let message = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&message, &"type".into(), &"session_token".into());
            let _ = js_sys::Reflect::set(&message, &"sessionToken".into(), &session.token.into());
            let _ = win.post_message(&message, &target);
        });
    });
    on_cleanup(move || handle.remove());
    view! {
        <section aria-labelledby="preview-title" class="panel">
            <h2 id="preview-title">"Connect UI preview"</h2>
            <iframe id="connect-preview" node_ref=frame title="Connect UI preview" src=src></iframe>
        </section>
    }
}
