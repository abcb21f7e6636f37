//! The root: reads the launch configuration, picks the language, creates the [`Controller`], starts
//! the flow and builds the dialog (once the language's texts are there).

use reactive_graph::owner::Owner;

use crate::config::LaunchConfig;
use crate::controller::Controller;
use crate::dialog;
use crate::dom::{document, spawn_local, window};
use crate::i18n::{I18n, Lang};

pub fn start_app() {
    // Leptos' executor drives effects and `spawn_local`; the root owner lives for the page.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let owner = Owner::new();
    owner.set();
    std::mem::forget(owner);

    let window = window();
    let config = LaunchConfig::from_window(&window);
    let lang = Lang::negotiate(
        config.lang.as_deref(),
        window.navigator().language().as_deref(),
    );
    if let Some(root) = document().document_element() {
        let _ = root.set_attribute("lang", lang.tag());
    }
    let controller = Controller::new(config, I18n::new(lang));
    // Listening for the session token (and a connect link's session load) does not wait for the
    // texts; the first render does, and `ready` follows it (see `Controller::announce_ready`).
    controller.boot();
    if lang == Lang::En {
        dialog::mount(controller);
    } else {
        spawn_local(async move {
            if !crate::i18n::load(lang).await {
                if let Some(root) = document().document_element() {
                    let _ = root.set_attribute("lang", Lang::En.tag());
                }
            }
            dialog::mount(controller);
        });
    }
}
