//! Light/dark theme and the environment's primary colour.
//!
//! Resolution (as Nango): the `theme` URL parameter, then `connectUISettings.defaultTheme`, then the
//! system preference. `<html>` gets class `light` or `dark` (none for `system`, where `style.css`
//! follows `prefers-color-scheme`). The palette's primaries go into `--primary-{light,dark}` with a
//! readable `--on-primary-{light,dark}`; `style.css` maps them onto `--color-primary`.

use latchkey_protocol::connect::ConnectUiTheme;
use wasm_bindgen::JsCast;

/// `light` | `dark` | `system`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThemeChoice {
    Light,
    Dark,
    System,
}

impl ThemeChoice {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "light" => Some(Self::Light),
            "dark" => Some(Self::Dark),
            "system" => Some(Self::System),
            _ => None,
        }
    }
}

/// An sRGB colour from a `#rgb` / `#rrggbb` string (the only forms the settings store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(u8, u8, u8);

impl Rgb {
    pub fn parse_hex(value: &str) -> Option<Self> {
        let hex = value.strip_prefix('#')?.as_bytes();
        // By byte, without slicing the text: a `str` slice links its panic path (and its formatting).
        let digit = |i: usize| Some((*hex.get(i)? as char).to_digit(16)? as u8);
        match hex.len() {
            6 => Some(Self(
                digit(0)? * 16 + digit(1)?,
                digit(2)? * 16 + digit(3)?,
                digit(4)? * 16 + digit(5)?,
            )),
            3 => Some(Self(digit(0)? * 17, digit(1)? * 17, digit(2)? * 17)),
            _ => None,
        }
    }

    /// WCAG relative luminance. The sRGB transfer curve is a cubic fit (error < 0.3 %), which keeps
    /// `powf` and its 2 KB of wasm out of the build.
    fn luminance(self) -> f32 {
        let lin = |c: u8| {
            let c = f32::from(c) / 255.0;
            c * (c * (c * 0.305_306 + 0.682_171) + 0.012_522_9)
        };
        0.2126 * lin(self.0) + 0.7152 * lin(self.1) + 0.0722 * lin(self.2)
    }

    /// Black or white, whichever contrasts more with this colour (WCAG contrast ratio).
    pub fn on_color(self) -> &'static str {
        let l = self.luminance();
        // contrast(black) = (l + 0.05) / 0.05, contrast(white) = 1.05 / (l + 0.05)
        if (l + 0.05) * (l + 0.05) > 0.0525 {
            "#000000"
        } else {
            "#ffffff"
        }
    }
}

/// Applies the theme choice and, when known, the environment's palette to the document.
pub fn apply(choice: ThemeChoice, palette: Option<&ConnectUiTheme>) {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return;
    };
    let classes = root.class_list();
    let _ = classes.remove_2("light", "dark");
    match choice {
        ThemeChoice::Light => drop(classes.add_1("light")),
        ThemeChoice::Dark => drop(classes.add_1("dark")),
        ThemeChoice::System => {}
    }
    let Some(palette) = palette else { return };
    let style = root.style();
    for (mode, primary) in [
        ("light", &palette.light.primary),
        ("dark", &palette.dark.primary),
    ] {
        // Only well-formed colours reach the stylesheet.
        if let Some(rgb) = Rgb::parse_hex(primary) {
            let _ = style.set_property(&format!("--primary-{mode}"), primary);
            let _ = style.set_property(&format!("--on-primary-{mode}"), rgb.on_color());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_short_and_long_hex() {
        assert_eq!(Rgb::parse_hex("#00B2E3"), Some(Rgb(0, 0xb2, 0xe3)));
        assert_eq!(Rgb::parse_hex("#fff"), Some(Rgb(255, 255, 255)));
        assert_eq!(Rgb::parse_hex("red"), None);
        assert_eq!(Rgb::parse_hex("#12345"), None);
        assert_eq!(Rgb::parse_hex("#+1+2+3"), None);
        assert_eq!(Rgb::parse_hex("#a1C"), Some(Rgb(0xaa, 0x11, 0xcc)));
        // Six bytes, three characters: not a colour.
        assert_eq!(Rgb::parse_hex("#ééé"), None);
    }

    #[test]
    fn text_on_primary_is_readable() {
        assert_eq!(Rgb::parse_hex("#00B2E3").unwrap().on_color(), "#000000");
        assert_eq!(Rgb::parse_hex("#1e3a8a").unwrap().on_color(), "#ffffff");
        assert_eq!(Rgb::parse_hex("#ffffff").unwrap().on_color(), "#000000");
        assert_eq!(Rgb::parse_hex("#000").unwrap().on_color(), "#ffffff");
    }

    #[test]
    fn theme_names_parse() {
        assert_eq!(ThemeChoice::parse("dark"), Some(ThemeChoice::Dark));
        assert_eq!(ThemeChoice::parse("Dark"), None);
    }
}
