//! The activity log: the filterable list (newest first, older pages by cursor), a live mode (the
//! server's Server-Sent Events tail), and an entry's step timeline with links to its connection and
//! integration.

use crate::api;
use latchkey_protocol::activity::{LogEntry as Entry, LogPage, OPERATION_TYPES, OUTCOMES};
use latchkey_protocol::DataEnvelope;
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// A table of entries linking to their detail.
#[component]
pub fn EntryList(entries: Vec<Entry>) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p>"No entries."</p> }.into_any();
    }
    view! {
        <table class="list" aria-label="Log entries">
            <thead><tr><th scope="col">"Time"</th><th scope="col">"Type"</th><th scope="col">"Integration"</th>
                <th scope="col">"Connection"</th><th scope="col">"Outcome"</th><th scope="col">"Duration"</th></tr></thead>
            <tbody>
            {entries.into_iter().map(|e| view! {
                <tr class=format!("outcome-{}", e.outcome)>
                    <td><a href=format!("#/logs/{}", api::enc(&e.id))>{e.time.clone()}</a></td>
                    <td>{e.kind.clone()}</td>
                    <td>{e.integration.clone().unwrap_or_else(|| "—".into())}</td>
                    <td>{e.connection_id.clone().unwrap_or_else(|| "—".into())}</td>
                    <td>{e.outcome.clone()}</td>
                    <td>{e.duration_ms.map(|d| format!("{d} ms")).unwrap_or_default()}</td>
                </tr>
            }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
pub fn Logs() -> impl IntoView {
    let kind = RwSignal::new(String::new());
    let outcome = RwSignal::new(String::new());
    let integration = RwSignal::new(String::new());
    let cursor = RwSignal::new(None::<String>);
    let query = move || {
        let mut q = vec![];
        for (k, v) in [
            ("type", kind.get()),
            ("outcome", outcome.get()),
            ("integration", integration.get()),
        ] {
            if !v.trim().is_empty() {
                q.push(format!("{k}={}", api::enc(v.trim())));
            }
        }
        q
    };
    let page = LocalResource::new(move || {
        let mut q = query();
        if let Some(c) = cursor.get() {
            q.push(format!("cursor={}", api::enc(&c)));
        }
        api::get::<LogPage>(format!("/logs?{}", q.join("&")))
    });
    // Live mode: entries from the stream, newest first, above the list.
    let live = RwSignal::new(false);
    let live_entries = RwSignal::new(Vec::<Entry>::new());
    // The open stream and its listener: closed and dropped together when live mode stops, the
    // filters change or the page goes away (not leaked once per stream).
    type EntryListener = Closure<dyn FnMut(web_sys::MessageEvent)>;
    let source = StoredValue::new_local(None::<(web_sys::EventSource, EntryListener)>);
    let stop = move || {
        source.update_value(|s| {
            if let Some((es, _listener)) = s.take() {
                es.close();
            }
        });
    };
    Effect::new(move || {
        stop();
        if !live.get() {
            return;
        }
        live_entries.set(Vec::new());
        let url = format!("{}/logs/stream?{}", api::BASE, query().join("&"));
        let Ok(es) = web_sys::EventSource::new(&url) else {
            return;
        };
        let on_entry =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                if let Some(entry) = ev
                    .data()
                    .as_string()
                    .and_then(|d| serde_json::from_str::<Entry>(&d).ok())
                {
                    live_entries.update(|list| {
                        list.retain(|e| e.id != entry.id);
                        list.insert(0, entry);
                        list.truncate(100);
                    });
                }
            });
        let _ = es.add_event_listener_with_callback("entry", on_entry.as_ref().unchecked_ref());
        source.set_value(Some((es, on_entry)));
    });
    on_cleanup(stop);
    let select = |id: &'static str,
                  label: &'static str,
                  sig: RwSignal<String>,
                  options: &'static [&'static str]| {
        view! {
            <div>
                <label for=id>{label}</label>
                <select id=id on:change=move |ev| { sig.set(event_target_value(&ev)); cursor.set(None); }>
                    <option value="">"Any"</option>
                    {options.iter().map(|o| view! { <option value=*o>{*o}</option> }).collect_view()}
                </select>
            </div>
        }
    };
    view! {
        <h1>"Activity log"</h1>
        <form class="filters" role="search" on:submit=|ev| ev.prevent_default()>
            {select("f-type", "Type", kind, &OPERATION_TYPES)}
            {select("f-outcome", "Outcome", outcome, &OUTCOMES)}
            <div><label for="f-log-integration">"Integration"</label>
            <input id="f-log-integration" prop:value=move || integration.get()
                on:change=move |ev| { integration.set(event_target_value(&ev)); cursor.set(None); }/></div>
            <div class="check"><input id="f-live" type="checkbox" prop:checked=move || live.get()
                on:change=move |ev| live.set(event_target_checked(&ev))/>
            <label for="f-live">"Live"</label></div>
        </form>
        <Show when=move || live.get()>
            <section aria-labelledby="live-title" aria-live="polite">
                <h2 id="live-title">"Live"</h2>
                {move || view! { <EntryList entries=live_entries.get()/> }}
            </section>
        </Show>
        <Suspense fallback=|| view! { <p role="status">"Loading…"</p> }>
            {move || page.get().map(|r| match r {
                Err(e) => view! { <p class="problem" role="alert">{e.message}</p> }.into_any(),
                Ok(p) => {
                    let next = p.next_cursor.clone();
                    view! {
                        <EntryList entries=p.data/>
                        <div class="row">
                            <Show when=move || cursor.with(Option::is_some)>
                                <button type="button" on:click=move |_| cursor.set(None)>"Newest"</button>
                            </Show>
                            {next.map(|c| view! { <button type="button" on:click=move |_| cursor.set(Some(c.clone()))>"Older"</button> })}
                        </div>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn LogEntry(id: String) -> impl IntoView {
    let path = format!("/logs/{}", api::enc(&id));
    let entry = LocalResource::new(move || api::get::<DataEnvelope<Entry>>(path.clone()));
    view! {
        <p><a href="#/logs">"← Activity log"</a></p>
        <Suspense fallback=|| view! { <p role="status">"Loading…"</p> }>
            {move || entry.get().map(|r| match r {
                Err(e) => view! { <h1>"Log entry"</h1><p class="problem" role="alert">{e.message}</p> }.into_any(),
                Ok(DataEnvelope { data: e }) => view! { <Detail e=e/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Detail(e: Entry) -> impl IntoView {
    let connection = match (&e.integration, &e.connection_id) {
        (Some(i), Some(c)) => view! {
            <a href=format!("#/connections/{}/{}", api::enc(i), api::enc(c))>{c.clone()}</a>
        }
        .into_any(),
        (_, Some(c)) => view! { <span>{c.clone()}</span> }.into_any(),
        _ => view! { <span>"—"</span> }.into_any(),
    };
    let integration = match &e.integration {
        Some(i) => {
            view! { <a href=format!("#/connections?integration={}", api::enc(i))>{i.clone()}</a> }
                .into_any()
        }
        None => view! { <span>"—"</span> }.into_any(),
    };
    view! {
        <h1>{format!("{} · {}", e.kind, e.outcome)}</h1>
        <dl class="facts">
            <dt>"Started"</dt><dd>{e.time.clone()}</dd>
            <dt>"Ended"</dt><dd>{e.ended_at.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>"Duration"</dt><dd>{e.duration_ms.map(|d| format!("{d} ms")).unwrap_or_else(|| "—".into())}</dd>
            <dt>"Integration"</dt><dd>{integration}</dd>
            <dt>"Connection"</dt><dd>{connection}</dd>
            <dt>"End user"</dt><dd>{e.end_user_id.clone().unwrap_or_else(|| "—".into())}</dd>
        </dl>
        <h2>"Steps"</h2>
        <ol class="timeline">
            {e.steps.unwrap_or_default().into_iter().map(|s| view! {
                <li class=format!("step level-{}", s.level)>
                    <time>{s.time.clone()}</time>
                    <span class="level">{s.level.clone()}</span>
                    <span class="message">{s.message.clone()}</span>
                    {s.detail.map(|d| view! { <pre class="detail">{serde_json::to_string_pretty(&d).unwrap_or_default()}</pre> })}
                </li>
            }).collect_view()}
        </ol>
    }
}
