//! Every user-visible string of the Connect UI, looked up by a typed [`Key`].
//!
//! Views never hold literal text: they call [`I18n::t`] / [`I18n::t_name`]. A language is one module
//! with an exhaustive `match` over [`Key`] (see `en.rs`), so adding a key fails to compile until every
//! language handles it. To add a language: a new [`Lang`] variant, its tag in [`Lang::ALL`], a module
//! like `en.rs`, and an arm in [`text`]. Provider field labels come from the catalog and stay English.
//!
//! Why not `leptos_i18n`: a `Key` enum with one `match` per language is checked at compile time just
//! the same, costs only the strings themselves in the wasm, and needs no build script.
//!
//! Only English is compiled into the wasm. The other languages ship as `static/lang-{tag}.json`, a
//! JSON array indexed by `Key as usize`, fetched by [`load`] before the first render when the user's
//! language is not English (first render in English needs no extra bytes). Their Rust modules stay
//! the source of truth, compiled natively: a test checks that every file equals its module
//! (`LATCHKEY_WRITE_LANG_FILES=1 cargo test -p connect-ui --lib i18n` rewrites them).

#[cfg(not(target_arch = "wasm32"))]
mod de;
mod en;
#[cfg(not(target_arch = "wasm32"))]
mod es;
#[cfg(not(target_arch = "wasm32"))]
mod fr;
#[cfg(not(target_arch = "wasm32"))]
mod ja;

/// A supported UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Fr,
    De,
    Es,
    Ja,
}

impl Lang {
    /// Every supported language.
    pub const ALL: [Lang; 5] = [Self::En, Self::Fr, Self::De, Self::Es, Self::Ja];

    /// The language for a BCP-47 tag (`fr-CA` → its primary subtag), if supported.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        Self::ALL
            .into_iter()
            .find(|l| primary.eq_ignore_ascii_case(l.tag()))
    }

    /// `lang` URL parameter first, then the browser's language, then English (as Nango).
    pub fn negotiate(param: Option<&str>, browser: Option<&str>) -> Self {
        param
            .and_then(Self::from_tag)
            .or_else(|| browser.and_then(Self::from_tag))
            .unwrap_or_default()
    }

    /// The tag sent as `Accept-Language` and set on `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
            Self::De => "de",
            Self::Es => "es",
            Self::Ja => "ja",
        }
    }
}

/// The catalogue of UI strings. `{name}` in a text is replaced by [`I18n::t_name`]. A key's
/// discriminant is its index in the language files: add new keys last, and to [`Key::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    DialogLabel,
    Close,
    Loading,
    OpenedDirectly,
    SessionExpired,
    FatalError,
    ListTitle,
    ListDescription,
    ListEmpty,
    ConnectTo,
    ProviderLoadFailed,
    LinkAccount,
    Back,
    WeWillConnect,
    PopupHint,
    Connect,
    Connecting,
    UnsupportedAuthMode,
    NeedHelp,
    ViewGuide,
    SuccessTitle,
    SuccessText,
    CloseTab,
    Finish,
    FailureTitle,
    PopupBlocked,
    PopupClosed,
    UnknownFailure,
    ErrorDetails,
    ErrorType,
    TryAgain,
    FieldRequired,
    FieldIncorrect,
    Optional,
    FieldApiKey,
    FieldUsername,
    FieldPassword,
    FieldClientId,
    FieldClientSecret,
    FieldHelp,
    InvalidCredentials,
    NetworkFailure,
    ConsentDenied,
    ConfirmLeave,
    ContinueHere,
    /// Beside a Connect button disabled by empty or invalid fields.
    FillRequired,
}

impl Key {
    /// Every key, in discriminant order (the order of the language files).
    pub const ALL: [Key; 46] = [
        Self::DialogLabel,
        Self::Close,
        Self::Loading,
        Self::OpenedDirectly,
        Self::SessionExpired,
        Self::FatalError,
        Self::ListTitle,
        Self::ListDescription,
        Self::ListEmpty,
        Self::ConnectTo,
        Self::ProviderLoadFailed,
        Self::LinkAccount,
        Self::Back,
        Self::WeWillConnect,
        Self::PopupHint,
        Self::Connect,
        Self::Connecting,
        Self::UnsupportedAuthMode,
        Self::NeedHelp,
        Self::ViewGuide,
        Self::SuccessTitle,
        Self::SuccessText,
        Self::CloseTab,
        Self::Finish,
        Self::FailureTitle,
        Self::PopupBlocked,
        Self::PopupClosed,
        Self::UnknownFailure,
        Self::ErrorDetails,
        Self::ErrorType,
        Self::TryAgain,
        Self::FieldRequired,
        Self::FieldIncorrect,
        Self::Optional,
        Self::FieldApiKey,
        Self::FieldUsername,
        Self::FieldPassword,
        Self::FieldClientId,
        Self::FieldClientSecret,
        Self::FieldHelp,
        Self::InvalidCredentials,
        Self::NetworkFailure,
        Self::ConsentDenied,
        Self::ConfirmLeave,
        Self::ContinueHere,
        Self::FillRequired,
    ];
}

// `ALL` ends with the last key, so the files' length is the number of keys.
const _: () = assert!(Key::ALL.len() == Key::FillRequired as usize + 1);

#[cfg(not(target_arch = "wasm32"))]
fn text(lang: Lang, key: Key) -> &'static str {
    match lang {
        Lang::En => en::text(key),
        Lang::Fr => fr::text(key),
        Lang::De => de::text(key),
        Lang::Es => es::text(key),
        Lang::Ja => ja::text(key),
    }
}

/// Natively (tests, tools) every language is built in.
#[cfg(not(target_arch = "wasm32"))]
pub async fn load(_lang: Lang) -> bool {
    true
}

/// The loaded language's texts (wasm: only one language other than English is ever loaded).
#[cfg(target_arch = "wasm32")]
static LOADED: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();

/// English, or the loaded file's text (English when the file could not be loaded).
#[cfg(target_arch = "wasm32")]
fn text(lang: Lang, key: Key) -> &'static str {
    match LOADED.get() {
        Some(texts) if lang != Lang::En => texts[key as usize],
        _ => en::text(key),
    }
}

/// Fetches and installs the texts of `lang` (`lang-{tag}.json` beside `index.html`); `false` when
/// they could not be loaded (the UI then speaks English). English is built in: `true` at once.
#[cfg(target_arch = "wasm32")]
pub async fn load(lang: Lang) -> bool {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    if lang == Lang::En {
        return true;
    }
    let Some(window) = web_sys::window() else {
        return false;
    };
    let url = ["lang-", lang.tag(), ".json"].concat();
    let Ok(response) = JsFuture::from(window.fetch_with_str(&url)).await else {
        return false;
    };
    let response: web_sys::Response = response.unchecked_into();
    let json = match response.json() {
        Ok(promise) if response.ok() => JsFuture::from(promise).await,
        _ => return false,
    };
    let Some(array) = json.ok().and_then(|j| j.dyn_into::<js_sys::Array>().ok()) else {
        return false;
    };
    let texts: Vec<&'static str> = array
        .iter()
        .map(|t| &*String::leak(t.as_string().unwrap_or_default()))
        .collect();
    texts.len() == Key::ALL.len() && LOADED.set(texts).is_ok()
}

/// The translator handed to views through context (it is `Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct I18n {
    pub lang: Lang,
}

impl I18n {
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    pub fn t(self, key: Key) -> &'static str {
        text(self.lang, key)
    }

    /// A text with its `{name}` placeholder filled (an integration's display name).
    pub fn t_name(self, key: Key, name: &str) -> String {
        const PLACEHOLDER: &str = "{name}";
        let text = self.t(key);
        // `get`, not indexing: the same split, without linking a `str` slice's panic path.
        let parts = crate::find_str(text, PLACEHOLDER)
            .and_then(|at| Some((text.get(..at)?, text.get(at + PLACEHOLDER.len()..)?)));
        match parts {
            Some((before, after)) => [before, name, after].concat(),
            None => text.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_prefers_param_then_browser_then_english() {
        assert_eq!(Lang::negotiate(Some("en-GB"), Some("xx")), Lang::En);
        assert_eq!(Lang::negotiate(Some("zz"), Some("en-US")), Lang::En);
        assert_eq!(Lang::negotiate(None, None), Lang::En);
        assert_eq!(Lang::from_tag("xx-YY"), None);
    }

    #[test]
    fn every_language_is_negotiated_from_its_tag() {
        assert_eq!(Lang::negotiate(Some("fr-CA"), Some("en")), Lang::Fr);
        assert_eq!(Lang::negotiate(None, Some("de-DE")), Lang::De);
        assert_eq!(Lang::negotiate(Some("xx"), Some("es")), Lang::Es);
        assert_eq!(Lang::negotiate(Some("JA"), None), Lang::Ja);
        for lang in Lang::ALL {
            assert_eq!(Lang::from_tag(lang.tag()), Some(lang));
        }
    }

    #[test]
    fn translations_keep_their_placeholders() {
        for lang in Lang::ALL {
            let i18n = I18n::new(lang);
            for key in [
                Key::ConnectTo,
                Key::LinkAccount,
                Key::WeWillConnect,
                Key::SuccessText,
                Key::FieldIncorrect,
                Key::FieldHelp,
            ] {
                assert!(i18n.t(key).contains("{name}"), "{lang:?} {key:?}");
            }
            if lang != Lang::En {
                assert_ne!(
                    i18n.t(Key::ListTitle),
                    I18n::new(Lang::En).t(Key::ListTitle),
                    "{lang:?}"
                );
            }
        }
    }

    /// The shipped `static/lang-{tag}.json` files are exactly the Rust translations, in key order.
    #[test]
    fn language_files_hold_every_key_in_order() {
        for (i, key) in Key::ALL.into_iter().enumerate() {
            assert_eq!(key as usize, i, "{key:?} is out of order in Key::ALL");
        }
        for lang in Lang::ALL.into_iter().filter(|l| *l != Lang::En) {
            let expected: Vec<&str> = Key::ALL.into_iter().map(|k| text(lang, k)).collect();
            let path = format!(
                "{}/static/lang-{}.json",
                env!("CARGO_MANIFEST_DIR"),
                lang.tag()
            );
            if std::env::var_os("LATCHKEY_WRITE_LANG_FILES").is_some() {
                let json = serde_json::to_string_pretty(&expected).unwrap();
                std::fs::write(&path, json + "\n").unwrap();
            }
            let file = std::fs::read_to_string(&path).unwrap_or_default();
            let shipped: Vec<String> = serde_json::from_str(&file).unwrap_or_default();
            assert_eq!(shipped, expected, "{path} differs from the {lang:?} module");
        }
    }

    #[test]
    fn name_placeholder_is_filled() {
        let i18n = I18n::new(Lang::En);
        assert_eq!(
            i18n.t_name(Key::LinkAccount, "GitHub"),
            "Link GitHub Account"
        );
        assert_eq!(i18n.t_name(Key::ConnectTo, "GitHub"), "Connect to GitHub");
    }
}
