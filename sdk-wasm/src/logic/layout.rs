//! Popup geometry, as `@nangohq/frontend` computes it (reference §1.4): the popup is centred on the
//! screen, never larger than it, 500×600 unless the integrator asks otherwise.

/// Default popup width when the integrator gives none (or 0).
pub const DEFAULT_WIDTH: u32 = 500;
/// Default popup height when the integrator gives none (or 0).
pub const DEFAULT_HEIGHT: u32 = 600;

/// Where and how large the OAuth popup opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PopupLayout {
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
}

impl PopupLayout {
    /// Centres a `width`×`height` popup (0 = default) on a `screen_width`×`screen_height` screen,
    /// clamping it to the screen.
    pub fn centred(width: u32, height: u32, screen_width: u32, screen_height: u32) -> Self {
        let width = or_default(width, DEFAULT_WIDTH).min(screen_width);
        let height = or_default(height, DEFAULT_HEIGHT).min(screen_height);
        Self {
            left: (screen_width - width) / 2,
            top: (screen_height - height) / 2,
            width,
            height,
        }
    }

    /// The `window.open` feature string, in Nango's order and with Nango's fixed flags.
    pub fn features(&self) -> String {
        let mut s = String::with_capacity(160);
        for (name, value) in [
            ("left=", self.left),
            (",top=", self.top),
            (",width=", self.width),
            (",height=", self.height),
        ] {
            s.push_str(name);
            push_decimal(&mut s, value);
        }
        s.push_str(",scrollbars=yes,resizable=yes,status=no,toolbar=no,location=no,copyhistory=no,menubar=no,directories=no");
        s
    }
}

/// Appends `n` in decimal (instead of `to_string`, which would ship `core::fmt` number formatting).
fn push_decimal(s: &mut String, n: u32) {
    if n >= 10 {
        push_decimal(s, n / 10);
    }
    s.push(char::from(b'0' + (n % 10) as u8));
}

fn or_default(value: u32, default: u32) -> u32 {
    if value == 0 {
        default
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_popup_is_500_by_600_centred() {
        let l = PopupLayout::centred(0, 0, 1920, 1080);
        assert_eq!(
            l,
            PopupLayout {
                left: 710,
                top: 240,
                width: 500,
                height: 600
            }
        );
    }

    #[test]
    fn popup_never_exceeds_the_screen_and_stays_on_it() {
        let l = PopupLayout::centred(2000, 900, 1280, 720);
        assert_eq!(
            l,
            PopupLayout {
                left: 0,
                top: 0,
                width: 1280,
                height: 720
            }
        );
    }

    #[test]
    fn custom_size_is_centred() {
        let l = PopupLayout::centred(800, 400, 1000, 1000);
        assert_eq!(
            l,
            PopupLayout {
                left: 100,
                top: 300,
                width: 800,
                height: 400
            }
        );
    }

    #[test]
    fn decimal_formatting_matches_to_string() {
        for n in [0, 7, 10, 99, 500, 1920, u32::MAX] {
            let mut s = String::new();
            push_decimal(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }

    #[test]
    fn features_string_matches_nango() {
        let f = PopupLayout {
            left: 710,
            top: 240,
            width: 500,
            height: 600,
        }
        .features();
        assert_eq!(
            f,
            "left=710,top=240,width=500,height=600,scrollbars=yes,resizable=yes,status=no,toolbar=no,\
             location=no,copyhistory=no,menubar=no,directories=no"
        );
    }
}
