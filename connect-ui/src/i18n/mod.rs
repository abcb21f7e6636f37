//! Every user-visible string of the Connect UI, looked up by a typed [`Key`].
//!
//! Views never hold literal text: they call [`I18n::t`] / [`I18n::t_name`]. A language is one module
//! with an exhaustive `match` over [`Key`] (see `en.rs`), so adding a key fails to compile until every
//! language handles it. To add a language (fr, de, es, ja): a new [`Lang`] variant, its tag in
//! [`Lang::from_tag`], a `fr.rs` like `en.rs`, and an arm in [`text`].

mod en;

/// A supported UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
}

impl Lang {
    /// The language for a BCP-47 tag (`fr-CA` → its primary subtag), if supported.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("en") {
            Some(Self::En)
        } else {
            None
        }
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
        }
    }
}

/// The catalogue of UI strings. `{name}` in a text is replaced by [`I18n::t_name`].
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
}

fn text(lang: Lang, key: Key) -> &'static str {
    match lang {
        Lang::En => en::text(key),
    }
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
        self.t(key).replace("{name}", name)
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
    fn name_placeholder_is_filled() {
        let i18n = I18n::new(Lang::En);
        assert_eq!(
            i18n.t_name(Key::LinkAccount, "GitHub"),
            "Link GitHub Account"
        );
        assert_eq!(i18n.t_name(Key::ConnectTo, "GitHub"), "Connect to GitHub");
    }
}
