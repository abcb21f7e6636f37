//! The root component: reads the launch configuration, picks the language, provides the
//! [`Controller`] and starts the flow.

use leptos::prelude::*;

use crate::components::dialog::Dialog;
use crate::config::LaunchConfig;
use crate::controller::Controller;
use crate::i18n::{I18n, Lang};

#[component]
pub fn App() -> impl IntoView {
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
    provide_context(controller);
    controller.boot();
    view! { <Dialog/> }
}
