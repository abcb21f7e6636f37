//! Latchkey's dashboard (issue 17): a Leptos app (client-side rendered, WebAssembly) served at
//! `/dashboard/` by the server, over its private cookie API (`/dashboard/api/…`, see
//! `server/src/dashboard`). Screens: sign-in, overview, integrations, connections and a connection's
//! page, the activity log and an entry's timeline, the environment with a live Connect UI preview.
//!
//! Routing is the URL's fragment (`#/connections/gh/c-1`): the server serves one `index.html` and
//! the back button works without a router crate. Styles live in `static/style.css` (light and dark by
//! `prefers-color-scheme`).

mod api;
mod pages;

use latchkey_protocol::dashboard::SessionInfo;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(App);
}

/// The signed-in administrator, shared by every screen.
#[derive(Clone, Copy)]
pub struct Session(pub RwSignal<Option<SessionInfo>>);

/// The current route: the fragment without `#/`, split on `/` (decoded).
fn route() -> Vec<String> {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    hash.trim_start_matches('#')
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            js_sys::decode_uri_component(s)
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_else(|| s.to_string())
        })
        .collect()
}

/// Goes to `#/<path>`.
pub fn go(path: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_hash(&format!("/{path}"));
    }
}

#[component]
fn App() -> impl IntoView {
    let session = Session(RwSignal::new(None));
    provide_context(session);
    let checked = RwSignal::new(false);
    api::on_signed_out(move || session.0.set(None));
    // Is there a session already (the cookie is HttpOnly: only the server can tell)?
    leptos::task::spawn_local(async move {
        if let Ok(info) = api::get::<SessionInfo>("/session").await {
            api::set_csrf(&info.csrf_token);
            session.0.set(Some(info));
        }
        checked.set(true);
    });
    let path = RwSignal::new(route());
    let handle = window_event_listener(leptos::ev::hashchange, move |_| path.set(route()));
    on_cleanup(move || handle.remove());

    move || {
        if !checked.get() {
            return view! { <p class="loading" role="status">"Loading…"</p> }.into_any();
        }
        if session.0.with(Option::is_none) {
            return view! { <pages::signin::SignIn/> }.into_any();
        }
        view! { <Shell path=path/> }.into_any()
    }
}

#[component]
fn Shell(path: RwSignal<Vec<String>>) -> impl IntoView {
    let session = expect_context::<Session>();
    let section = move || path.with(|p| p.first().cloned().unwrap_or_default());
    let link = move |href: &'static str, label: &'static str| {
        let current = move || {
            let s = section();
            (s == href || (s.is_empty() && href == "overview")).then_some("page")
        };
        view! { <li><a href=format!("#/{href}") aria-current=current>{label}</a></li> }
    };
    let sign_out = move |everywhere: bool| {
        leptos::task::spawn_local(async move {
            let path = if everywhere {
                "/session/everywhere"
            } else {
                "/session"
            };
            let method = if everywhere { "POST" } else { "DELETE" };
            let _ = api::write::<serde_json::Value>(method, path, None::<&()>).await;
            session.0.set(None);
        });
    };
    let email = move || {
        session
            .0
            .with(|s| s.as_ref().map(|s| s.email.clone()).unwrap_or_default())
    };
    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="top">
            <span class="brand">"Latchkey"</span>
            <nav aria-label="Sections">
                <ul>
                    {link("overview", "Overview")}
                    {link("integrations", "Integrations")}
                    {link("connections", "Connections")}
                    {link("logs", "Activity log")}
                    {link("environment", "Environment")}
                </ul>
            </nav>
            <div class="who">
                <span>{email}</span>
                <button type="button" on:click=move |_| sign_out(false)>"Sign out"</button>
                <button type="button" on:click=move |_| sign_out(true)>"Sign out everywhere"</button>
            </div>
        </header>
        <main id="main" tabindex="-1">
            {move || {
                let p = path.get();
                let parts: Vec<&str> = p.iter().map(String::as_str).collect();
                match parts.as_slice() {
                    ["integrations", ..] => view! { <pages::integrations::Integrations/> }.into_any(),
                    ["connections", key, id] => {
                        let (key, id) = (key.to_string(), id.to_string());
                        view! { <pages::connections::Connection key=key id=id/> }.into_any()
                    }
                    ["connections", ..] => view! { <pages::connections::Connections/> }.into_any(),
                    ["logs", id] => {
                        let id = id.to_string();
                        view! { <pages::logs::LogEntry id=id/> }.into_any()
                    }
                    ["logs", ..] => view! { <pages::logs::Logs/> }.into_any(),
                    ["environment", ..] => view! { <pages::environment::Environment/> }.into_any(),
                    _ => view! { <pages::overview::Overview/> }.into_any(),
                }
            }}
        </main>
    }
}
