//! Sign-in: email and password; the server sets the `HttpOnly` session cookie and answers the
//! CSRF token the app sends on writes.

use super::Problem;
use crate::{api, Session};
use latchkey_protocol::dashboard::{SessionInfo, SignIn as SignInBody};
use leptos::prelude::*;

#[component]
pub fn SignIn() -> impl IntoView {
    let session = expect_context::<Session>();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        let body = SignInBody {
            email: email.get_untracked(),
            password: password.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match api::write::<SessionInfo>("POST", "/session", Some(&body)).await {
                Ok(info) => {
                    api::set_csrf(&info.csrf_token);
                    session.0.set(Some(info));
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    view! {
        <main id="main" class="signin">
            <h1>"Sign in to Latchkey"</h1>
            <form on:submit=submit>
                <label for="email">"Email"</label>
                <input id="email" type="email" autocomplete="username" required
                    prop:value=move || email.get()
                    on:input=move |ev| email.set(event_target_value(&ev))/>
                <label for="password">"Password"</label>
                <input id="password" type="password" autocomplete="current-password" required
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev))/>
                <button type="submit" disabled=move || busy.get()>"Sign in"</button>
                <Problem message=error.into()/>
            </form>
            <p class="hint">"Administrators are created with "<code>"latchkey admin create <email>"</code>"."</p>
        </main>
    }
}
