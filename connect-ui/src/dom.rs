//! The few DOM builders every screen uses: create an element with its class, attributes and text,
//! append children, listen to an event, and [`watch`] (re-run a DOM update when the signals it reads
//! change).
//!
//! Why plain DOM instead of Leptos' `view!`: each `view!` child, attribute and closure is its own
//! generic instantiation of the renderer; the Connect UI's screens written with `view!` weighed more
//! than the 120 KB gzip budget allowed. Here every builder is one non-generic function and every
//! listener or effect one `Box<dyn Fn…>`, so a screen costs little more than its own calls. Leptos'
//! reactive system (`reactive_graph`, `any_spawner`) still owns the state: signals, effects, owners.

use reactive_graph::effect::Effect;
use reactive_graph::owner::on_cleanup;
use send_wrapper::SendWrapper;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, Event, EventTarget, Node};

/// The page's window.
pub fn window() -> web_sys::Window {
    web_sys::window().expect_throw("window")
}

/// The page's document.
pub fn document() -> Document {
    window().document().expect_throw("document")
}

/// Runs `fut` on the page's task queue (Leptos' executor, started in [`crate::app`]).
pub fn spawn_local(fut: impl std::future::Future<Output = ()> + 'static) {
    any_spawner::Executor::spawn_local(fut);
}

/// Calls `f` once after `ms` milliseconds.
pub fn set_timeout(f: Box<dyn FnOnce()>, ms: i32) {
    let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(
        Closure::once_into_js(f).unchecked_ref(),
        ms,
    );
}

/// `<tag class=class>` (no class when empty).
#[inline(never)]
pub fn el(tag: &str, class: &str) -> Element {
    let e = document().create_element(tag).expect_throw("createElement");
    if !class.is_empty() {
        e.set_class_name(class);
    }
    e
}

/// `<tag class=class attrs…>text</tag>` (no text when empty).
#[inline(never)]
pub fn h(tag: &str, class: &str, attrs: &[(&str, &str)], text: &str) -> Element {
    let e = el(tag, class);
    for (name, value) in attrs {
        attr(&e, name, value);
    }
    if !text.is_empty() {
        e.set_text_content(Some(text));
    }
    e
}

/// Sets one attribute.
#[inline(never)]
pub fn attr(e: &Element, name: &str, value: &str) {
    let _ = e.set_attribute(name, value);
}

/// Appends `children` to `parent`, in order.
#[inline(never)]
pub fn add(parent: &Element, children: &[&Node]) {
    for child in children {
        let _ = parent.append_child(child);
    }
}

/// Appends a text node.
#[inline(never)]
pub fn add_text(parent: &Element, text: &str) {
    let _ = parent.append_child(&document().create_text_node(text));
}

/// Removes every child of `e`.
pub fn clear(e: &Element) {
    e.set_text_content(None);
}

/// Calls `f` on each `event` at `target` while the reactive owner it was added under lives: a
/// screen's listeners are removed and freed with the screen (its owner is cleaned up when the next
/// screen replaces it), as Leptos' `view!` does with `on:` handlers; the dialog's, added under the
/// root owner, live as long as the page.
pub fn on(target: &EventTarget, event: &'static str, f: Box<dyn FnMut(Event)>) {
    on_each(target, std::slice::from_ref(&event), f);
}

/// [`on`] with one listener for several events (a field's `input`, `change` and `blur`).
#[inline(never)]
pub fn on_each(target: &EventTarget, events: &[&'static str], f: Box<dyn FnMut(Event)>) {
    let listener = Closure::wrap(f);
    for event in events {
        let _ = target.add_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
    }
    let events = events.to_vec();
    // Cleanups run on this (the only) thread; the wrapper only satisfies the `Send` bound.
    let owned = SendWrapper::new((target.clone(), events, listener));
    on_cleanup(move || {
        let (target, events, listener) = owned.take();
        for event in events {
            let _ = target
                .remove_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
        }
    });
}

/// A click listener on a button.
pub fn on_click(target: &Element, f: Box<dyn Fn()>) {
    on(target, "click", Box::new(move |_| f()));
}

/// Runs `f` now-ish (on the next microtask) and again whenever a signal it read changes; stops with
/// the owner it was created in (a screen's effects end when the screen is replaced).
#[inline(never)]
pub fn watch(f: Box<dyn Fn()>) {
    Effect::new(move |_| f());
}

/// `true`/`false` for ARIA attributes.
pub fn bool_str(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}
