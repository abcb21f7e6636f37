//! The transitions a user or an integrator sees, driven through [`step`] natively: each test feeds
//! events as the page would and checks the screen and the effects (above all, which events reach the
//! parent, and how many). Here: boot, token and session loads; `attempts.rs`: the OAuth and credential
//! attempts.

use std::sync::Arc;

use latchkey_protocol::connect::ConnectUiSettings;

use super::*;
use crate::i18n::{Key, Lang};

mod attempts;

const API: &str = "https://api.example/prefix";
const PARENT: &str = "https://app.example";

fn config(hosting: Hosting) -> LaunchConfig {
    LaunchConfig {
        api_url: API.into(),
        hosting,
        lang: None,
        theme: None,
        detect_closed_auth_window: false,
        return_url: None,
    }
}

fn embedded() -> State {
    let hosting = Hosting::Embedded {
        parent_origin: Some(PARENT.into()),
    };
    State::new(config(hosting), I18n::new(Lang::En), "/prefix".into())
}

fn integration(key: &str) -> ApiPublicIntegration {
    ApiPublicIntegration {
        unique_key: key.into(),
        provider: format!("{key}-provider"),
        display_name: key.to_uppercase(),
        logo: String::new(),
        forward_webhooks: false,
        created_at: String::new(),
        updated_at: String::new(),
    }
}

/// The catalog answer for `key`.
fn provided(key: &str, auth_mode: AuthMode) -> Selected {
    Selected {
        integration: integration(key),
        provider: ProviderSummary {
            display_name: key.to_uppercase(),
            auth_mode,
            docs: None,
            docs_connect: None,
            credentials: Vec::new(),
            connection_config: Vec::new(),
            assertion_option: Vec::new(),
        },
    }
}

fn session(allowed: Option<&[&str]>) -> SessionSettings {
    SessionSettings {
        connect_ui_settings: ConnectUiSettings::default(),
        allowed_integrations: allowed.map(|a| a.iter().map(|k| (*k).to_owned()).collect()),
        websockets_path: None,
        presets: Vec::new(),
    }
}

/// `key` as the screens and events hold it.
fn selected(key: &str, auth_mode: AuthMode) -> Arc<Selected> {
    Arc::new(provided(key, auth_mode))
}

fn payload(key: &str) -> ConnectPayload {
    ConnectPayload {
        provider_config_key: key.into(),
        connection_id: "conn-1".into(),
        is_pending: None,
    }
}

/// The events posted to the parent, in order.
fn posted(fx: &[Effect]) -> Vec<&ConnectUiEvent> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Post(event) => Some(event),
            _ => None,
        })
        .collect()
}

/// The `errorType` of the one `error` event in `fx` (and nothing else posted).
fn one_error(fx: &[Effect]) -> &str {
    match posted(fx).as_slice() {
        [ConnectUiEvent::Error { payload }] => &payload.error_type,
        other => panic!("expected one error event, got {other:?}"),
    }
}

/// The session load a token starts.
fn load_of(fx: &[Effect]) -> (u32, &ApiClient) {
    match fx {
        [.., Effect::LoadSession { load, api }] => (*load, api),
        other => panic!("expected a session load, got {other:?}"),
    }
}

/// Booted, token received, session with `keys` loaded (the list shown).
fn listing(keys: &[&str]) -> State {
    let mut s = embedded();
    step(&mut s, Event::Boot);
    let fx = step(&mut s, Event::Token("tok".into()));
    let (load, _) = load_of(&fx);
    let integrations = keys.iter().map(|k| integration(k)).collect();
    step(
        &mut s,
        Event::SessionLoaded {
            load,
            result: Ok((session(None), integrations)),
        },
    );
    s
}

/// On the integration screen of `key`, from the list.
fn on_integration(key: &str, mode: AuthMode) -> State {
    let mut s = listing(&[key, "other"]);
    let load = s.load;
    step(
        &mut s,
        Event::ProviderLoaded {
            load,
            result: Ok(provided(key, mode)),
        },
    );
    s
}

#[test]
fn websocket_path_keeps_the_api_prefix() {
    assert_eq!(join_paths("/", "/"), "/");
    assert_eq!(join_paths("", "/"), "/");
    assert_eq!(join_paths("/api", "/"), "/api/");
    assert_eq!(join_paths("/api/", "/ws"), "/api/ws");
}

#[test]
fn token_then_loading_then_list_and_ready_after_the_first_render() {
    let mut s = embedded();
    let fx = step(&mut s, Event::Boot);
    assert!(matches!(
        fx.as_slice(),
        [
            Effect::ApplyTheme(ThemeChoice::System, None),
            Effect::AwaitToken
        ]
    ));
    let fx = step(&mut s, Event::Rendered);
    assert_eq!(posted(&fx), [&ConnectUiEvent::Ready]);

    let fx = step(&mut s, Event::Token("tok".into()));
    assert_eq!(s.screen, Screen::Loading);
    let (load, api) = load_of(&fx);
    assert_eq!((api.base(), api.token()), (API, "tok"));
    // The same token again (the parent may resend it) changes nothing.
    assert!(step(&mut s, Event::Token("tok".into())).is_empty());

    let fx = step(
        &mut s,
        Event::SessionLoaded {
            load,
            result: Ok((session(None), vec![integration("a"), integration("b")])),
        },
    );
    assert!(matches!(
        fx.as_slice(),
        [Effect::ApplyTheme(ThemeChoice::System, Some(_))]
    ));
    assert_eq!(
        s.screen,
        Screen::List(vec![integration("a"), integration("b")])
    );
    assert!(!s.single);
    // The token came: the wait ending later changes nothing.
    s.redraw = false;
    step(&mut s, Event::TokenWaitElapsed);
    assert!(!s.redraw);
}

#[test]
fn no_token_in_time_or_no_parent_is_the_opened_directly_notice() {
    let mut s = embedded();
    step(&mut s, Event::Boot);
    step(&mut s, Event::TokenWaitElapsed);
    assert_eq!(s.screen, Screen::Notice(Notice::OpenedDirectly));

    let hosting = Hosting::Embedded {
        parent_origin: None,
    };
    let mut s = State::new(config(hosting), I18n::new(Lang::En), "/".into());
    let fx = step(&mut s, Event::Boot);
    assert_eq!(s.screen, Screen::Notice(Notice::OpenedDirectly));
    assert!(posted(&fx).is_empty());
    assert!(posted(&step(&mut s, Event::Rendered)).is_empty());
}

#[test]
fn a_connect_link_loads_its_own_token_at_boot() {
    let hosting = Hosting::ConnectLink {
        session_token: Some("link-tok".into()),
    };
    let mut s = State::new(config(hosting), I18n::new(Lang::Fr), "/".into());
    s.config.lang = Some("fr".into());
    let fx = step(&mut s, Event::Boot);
    let (_, api) = load_of(&fx);
    assert_eq!(api.token(), "link-tok");
    assert_eq!(
        api,
        &ApiClient::new(API.into(), "link-tok".into(), Some("fr".into()))
    );
    assert!(posted(&step(&mut s, Event::Rendered)).is_empty());
}

#[test]
fn a_single_allowed_integration_goes_straight_to_it_without_back() {
    let mut s = embedded();
    step(&mut s, Event::Boot);
    let fx = step(&mut s, Event::Token("tok".into()));
    let (load, _) = load_of(&fx);
    let fx = step(
        &mut s,
        Event::SessionLoaded {
            load,
            result: Ok((session(Some(&["only"])), vec![integration("only")])),
        },
    );
    match fx.as_slice() {
        [_, Effect::LoadProvider(integration)] => assert_eq!(integration.unique_key, "only"),
        other => panic!("expected the provider load, got {other:?}"),
    }
    assert_eq!(s.screen, Screen::Loading);
    assert!(s.single);
    step(
        &mut s,
        Event::ProviderLoaded {
            load,
            result: Ok(provided("only", AuthMode::ApiKey)),
        },
    );
    assert_eq!(
        s.screen,
        Screen::Integration(selected("only", AuthMode::ApiKey))
    );
}

#[test]
fn the_single_integrations_provider_failing_is_fatal() {
    let mut s = embedded();
    step(&mut s, Event::Token("tok".into()));
    let load = s.load;
    step(
        &mut s,
        Event::SessionLoaded {
            load,
            result: Ok((session(Some(&["only"])), vec![integration("only")])),
        },
    );
    step(
        &mut s,
        Event::ProviderLoaded {
            load,
            result: Err(ApiFailure::Network),
        },
    );
    assert_eq!(s.screen, Screen::Notice(Notice::Fatal));
}

#[test]
fn a_401_while_loading_is_the_session_expired_notice() {
    let mut s = embedded();
    let fx = step(&mut s, Event::Token("tok".into()));
    let (load, _) = load_of(&fx);
    let fx = step(
        &mut s,
        Event::SessionLoaded {
            load,
            result: Err(ApiFailure::SessionExpired),
        },
    );
    assert!(fx.is_empty());
    assert_eq!(s.screen, Screen::Notice(Notice::SessionExpired));

    // From the list: a 401 is the notice, another failure stays in the list (its own alert).
    let mut s = listing(&["a", "b"]);
    let load = s.load;
    step(
        &mut s,
        Event::ProviderLoaded {
            load,
            result: Err(ApiFailure::Network),
        },
    );
    assert!(matches!(s.screen, Screen::List(_)));
    step(
        &mut s,
        Event::ProviderLoaded {
            load,
            result: Err(ApiFailure::SessionExpired),
        },
    );
    assert_eq!(s.screen, Screen::Notice(Notice::SessionExpired));
}

#[test]
fn a_new_token_while_loading_wins() {
    let mut s = embedded();
    let fx = step(&mut s, Event::Token("old".into()));
    let (old, _) = load_of(&fx);
    let fx = step(&mut s, Event::Token("new".into()));
    let (new, api) = load_of(&fx);
    assert_ne!(old, new);
    assert_eq!(api.token(), "new");
    // The old load answers last: ignored.
    step(
        &mut s,
        Event::SessionLoaded {
            load: new,
            result: Ok((session(None), vec![integration("new")])),
        },
    );
    step(
        &mut s,
        Event::SessionLoaded {
            load: old,
            result: Err(ApiFailure::SessionExpired),
        },
    );
    step(
        &mut s,
        Event::ProviderLoaded {
            load: old,
            result: Ok(provided("old", AuthMode::Oauth2)),
        },
    );
    assert_eq!(s.screen, Screen::List(vec![integration("new")]));
}
