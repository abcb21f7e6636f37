//! The SDK's own request bodies, written without serde at run time; the messages it shares with the
//! Connect UI and the server (events, WebSocket frames, the error envelope) are read and written by
//! [`latchkey_protocol::codec`], re-exported here for the SDK's modules.

pub use latchkey_protocol::codec::{
    read_api_error, read_callback_message, read_connect_ui_signal, read_ws_message,
    write_callback_ack, write_connect_payload, write_parent_message, ReadFields, WriteFields,
};

/// Body of a credential `POST` (reference §3.8; the server is strict: exactly these fields), as decided
/// by [`crate::logic::credentials::dispatch`].
pub fn write_credentials_body<W: WriteFields>(fields: &[(String, String)]) -> W {
    let mut w = W::empty();
    for (name, value) in fields {
        w.set_string(name, value);
    }
    w
}

/// A TWO_STEP body with the client-assertion key material (`auth(key, {credentials,
/// assertionOption})`) as its `assertionOption` object, as `@nangohq/frontend` sends it.
pub fn write_two_step_body<W: WriteFields>(
    fields: &[(String, String)],
    assertion_option: &[(String, String)],
) -> W {
    let mut w = write_credentials_body::<W>(fields);
    if !assertion_option.is_empty() {
        w.set_object("assertionOption", write_credentials_body(assertion_option));
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn credential_bodies_have_nango_shapes() {
        use crate::logic::credentials::{dispatch, Dispatch};
        let body = |pairs: &[(&str, &str)]| {
            let c: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            match dispatch(&c).unwrap() {
                Dispatch::Post { body, .. } => write_credentials_body::<Value>(&body),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(body(&[("apiKey", "k")]), json!({"apiKey": "k"}));
        assert_eq!(
            body(&[("username", "u")]),
            json!({"username": "u", "password": ""})
        );
        assert_eq!(
            body(&[("client_id", "i"), ("client_secret", "s")]),
            json!({"client_id": "i", "client_secret": "s"})
        );
        let key = [("privateKey".to_string(), "pem".to_string())];
        let fields = [("type".to_string(), "TWO_STEP".to_string())];
        assert_eq!(
            write_two_step_body::<Value>(&fields, &key),
            json!({"type": "TWO_STEP", "assertionOption": {"privateKey": "pem"}})
        );
        assert_eq!(
            write_two_step_body::<Value>(&fields, &[]),
            json!({"type": "TWO_STEP"})
        );
    }
}
