//! Dead ends with one sentence: opened directly, session expired, fatal error.

use leptos::prelude::*;

use crate::controller::{use_controller, Notice};

#[component]
pub fn NoticeView(notice: Notice) -> impl IntoView {
    let i18n = use_controller().i18n;
    let kind = match notice {
        Notice::OpenedDirectly => "opened-directly",
        Notice::SessionExpired => "session-expired",
        Notice::Fatal => "fatal",
    };
    view! {
        <div id="connect-notice" class="view center" data-notice=kind role="alert">
            <div class="badge error" aria-hidden="true">"!"</div>
            <h1 id="connect-ui-title" class="title small" tabindex="-1">{i18n.t(notice.key())}</h1>
        </div>
    }
}
