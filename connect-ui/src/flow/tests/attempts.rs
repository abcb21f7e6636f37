//! Credential and OAuth attempts: one `connect` or one `error` each, older attempts' answers
//! ignored, the popup watch, Back and Close cancelling.

use super::*;

/// Clicks Connect on an OAuth form and lets the popup open; returns the attempt number.
fn oauth_running(s: &mut State, key: &str) -> u32 {
    let fx = step(
        s,
        Event::Connect {
            selected: selected(key, AuthMode::Oauth2),
            params: vec![("subdomain".into(), "acme".into())],
        },
    );
    let attempt = match fx.as_slice() {
        [Effect::StartOAuth { attempt, request }] => {
            assert_eq!(request.host, API);
            assert_eq!(request.websockets_path, "/prefix/");
            assert_eq!(request.connect_session_token, "tok");
            assert_eq!(request.provider_config_key, key);
            assert_eq!(request.params, [("subdomain".into(), "acme".into())]);
            *attempt
        }
        other => panic!("expected the popup to start, got {other:?}"),
    };
    let fx = step(s, Event::OAuthStarted { attempt });
    assert!(matches!(fx.as_slice(), [Effect::WatchPopup { attempt: a }] if *a == attempt));
    assert!(s.connecting);
    attempt
}

#[test]
fn oauth_success_posts_one_connect_and_shows_success() {
    let mut s = on_integration("gh", AuthMode::Oauth2);
    s.dirty = true;
    let attempt = oauth_running(&mut s, "gh");
    let fx = step(
        &mut s,
        Event::OAuthResult {
            attempt,
            result: Ok(payload("gh")),
        },
    );
    assert_eq!(
        posted(&fx),
        [&ConnectUiEvent::Connect {
            payload: payload("gh")
        }]
    );
    assert_eq!(s.screen, Screen::Success(selected("gh", AuthMode::Oauth2)));
    assert!(!s.connecting && !s.dirty && s.draft.is_none());
    // The watch's next look finds the attempt over: no second event, no more watching.
    assert!(step(
        &mut s,
        Event::PopupWatch {
            attempt,
            closed: true
        }
    )
    .is_empty());
    // Finish: one close.
    assert_eq!(
        posted(&step(&mut s, Event::Close)),
        [&ConnectUiEvent::Close]
    );
}

#[test]
fn a_popup_closed_past_the_grace_is_one_inline_window_closed_and_a_retry() {
    let mut s = on_integration("gh", AuthMode::Oauth2);
    let attempt = oauth_running(&mut s, "gh");
    // Open, then closed: each look re-arms the watch until the grace has passed.
    let mut looks = 0;
    let fx = loop {
        let closed = looks > 0;
        looks += 1;
        let fx = step(&mut s, Event::PopupWatch { attempt, closed });
        if !matches!(fx.as_slice(), [Effect::WatchPopup { .. }]) {
            break fx;
        }
    };
    assert_eq!(
        looks,
        2 + (POPUP_CLOSED_GRACE_MS / POPUP_WATCH_MS) as usize,
        "reported after the grace, not before"
    );
    assert_eq!(one_error(&fx), "window_closed");
    let alert = s.alert.clone().expect("an inline alert");
    assert_eq!(alert.message, s.i18n.t(Key::PopupClosed));
    assert_eq!(
        s.screen,
        Screen::Integration(selected("gh", AuthMode::Oauth2))
    );
    assert!(!s.connecting);
    // No second error from a later look.
    assert!(step(
        &mut s,
        Event::PopupWatch {
            attempt,
            closed: true
        }
    )
    .is_empty());
    // Retry: Connect again cancels the old flow and starts a new one.
    let fx = step(
        &mut s,
        Event::Connect {
            selected: selected("gh", AuthMode::Oauth2),
            params: Vec::new(),
        },
    );
    assert!(matches!(
        fx.as_slice(),
        [Effect::Cancel, Effect::StartOAuth { attempt: a, .. }] if *a != attempt
    ));
    assert!(s.alert.is_none());
}

#[test]
fn a_result_after_window_closed_still_wins() {
    let mut s = on_integration("gh", AuthMode::Oauth2);
    let attempt = oauth_running(&mut s, "gh");
    for _ in 0..=(POPUP_CLOSED_GRACE_MS / POPUP_WATCH_MS) {
        step(
            &mut s,
            Event::PopupWatch {
                attempt,
                closed: true,
            },
        );
    }
    assert!(s.alert.is_some());
    let fx = step(
        &mut s,
        Event::OAuthResult {
            attempt,
            result: Ok(payload("gh")),
        },
    );
    assert!(matches!(
        posted(&fx).as_slice(),
        [ConnectUiEvent::Connect { .. }]
    ));
    assert!(matches!(s.screen, Screen::Success(_)));
}

#[test]
fn back_cancels_and_a_late_result_of_the_cancelled_attempt_is_ignored() {
    let mut s = on_integration("gh", AuthMode::Oauth2);
    let attempt = oauth_running(&mut s, "gh");
    s.dirty = true;
    let fx = step(&mut s, Event::Back);
    assert!(matches!(fx.as_slice(), [Effect::Cancel]));
    assert_eq!(
        s.screen,
        Screen::List(vec![integration("gh"), integration("other")])
    );
    assert!(!s.connecting && !s.dirty);

    // Cancelling rejects the flow; that result, and any other late one, is nobody's.
    for result in [Err(AuthError::new("window_closed", "")), Ok(payload("gh"))] {
        assert!(step(&mut s, Event::OAuthResult { attempt, result }).is_empty());
    }
    assert!(matches!(s.screen, Screen::List(_)));
    assert!(s.alert.is_none());
}

#[test]
fn close_cancels_and_posts_one_close() {
    let mut s = on_integration("gh", AuthMode::Oauth2);
    let attempt = oauth_running(&mut s, "gh");
    let fx = step(&mut s, Event::Close);
    assert!(matches!(
        fx.as_slice(),
        [Effect::Cancel, Effect::Post(ConnectUiEvent::Close)]
    ));
    let late = Event::OAuthResult {
        attempt,
        result: Ok(payload("gh")),
    };
    assert!(step(&mut s, late).is_empty());
}

#[test]
fn a_blocked_popup_is_inline_and_offers_continuing_here() {
    let mut s = on_integration("gh", AuthMode::Oauth2);
    s.config.return_url = Some("https://app.example/back".into());
    let fx = step(
        &mut s,
        Event::Connect {
            selected: selected("gh", AuthMode::Oauth2),
            params: Vec::new(),
        },
    );
    let [Effect::StartOAuth { attempt, .. }] = fx.as_slice() else {
        panic!("expected the popup to start, got {fx:?}");
    };
    let blocked = AuthError::new("blocked_by_browser", "Modal blocked by browser");
    let fx = step(
        &mut s,
        Event::OAuthResult {
            attempt: *attempt,
            result: Err(blocked),
        },
    );
    assert_eq!(one_error(&fx), "blocked_by_browser");
    assert_eq!(s.alert.as_ref().map(|a| a.shown), Some(Shown::Inline));
    assert!(!s.connecting);

    let fx = step(
        &mut s,
        Event::ContinueHere {
            selected: selected("gh", AuthMode::Oauth2),
            params: Vec::new(),
        },
    );
    match fx.as_slice() {
        [Effect::Redirect { request, .. }] => {
            assert_eq!(request.return_url, "https://app.example/back");
            assert_eq!(request.connect_session_token, "tok");
        }
        other => panic!("expected a redirect, got {other:?}"),
    }
}

#[test]
fn credentials_succeed_with_one_connect() {
    let mut s = on_integration("key", AuthMode::ApiKey);
    let submission = Submission {
        credentials: vec![("apiKey".into(), "secret".into())],
        ..Submission::default()
    };
    let fx = step(
        &mut s,
        Event::Submit {
            selected: selected("key", AuthMode::ApiKey),
            submission: submission.clone(),
        },
    );
    let attempt = match fx.as_slice() {
        [Effect::SubmitCredentials {
            attempt,
            route,
            key,
            submission: sent,
            ..
        }] => {
            assert_eq!(*route, latchkey_protocol::routes::API_KEY);
            assert_eq!((key.as_str(), sent), ("key", &submission));
            *attempt
        }
        other => panic!("expected a submission, got {other:?}"),
    };
    assert!(s.connecting);
    let fx = step(
        &mut s,
        Event::Submitted {
            attempt,
            result: Ok(payload("key")),
        },
    );
    assert!(matches!(
        posted(&fx).as_slice(),
        [ConnectUiEvent::Connect { .. }]
    ));
    assert!(matches!(s.screen, Screen::Success(_)));
}

#[test]
fn two_step_credentials_carry_their_type() {
    let mut s = on_integration("ts", AuthMode::TwoStep);
    let fx = step(
        &mut s,
        Event::Submit {
            selected: selected("ts", AuthMode::TwoStep),
            submission: Submission::default(),
        },
    );
    let [Effect::SubmitCredentials { submission, .. }] = fx.as_slice() else {
        panic!("expected a submission, got {fx:?}");
    };
    assert_eq!(submission.credential("type"), "TWO_STEP");
}

/// Submits on `key`'s API-key form and answers with `failure`.
fn submission_failing(failure: ApiFailure) -> (State, Vec<Effect>) {
    let mut s = on_integration("key", AuthMode::ApiKey);
    step(
        &mut s,
        Event::Submit {
            selected: selected("key", AuthMode::ApiKey),
            submission: Submission::default(),
        },
    );
    let attempt = s.attempt;
    let fx = step(
        &mut s,
        Event::Submitted {
            attempt,
            result: Err(failure),
        },
    );
    (s, fx)
}

#[test]
fn credential_failures_are_inline_on_a_screen_or_the_session_notice() {
    // Offline: inline, the form stays.
    let (s, fx) = submission_failing(ApiFailure::Network);
    assert_eq!(one_error(&fx), "unknown_error");
    assert!(matches!(s.screen, Screen::Integration(_)));
    assert_eq!(s.alert.as_ref().map(|a| a.shown), Some(Shown::Inline));
    assert!(!s.connecting);

    // Rejected: the failure screen, with the server's code.
    let rejected = ApiFailure::Server {
        status: 400,
        code: "invalid_credentials".into(),
        message: "bad key".into(),
    };
    let (mut s, fx) = submission_failing(rejected);
    assert_eq!(one_error(&fx), "invalid_credentials");
    let Screen::Failure(failed, failure) = s.screen.clone() else {
        panic!("expected the failure screen, got {:?}", s.screen);
    };
    assert_eq!(failure.detail.as_deref(), Some("bad key"));
    assert!(s.alert.is_none());
    // Try again: the form once more, the values kept.
    s.draft = Some(("key".into(), vec!["typed".into()]));
    assert!(step(&mut s, Event::Retry(failed)).is_empty());
    assert!(matches!(s.screen, Screen::Integration(_)));
    assert!(s.draft.is_some());

    // 401: the session expired notice.
    let (s, fx) = submission_failing(ApiFailure::SessionExpired);
    assert_eq!(one_error(&fx), "unknown_connect_session_token");
    assert_eq!(s.screen, Screen::Notice(Notice::SessionExpired));
}

#[test]
fn a_new_click_supersedes_a_pending_submission() {
    let mut s = on_integration("key", AuthMode::ApiKey);
    let submit = |s: &mut State| {
        step(
            s,
            Event::Submit {
                selected: selected("key", AuthMode::ApiKey),
                submission: Submission::default(),
            },
        );
        s.attempt
    };
    let first = submit(&mut s);
    let second = submit(&mut s);
    assert_ne!(first, second);
    let fx = step(
        &mut s,
        Event::Submitted {
            attempt: first,
            result: Err(ApiFailure::Network),
        },
    );
    assert!(fx.is_empty() && s.alert.is_none() && s.connecting);
    let fx = step(
        &mut s,
        Event::Submitted {
            attempt: second,
            result: Ok(payload("key")),
        },
    );
    assert_eq!(posted(&fx).len(), 1);
}

#[test]
fn edits_mark_the_form_dirty_and_keep_a_draft() {
    let mut s = on_integration("key", AuthMode::ApiKey);
    let fx = step(
        &mut s,
        Event::Edited {
            key: "key".into(),
            values: vec!["abc".into()],
            dirty: true,
        },
    );
    assert!(fx.is_empty());
    assert!(s.dirty);
    assert_eq!(s.draft, Some(("key".into(), vec!["abc".into()])));
    // Choosing an integration afresh forgets the draft.
    let load = s.load;
    step(
        &mut s,
        Event::ProviderLoaded {
            load,
            result: Ok(provided("key", AuthMode::ApiKey)),
        },
    );
    assert!(s.draft.is_none() && !s.dirty);
}
