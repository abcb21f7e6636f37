//! Connections: search and filter (integration, end user, tag, failing refresh) and a connection's page:
//! its config and metadata (editable), credentials masked until an explicit reveal (recorded in the
//! activity log), force refresh, delete, and its own log.

use super::{confirm, Notice, Problem};
use crate::api;
use latchkey_protocol::activity::LogPage;
use leptos::prelude::*;
use serde_json::Value;

/// The `?integration=` of the fragment (`#/connections?integration=gh`), the link from an integration.
fn fragment_param(name: &str) -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    let query = hash.split_once('?')?.1;
    web_sys::UrlSearchParams::new_with_str(query)
        .ok()?
        .get(name)
}

#[component]
pub fn Connections() -> impl IntoView {
    let search = RwSignal::new(String::new());
    let integration = RwSignal::new(fragment_param("integration").unwrap_or_default());
    let end_user = RwSignal::new(String::new());
    let failing = RwSignal::new(false);
    let tag = RwSignal::new(String::new());
    let list = LocalResource::new(move || {
        let mut q = vec![("limit".to_string(), "200".to_string())];
        for (k, v) in [
            ("search", search.get()),
            ("integrationId", integration.get()),
            ("endUserId", end_user.get()),
        ] {
            if !v.trim().is_empty() {
                q.push((k.into(), v.trim().to_string()));
            }
        }
        // `team=blue` filters on the connection's tag `team` (the REST API's `tags[team]=blue`).
        if let Some((k, v)) = tag.get().split_once('=') {
            q.push((format!("tags[{}]", k.trim()), v.trim().to_string()));
        }
        let query: Vec<String> = q
            .iter()
            .map(|(k, v)| format!("{k}={}", api::enc(v)))
            .collect();
        api::get::<Value>(format!("/connections?{}", query.join("&")))
    });
    let rows = move || {
        list.get().map(|r| {
            r.map(|v| {
                v["connections"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|c| {
                        !failing.get() || c["errors"].as_array().is_some_and(|e| !e.is_empty())
                    })
                    .collect::<Vec<_>>()
            })
        })
    };
    view! {
        <h1>"Connections"</h1>
        <form class="filters" role="search" on:submit=|ev| ev.prevent_default()>
            <div><label for="f-search">"Search"</label>
            <input id="f-search" type="search" prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev))/></div>
            <div><label for="f-integration">"Integration"</label>
            <input id="f-integration" prop:value=move || integration.get() on:input=move |ev| integration.set(event_target_value(&ev))/></div>
            <div><label for="f-end-user">"End user id"</label>
            <input id="f-end-user" prop:value=move || end_user.get() on:input=move |ev| end_user.set(event_target_value(&ev))/></div>
            <div><label for="f-tag">"Tag (key=value)"</label>
            <input id="f-tag" placeholder="team=blue" prop:value=move || tag.get() on:change=move |ev| tag.set(event_target_value(&ev))/></div>
            <div class="check"><input id="f-failing" type="checkbox" prop:checked=move || failing.get()
                on:change=move |ev| failing.set(event_target_checked(&ev))/>
            <label for="f-failing">"Failing refresh only"</label></div>
        </form>
        <Suspense fallback=|| view! { <p role="status">"Loading…"</p> }>
            {move || rows().map(|r| match r {
                Err(e) => view! { <p class="problem" role="alert">{e.message}</p> }.into_any(),
                Ok(rows) if rows.is_empty() => view! { <p>"No connections match."</p> }.into_any(),
                Ok(rows) => view! {
                    <table class="list" aria-label="Connections">
                        <thead><tr><th scope="col">"Connection"</th><th scope="col">"Integration"</th>
                            <th scope="col">"End user"</th><th scope="col">"Created"</th><th scope="col">"Refresh"</th></tr></thead>
                        <tbody>
                        {rows.into_iter().map(|c| {
                            let key = c["provider_config_key"].as_str().unwrap_or_default().to_string();
                            let id = c["connection_id"].as_str().unwrap_or_default().to_string();
                            let failing = c["errors"].as_array().is_some_and(|e| !e.is_empty());
                            view! {
                                <tr>
                                    <td><a href=format!("#/connections/{}/{}", api::enc(&key), api::enc(&id))>{id.clone()}</a></td>
                                    <td>{key.clone()}</td>
                                    <td>{c["end_user"]["id"].as_str().unwrap_or("—").to_string()}</td>
                                    <td>{c["created"].as_str().unwrap_or_default().to_string()}</td>
                                    <td>{if failing { "failing" } else { "ok" }}</td>
                                </tr>
                            }
                        }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
pub fn Connection(key: String, id: String) -> impl IntoView {
    let path = format!("/connections/{}/{}", api::enc(&key), api::enc(&id));
    let version = RwSignal::new(0u32);
    let p = path.clone();
    let data = LocalResource::new(move || {
        version.track();
        api::get::<Value>(p.clone())
    });
    let log_query = format!("/logs?connection_id={}&limit=20", api::enc(&id));
    let log = LocalResource::new(move || {
        version.track();
        api::get::<LogPage>(log_query.clone())
    });
    let revealed = RwSignal::new(None::<String>);
    let metadata = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    // The metadata editor starts from the stored value.
    Effect::new(move || {
        if let Some(Ok(v)) = data.get() {
            metadata.set(serde_json::to_string_pretty(&v["metadata"]).unwrap_or_default());
        }
    });
    let act = move |what: &'static str| {
        let path = path.clone();
        move |_| {
            let path = path.clone();
            if what == "delete"
                && !confirm("Delete this connection? Its credentials are gone for good.")
            {
                return;
            }
            leptos::task::spawn_local(async move {
                error.set(None);
                let result = match what {
                    "reveal" => api::write::<Value>("POST", &format!("{path}/reveal"), None::<&()>)
                        .await
                        .map(|c| {
                            revealed
                                .set(Some(serde_json::to_string_pretty(&c).unwrap_or_default()));
                            "Credentials revealed (recorded in the activity log).".to_string()
                        }),
                    "refresh" => {
                        api::write::<Value>("POST", &format!("{path}/refresh"), None::<&()>)
                            .await
                            .map(|_| {
                                revealed.set(None);
                                "Credentials refreshed.".to_string()
                            })
                    }
                    "metadata" => match serde_json::from_str::<Value>(&metadata.get_untracked()) {
                        Ok(m) if m.is_object() => {
                            api::write::<Value>("PUT", &format!("{path}/metadata"), Some(&m))
                                .await
                                .map(|_| "Metadata saved.".to_string())
                        }
                        _ => Err(api::Failure {
                            status: 0,
                            message: "Metadata must be a JSON object.".into(),
                        }),
                    },
                    _ => api::write::<Value>("DELETE", &path, None::<&()>)
                        .await
                        .map(|_| {
                            crate::go("connections");
                            "Deleted.".to_string()
                        }),
                };
                match result {
                    Ok(m) => notice.set(Some(m)),
                    Err(e) => error.set(Some(e.message)),
                }
                version.update(|v| *v += 1);
            });
        }
    };
    let title = format!("Connection {id}");
    view! {
        <p><a href="#/connections">"← Connections"</a></p>
        <h1>{title}</h1>
        <Problem message=error.into()/>
        <Notice message=notice.into()/>
        <Suspense fallback=|| view! { <p role="status">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="problem" role="alert">{e.message}</p> }.into_any(),
                Ok(c) => view! {
                    <dl class="facts">
                        <dt>"Integration"</dt>
                        <dd><a href=format!("#/connections?integration={}", api::enc(c["provider_config_key"].as_str().unwrap_or_default()))>
                            {c["provider_config_key"].as_str().unwrap_or_default().to_string()}</a></dd>
                        <dt>"Provider"</dt><dd>{c["provider"].as_str().unwrap_or_default().to_string()}</dd>
                        <dt>"End user"</dt><dd>{c["end_user"]["id"].as_str().unwrap_or("—").to_string()}</dd>
                        <dt>"Created"</dt><dd>{c["created_at"].as_str().unwrap_or_default().to_string()}</dd>
                        <dt>"Updated"</dt><dd id="updated-at">{c["updated_at"].as_str().unwrap_or_default().to_string()}</dd>
                    </dl>
                    <h2>"Connection config"</h2>
                    <pre>{serde_json::to_string_pretty(&c["connection_config"]).unwrap_or_default()}</pre>
                    <h2>"Credentials"</h2>
                    <pre id="credentials" aria-live="polite">{move || revealed.get().unwrap_or_else(|| serde_json::to_string_pretty(&c["credentials"]).unwrap_or_default())}</pre>
                }.into_any(),
            })}
        </Suspense>
        <div class="row">
            <button type="button" id="reveal" on:click=act("reveal")>"Reveal credentials"</button>
            <button type="button" id="refresh" on:click=act("refresh")>"Force refresh"</button>
            <button type="button" id="delete-connection" class="danger" on:click=act("delete")>"Delete connection"</button>
        </div>
        <h2><label for="metadata">"Metadata (JSON)"</label></h2>
        <textarea id="metadata" rows="6" prop:value=move || metadata.get() on:input=move |ev| metadata.set(event_target_value(&ev))></textarea>
        <button type="button" id="save-metadata" on:click=act("metadata")>"Save metadata"</button>
        <h2>"Activity"</h2>
        {move || log.get().map(|r| match r {
            Err(e) => view! { <p class="problem">{e.message}</p> }.into_any(),
            Ok(page) => view! { <crate::pages::logs::EntryList entries=page.data/> }.into_any(),
        })}
    }
}
