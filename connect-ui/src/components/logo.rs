//! An integration's logo on a white tile (logos are drawn for light backgrounds). Decorative: the
//! name is always written next to it, so `alt` is empty.

use leptos::prelude::*;

#[component]
pub fn Logo(#[prop(into)] src: String, #[prop(optional)] large: bool) -> impl IntoView {
    view! {
        <span class="logo" class:large=large>
            <img src=src alt="" width="32" height="32" />
        </span>
    }
}
