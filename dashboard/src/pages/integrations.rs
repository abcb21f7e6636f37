//! Integrations: the list, creating one from the provider catalog (searched on the server over all
//! providers; OAuth providers ask for the app's client id, secret and scopes), editing the OAuth app
//! credentials, and deleting with a confirmation. The callback URL to register is shown beside.

use super::{confirm, Notice, Problem};
use crate::api;
use latchkey_protocol::dashboard::{CatalogEntry, EnvironmentView};
use latchkey_protocol::integrations::ApiPublicIntegration;
use latchkey_protocol::DataEnvelope;
use leptos::prelude::*;
use serde_json::json;

/// Auth modes whose integration holds an OAuth app's credentials.
fn needs_app(mode: &str) -> bool {
    matches!(mode, "OAUTH2" | "OAUTH1" | "OAUTH2_CC" | "TBA" | "APP")
}

#[component]
pub fn Integrations() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let list = LocalResource::new(move || {
        version.track();
        api::get::<DataEnvelope<Vec<ApiPublicIntegration>>>("/integrations")
    });
    let env = LocalResource::new(|| api::get::<EnvironmentView>("/environment"));
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let editing = RwSignal::new(None::<String>);
    let remove = move |key: String| {
        if !confirm(&format!(
            "Delete the integration {key} and all its connections?"
        )) {
            return;
        }
        leptos::task::spawn_local(async move {
            match api::write::<serde_json::Value>(
                "DELETE",
                &format!("/integrations/{}", api::enc(&key)),
                None::<&()>,
            )
            .await
            {
                Ok(_) => notice.set(Some(format!("Deleted {key}."))),
                Err(e) => error.set(Some(e.message)),
            }
            version.update(|v| *v += 1);
        });
    };
    view! {
        <h1>"Integrations"</h1>
        <p>
            "Callback URL to register with OAuth providers: "
            <code id="callback-url">{move || env.get().and_then(|r| r.ok()).map(|e| e.callback_url).unwrap_or_default()}</code>
        </p>
        <Problem message=error.into()/>
        <Notice message=notice.into()/>
        <Suspense fallback=|| view! { <p role="status">"Loading…"</p> }>
            {move || list.get().map(|r| match r {
                Err(e) => view! { <p class="problem" role="alert">{e.message}</p> }.into_any(),
                Ok(DataEnvelope { data }) if data.is_empty() => view! { <p>"No integrations yet."</p> }.into_any(),
                Ok(DataEnvelope { data }) => view! {
                    <table class="list" aria-label="Integrations">
                        <thead><tr>
                            <th scope="col">"Name"</th><th scope="col">"Unique key"</th>
                            <th scope="col">"Provider"</th><th scope="col">"Created"</th><th scope="col">"Actions"</th>
                        </tr></thead>
                        <tbody>
                            {data.into_iter().map(|i| {
                                let (k1, k2, k3) = (i.unique_key.clone(), i.unique_key.clone(), i.unique_key.clone());
                                view! {
                                    <tr>
                                        <td>{i.display_name.clone()}</td>
                                        <td><a href=format!("#/connections?integration={}", api::enc(&i.unique_key))>{i.unique_key.clone()}</a></td>
                                        <td>{i.provider.clone()}</td>
                                        <td>{i.created_at.clone()}</td>
                                        <td class="actions">
                                            <button type="button" on:click=move |_| editing.set(Some(k1.clone()))
                                                aria-label=format!("Edit {}", k3)>"Edit"</button>
                                            <button type="button" class="danger" on:click=move |_| remove(k2.clone())
                                                aria-label=format!("Delete {}", k3)>"Delete"</button>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </Suspense>
        {move || editing.get().map(|key| view! { <Edit key=key editing=editing version=version/> })}
        <Create version=version/>
    }
}

#[component]
fn Edit(key: String, editing: RwSignal<Option<String>>, version: RwSignal<u32>) -> impl IntoView {
    let client_id = RwSignal::new(String::new());
    let client_secret = RwSignal::new(String::new());
    let scopes = RwSignal::new(String::new());
    let display = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let k = key.clone();
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut body = serde_json::Map::new();
        if !display.get_untracked().is_empty() {
            body.insert("display_name".into(), display.get_untracked().into());
        }
        if !client_id.get_untracked().is_empty() {
            body.insert(
                "credentials".into(),
                json!({"type": "OAUTH2", "client_id": client_id.get_untracked(),
                       "client_secret": client_secret.get_untracked(), "scopes": scopes.get_untracked()}),
            );
        }
        let key = k.clone();
        leptos::task::spawn_local(async move {
            match api::write::<serde_json::Value>(
                "PATCH",
                &format!("/integrations/{}", api::enc(&key)),
                Some(&body),
            )
            .await
            {
                Ok(_) => {
                    editing.set(None);
                    version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <section aria-labelledby="edit-title" class="panel">
            <h2 id="edit-title">"Edit " {key.clone()}</h2>
            <form on:submit=save>
                <label for="edit-display">"Display name"</label>
                <input id="edit-display" prop:value=move || display.get() on:input=move |ev| display.set(event_target_value(&ev))/>
                <label for="edit-client-id">"Client ID (OAuth app)"</label>
                <input id="edit-client-id" prop:value=move || client_id.get() on:input=move |ev| client_id.set(event_target_value(&ev))/>
                <label for="edit-client-secret">"Client secret"</label>
                <input id="edit-client-secret" type="password" autocomplete="off" prop:value=move || client_secret.get() on:input=move |ev| client_secret.set(event_target_value(&ev))/>
                <label for="edit-scopes">"Scopes (comma-separated)"</label>
                <input id="edit-scopes" prop:value=move || scopes.get() on:input=move |ev| scopes.set(event_target_value(&ev))/>
                <div class="row">
                    <button type="submit">"Save"</button>
                    <button type="button" on:click=move |_| editing.set(None)>"Cancel"</button>
                </div>
                <Problem message=error.into()/>
            </form>
        </section>
    }
}

#[component]
fn Create(version: RwSignal<u32>) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let results = LocalResource::new(move || {
        let q = query.get();
        async move {
            if q.trim().is_empty() {
                return Ok(Vec::new());
            }
            api::get::<Vec<CatalogEntry>>(format!("/catalog?q={}", api::enc(&q))).await
        }
    });
    let chosen = RwSignal::new(None::<CatalogEntry>);
    let unique_key = RwSignal::new(String::new());
    let client_id = RwSignal::new(String::new());
    let client_secret = RwSignal::new(String::new());
    let scopes = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(p) = chosen.get_untracked() else {
            return;
        };
        let mut body = json!({"provider": p.name, "unique_key": unique_key.get_untracked()});
        if needs_app(&p.auth_mode) {
            body["credentials"] = json!({"type": p.auth_mode, "client_id": client_id.get_untracked(),
                "client_secret": client_secret.get_untracked(), "scopes": scopes.get_untracked()});
        }
        leptos::task::spawn_local(async move {
            match api::write::<serde_json::Value>("POST", "/integrations", Some(&body)).await {
                Ok(_) => {
                    notice.set(Some(format!("Created {}.", unique_key.get_untracked())));
                    error.set(None);
                    chosen.set(None);
                    version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <section aria-labelledby="create-title" class="panel">
            <h2 id="create-title">"Add an integration"</h2>
            <label for="catalog-search">"Search the provider catalog"</label>
            <input id="catalog-search" type="search" placeholder="github, salesforce…"
                prop:value=move || query.get() on:input=move |ev| query.set(event_target_value(&ev))/>
            <ul class="catalog" aria-label="Providers found">
                {move || results.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|p| {
                    let label = format!("{} ({})", p.display_name, p.auth_mode);
                    let pick = p.clone();
                    view! {
                        <li><button type="button" class="link" on:click=move |_| {
                            unique_key.set(pick.name.clone());
                            chosen.set(Some(pick.clone()));
                            focus("new-unique-key");
                        }>{label}</button></li>
                    }
                }).collect_view()}
            </ul>
            <Notice message=notice.into()/>
            {move || chosen.get().map(|p| {
                let app = needs_app(&p.auth_mode);
                view! {
                    <form on:submit=create aria-label=format!("New {} integration", p.display_name)>
                        <p>"Provider: " <strong>{p.display_name.clone()}</strong> " — " {p.auth_mode.clone()}</p>
                        <label for="new-unique-key">"Unique key"</label>
                        <input id="new-unique-key" required prop:value=move || unique_key.get() on:input=move |ev| unique_key.set(event_target_value(&ev))/>
                        <Show when=move || app fallback=|| view! { <p class="hint">"End users enter their own credentials for this provider."</p> }>
                            <label for="new-client-id">"Client ID"</label>
                            <input id="new-client-id" required prop:value=move || client_id.get() on:input=move |ev| client_id.set(event_target_value(&ev))/>
                            <label for="new-client-secret">"Client secret"</label>
                            <input id="new-client-secret" type="password" autocomplete="off" required prop:value=move || client_secret.get() on:input=move |ev| client_secret.set(event_target_value(&ev))/>
                            <label for="new-scopes">"Scopes (comma-separated)"</label>
                            <input id="new-scopes" prop:value=move || scopes.get() on:input=move |ev| scopes.set(event_target_value(&ev))/>
                        </Show>
                        <button type="submit" id="create-integration">"Create integration"</button>
                        <Problem message=error.into()/>
                    </form>
                }
            })}
        </section>
    }
}

/// Moves keyboard focus to the element `id` once it is rendered.
pub fn focus(id: &'static str) {
    leptos::task::spawn_local(async move {
        // After the next render.
        let _ = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(
            &wasm_bindgen::JsValue::NULL,
        ))
        .await;
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))
        {
            use wasm_bindgen::JsCast;
            if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                let _ = el.focus();
            }
        }
    });
}
