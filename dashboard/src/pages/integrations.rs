//! Integrations: the list, creating one from the provider catalog (searched on the server over all
//! providers; the form asks for what the provider's auth mode needs: the app's client id, secret and
//! scopes, a plugin's install link, and the provider's own `integration_config` settings), editing
//! those (the saved secret is kept unless a new one is typed), and deleting with a confirmation. The
//! callback URL to register is shown beside.

use super::{confirm, Notice, Problem};
use crate::api;
use latchkey_protocol::dashboard::{
    CatalogEntry, ConfigField, EnvironmentView, IntegrationDetail, IntegrationEdit,
};
use latchkey_protocol::integrations::ApiPublicIntegration;
use latchkey_protocol::DataEnvelope;
use leptos::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;

/// Modes whose app credentials the integration cannot do without (an MCP server may register
/// the client itself, so there they are optional).
fn app_required(mode: &str) -> bool {
    mode != "MCP_OAUTH2"
}

/// Modes whose integration names a page to send the end user to (a plugin's, a GitHub App's).
fn has_app_link(mode: &str) -> bool {
    matches!(mode, "INSTALL_PLUGIN" | "APP" | "CUSTOM")
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
    let path = format!("/integrations/{}", api::enc(&key));
    let detail = LocalResource::new(move || api::get::<IntegrationDetail>(path.clone()));
    view! {
        <section aria-labelledby="edit-title" class="panel">
            <h2 id="edit-title">"Edit " {key.clone()}</h2>
            // A plain reactive branch rather than `Suspense`: each `Suspense` is its own copy of
            // that machinery in the wasm, and this form needs none of its coordination.
            {move || match detail.get() {
                None => view! { <p role="status">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="problem" role="alert">{e.message}</p> }.into_any(),
                Some(Ok(d)) => view! { <EditForm detail=d editing=editing version=version/> }.into_any(),
            }}
        </section>
    }
}

/// The edit form, filled with the saved values; only what changed is sent.
#[component]
fn EditForm(
    detail: IntegrationDetail,
    editing: RwSignal<Option<String>>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let key = detail.integration.unique_key.clone();
    let original = detail.clone();
    let display = RwSignal::new(detail.integration.display_name.clone());
    let app_fields = AppFields::new();
    app_fields
        .client_id
        .set(detail.client_id.clone().unwrap_or_default());
    app_fields
        .scopes
        .set(detail.scopes.clone().unwrap_or_default());
    app_fields
        .app_link
        .set(detail.app_link.clone().unwrap_or_default());
    let AppFields {
        client_id,
        client_secret,
        scopes,
        app_link,
        ..
    } = app_fields;
    let values = RwSignal::new(detail.config_values.clone());
    let error = RwSignal::new(None::<String>);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut edit = IntegrationEdit::default();
        let display_now = display.get_untracked();
        if display_now != original.integration.display_name {
            edit.display_name = Some(display_now);
        }
        let app_changed = client_id.get_untracked()
            != original.client_id.clone().unwrap_or_default()
            || !client_secret.get_untracked().is_empty()
            || scopes.get_untracked() != original.scopes.clone().unwrap_or_default()
            || app_link.get_untracked() != original.app_link.clone().unwrap_or_default();
        if original.app_credentials && app_changed {
            edit.client_id = Some(client_id.get_untracked());
            edit.client_secret = Some(client_secret.get_untracked()).filter(|s| !s.is_empty());
            edit.scopes = Some(scopes.get_untracked());
            if has_app_link(&original.auth_mode) {
                edit.app_link = Some(app_link.get_untracked());
            }
        }
        // The settings that differ from the saved ones (a typed secret; a cleared value as "").
        // Inserted one by one: `collect()` into a map would link a sort into the wasm.
        let mut config = BTreeMap::new();
        for (name, value) in values.get_untracked() {
            let saved = original.config_values.get(&name);
            if saved != Some(&value) && !(saved.is_none() && value.is_empty()) {
                config.insert(name, value);
            }
        }
        if !config.is_empty() {
            edit.integration_config = Some(config);
        }
        let key = key.clone();
        leptos::task::spawn_local(async move {
            match api::write::<serde_json::Value>(
                "PATCH",
                &format!("/integrations/{}", api::enc(&key)),
                Some(&edit),
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
    let secret_hint = if detail.client_secret_set {
        "Saved; leave empty to keep it"
    } else {
        ""
    };
    let app = match detail.app_credentials {
        true => app_fields.view("edit", &detail.auth_mode, false, secret_hint),
        false => ().into_any(),
    };
    view! {
        <form on:submit=save>
            <p>"Provider: " <strong>{detail.integration.provider.clone()}</strong> " — " {detail.auth_mode.clone()}</p>
            {input_row("edit-display", "Display name", "text", display, false, "")}
            {app}
            <ConfigFields prefix="edit" fields=detail.integration_config.clone() values=values
                secrets_set=detail.config_secrets_set.clone()/>
            <div class="row">
                <button type="submit" id="save-integration">"Save"</button>
                <button type="button" on:click=move |_| editing.set(None)>"Cancel"</button>
            </div>
            <Problem message=error.into()/>
        </form>
    }
}

/// One labelled input bound to `value`: every text field of these forms, so one view type.
fn input_row(
    id: &str,
    label: &str,
    kind: &'static str,
    value: RwSignal<String>,
    required: bool,
    placeholder: &str,
) -> AnyView {
    view! {
        <label for=id.to_string()>{label.to_string()}</label>
        <input id=id.to_string() type=kind autocomplete="off" required=required placeholder=placeholder.to_string()
            prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
    }
    .into_any()
}

/// The app credentials an integration holds (OAuth app, TBA, a plugin's identifier, key and
/// install page), as the create and edit forms ask for them.
#[derive(Clone, Copy)]
struct AppFields {
    client_id: RwSignal<String>,
    client_secret: RwSignal<String>,
    scopes: RwSignal<String>,
    app_link: RwSignal<String>,
    /// `CUSTOM` (a GitHub App with user authorization), on creation: the app's id and private key,
    /// beside its OAuth client.
    app_id: RwSignal<String>,
    private_key: RwSignal<String>,
}

impl AppFields {
    fn new() -> Self {
        Self {
            client_id: RwSignal::new(String::new()),
            client_secret: RwSignal::new(String::new()),
            scopes: RwSignal::new(String::new()),
            app_link: RwSignal::new(String::new()),
            app_id: RwSignal::new(String::new()),
            private_key: RwSignal::new(String::new()),
        }
    }

    /// `prefix-app-id` and `prefix-private-key`: a `CUSTOM` app's id and key, asked on creation
    /// (kept, sealed, by later edits).
    fn app_key_rows(self, prefix: &str) -> AnyView {
        vec![
            input_row(
                &format!("{prefix}-app-id"),
                "GitHub App ID",
                "text",
                self.app_id,
                true,
                "",
            ),
            input_row(
                &format!("{prefix}-private-key"),
                "GitHub App private key (PEM)",
                "password",
                self.private_key,
                true,
                "",
            ),
        ]
        .into_any()
    }

    /// `prefix-client-id`, `prefix-client-secret`, then `prefix-scopes` or (a plugin, a GitHub
    /// App) `prefix-app-link`. `secret_hint` says a secret is saved (then it may stay empty).
    fn view(self, prefix: &str, mode: &str, required: bool, secret_hint: &str) -> AnyView {
        let id = |name: &str| format!("{prefix}-{name}");
        let (id_label, secret_label, link_label) = match mode {
            "INSTALL_PLUGIN" => (
                "Plugin identifier",
                "Plugin key",
                "Plugin install page (URL)",
            ),
            "APP" => (
                "GitHub App ID",
                "Private key (PEM)",
                "App public link (https://github.com/apps/…)",
            ),
            // The app's id and key: `app_key_rows`, on creation.
            "CUSTOM" => (
                "Client ID (the GitHub App's OAuth client)",
                "Client secret",
                "App public link (https://github.com/apps/…)",
            ),
            _ => ("Client ID (OAuth app)", "Client secret", ""),
        };
        let last = match has_app_link(mode) {
            true => input_row(&id("app-link"), link_label, "url", self.app_link, true, ""),
            false => input_row(
                &id("scopes"),
                "Scopes (comma-separated)",
                "text",
                self.scopes,
                false,
                "",
            ),
        };
        vec![
            input_row(
                &id("client-id"),
                id_label,
                "text",
                self.client_id,
                required,
                "",
            ),
            input_row(
                &id("client-secret"),
                secret_label,
                "password",
                self.client_secret,
                required && secret_hint.is_empty(),
                secret_hint,
            ),
            last,
        ]
        .into_any()
    }
}

/// The provider's `integration_config` settings: text, masked or a choice, each shown only while it
/// applies.
#[component]
fn ConfigFields(
    prefix: &'static str,
    fields: Vec<ConfigField>,
    values: RwSignal<BTreeMap<String, String>>,
    #[prop(optional)] secrets_set: Vec<String>,
) -> impl IntoView {
    if fields.is_empty() {
        return ().into_any();
    }
    let all = StoredValue::new(fields.clone());
    let rows = fields
        .into_iter()
        .map(|f| {
            let id = format!("{prefix}-config-{}", f.name);
            let name = StoredValue::new(f.name.clone());
            let shown = {
                let f = f.clone();
                move || {
                    let current = values.get();
                    all.with_value(|all| f.visible(all, &|n: &str| current.get(n).cloned()))
                }
            };
            let value = move || {
                values.with(|v| v.get(&name.get_value()).cloned().unwrap_or_default())
            };
            let set = move |v: String| {
                let n = name.get_value();
                values.update(|m| {
                    m.insert(n, v);
                });
            };
            let label = if f.optional {
                format!("{} (optional)", f.title)
            } else {
                f.title.clone()
            };
            let placeholder = match (f.secret && secrets_set.contains(&f.name), &f.default_value) {
                (true, _) => "Saved; leave empty to keep it".to_string(),
                (false, Some(d)) => d.clone(),
                (false, None) => String::new(),
            };
            let input = if f.choices.is_empty() {
                let kind = if f.secret { "password" } else { "text" };
                view! {
                    <input id=id.clone() type=kind autocomplete="off" placeholder=placeholder
                        prop:value=value on:input=move |ev| set(event_target_value(&ev))/>
                }
                .into_any()
            } else {
                let default = f.default_value.clone().unwrap_or_default();
                let options = f
                    .choices
                    .iter()
                    .map(|c| {
                        let (c1, c2, d) = (c.clone(), c.clone(), default.clone());
                        view! {
                            <option value=c1.clone()
                                selected=move || { let v = value(); v == c1 || (v.is_empty() && c1 == d) }>{c2}</option>
                        }
                    })
                    .collect_view();
                view! {
                    <select id=id.clone() on:change=move |ev| set(event_target_value(&ev))>{options}</select>
                }
                .into_any()
            };
            view! {
                <div hidden=move || !shown()>
                    <label for=id>{label}</label>
                    {f.description.clone().map(|d| view! { <p class="hint">{d}</p> })}
                    {input}
                </div>
            }
        })
        .collect_view();
    view! {
        <fieldset>
            <legend>"Provider settings"</legend>
            {rows}
        </fieldset>
    }
    .into_any()
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
    let app_fields = AppFields::new();
    let AppFields {
        client_id,
        client_secret,
        scopes,
        app_link,
        app_id,
        private_key,
    } = app_fields;
    let values = RwSignal::new(BTreeMap::<String, String>::new());
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(p) = chosen.get_untracked() else {
            return;
        };
        let mut body = json!({"provider": p.name, "unique_key": unique_key.get_untracked()});
        if p.app_credentials && !client_id.get_untracked().is_empty() {
            body["credentials"] = match p.auth_mode.as_str() {
                // A GitHub App: its id and private key.
                "APP" => json!({"type": "APP", "app_id": client_id.get_untracked(),
                    "private_key": client_secret.get_untracked()}),
                // A GitHub App with user authorization: its OAuth client, its id and key.
                "CUSTOM" => json!({"type": "CUSTOM", "client_id": client_id.get_untracked(),
                    "client_secret": client_secret.get_untracked(),
                    "app_id": app_id.get_untracked(), "private_key": private_key.get_untracked()}),
                _ => json!({"type": p.auth_mode, "client_id": client_id.get_untracked(),
                    "client_secret": client_secret.get_untracked(), "scopes": scopes.get_untracked()}),
            };
            if has_app_link(&p.auth_mode) {
                body["credentials"]["app_link"] = app_link.get_untracked().into();
            }
        }
        // Only the settings that apply, and only those given (the server fills defaults).
        let current = values.get_untracked();
        let mut config = serde_json::Map::new();
        for f in &p.integration_config {
            let applies = f.visible(&p.integration_config, &|n: &str| current.get(n).cloned());
            match current.get(&f.name) {
                Some(v) if applies && !v.is_empty() => {
                    config.insert(f.name.clone(), v.clone().into());
                }
                _ => {}
            }
        }
        if !p.integration_config.is_empty() {
            body["integration_config"] = config.into();
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
                            values.set(BTreeMap::new());
                            chosen.set(Some(pick.clone()));
                            focus("new-unique-key");
                        }>{label}</button></li>
                    }
                }).collect_view()}
            </ul>
            <Notice message=notice.into()/>
            {move || chosen.get().map(|p| {

                let app = match p.app_credentials {
                    true if p.auth_mode == "CUSTOM" => vec![
                        app_fields.view("new", &p.auth_mode, true, ""),
                        app_fields.app_key_rows("new"),
                    ]
                    .into_any(),
                    true => app_fields.view("new", &p.auth_mode, app_required(&p.auth_mode), ""),
                    false => view! { <p class="hint">"End users enter their own credentials for this provider."</p> }.into_any(),
                };
                view! {
                    <form on:submit=create aria-label=format!("New {} integration", p.display_name)>
                        <p>"Provider: " <strong>{p.display_name.clone()}</strong> " — " {p.auth_mode.clone()}</p>
                        {input_row("new-unique-key", "Unique key", "text", unique_key, true, "")}
                        {app}
                        <ConfigFields prefix="new" fields=p.integration_config.clone() values=values/>
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
