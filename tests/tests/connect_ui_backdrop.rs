//! The Connect UI's backdrop stays translucent over the customer's page for every combination of the
//! system's colour scheme (light, dark), the page's own `color-scheme` (none, light, dark) and the
//! Connect UI's theme (system, the SDK's `themeOverride` light/dark, the settings' `defaultTheme`
//! dark). Chromium paints an opaque canvas behind an iframe whose root color-scheme differs from
//! the iframe element's, which used to turn the page black (or white) behind the dialog.
//!
//! Checked on real pixels: the page puts a red block at the top left, and a screenshot must show it
//! through the backdrop (reddish), while the dialog's surface shows the theme that was asked for.

use latchkey_tests::browser::Browser;
use latchkey_tests::connect_ui::{self, UiStack, BASIC};
use serde_json::json;
use std::time::Duration;

const TIME_LIMIT: Duration = Duration::from_secs(200);

/// Inside the red block, outside the dialog (centred, at most 500 px wide in a 1280 px window).
const MARKER: (u32, u32) = (60, 60);
/// In the dialog's left padding (the dialog spans x 390–890, y 100–800).
const SURFACE: (u32, u32) = (400, 450);

/// The red block seen through a translucent backdrop (light: rgb(15 23 42 / .55) → (123, 13, 23);
/// dark: rgb(0 0 0 / .6) → (102, 0, 0)); an opaque canvas gives grey, black or white instead.
fn red_shows_through([r, g, b]: [u8; 3]) -> bool {
    r > 80 && g < 50 && b < 60
}

fn dark_surface([r, g, b]: [u8; 3]) -> bool {
    r < 60 && g < 60 && b < 60
}

/// Opens the Connect UI over a page with `scheme` and `theme_override`, waits until it shows the list,
/// and checks the marker's and the surface's pixels.
async fn check(
    stack: &UiStack,
    browser: &Browser,
    case: &str,
    scheme: &str,
    theme_override: Option<&str>,
    expect_dark: bool,
) -> anyhow::Result<()> {
    let token = stack.session(json!({})).await?;
    let url = format!(
        "{}&scheme={scheme}",
        stack.page_url(&token, None, theme_override)
    );
    browser.goto(&url).await?;
    browser.enter_frame("#connect-ui").await?;
    browser
        .wait_for(&format!("button[data-integration=\"{BASIC}\"]"))
        .await?;
    browser.leave_frames().await?;
    // The theme class is applied with the session; give the paint a moment to catch up.
    let last = std::sync::Mutex::new(([0u8; 3], [0u8; 3]));
    let outcome = latchkey_tests::wait::until(case, Duration::from_secs(5), || async {
        let marker = browser.pixel(MARKER.0, MARKER.1).await?;
        let surface = browser.pixel(SURFACE.0, SURFACE.1).await?;
        *last.lock().unwrap_or_else(|p| p.into_inner()) = (marker, surface);
        Ok((red_shows_through(marker) && dark_surface(surface) == expect_dark).then_some(()))
    })
    .await;
    if outcome.is_err() {
        browser.screenshot(case).await;
    }
    let (marker, surface) = *last.lock().unwrap_or_else(|p| p.into_inner());
    outcome.map_err(|_| {
        anyhow::anyhow!(
            "{case}: page behind the backdrop {marker:?} (want red showing through), dialog surface \
             {surface:?} (want {})",
            if expect_dark { "dark" } else { "light" }
        )
    })
}

/// Every page scheme × theme for one system scheme; then the settings' `defaultTheme: dark`.
async fn every_combination(
    stack: &UiStack,
    browser: &Browser,
    system_dark: bool,
) -> anyhow::Result<()> {
    let system = if system_dark { "dark" } else { "light" };
    for scheme in ["normal", "light", "dark"] {
        for theme in [None, Some("light"), Some("dark")] {
            let expect_dark = theme.map_or(system_dark, |t| t == "dark");
            let case = format!(
                "system-{system}-page-{scheme}-theme-{}",
                theme.unwrap_or("system")
            );
            check(stack, browser, &case, scheme, theme, expect_dark).await?;
        }
    }
    set_default_theme(stack, "dark").await?;
    for scheme in ["normal", "light", "dark"] {
        let case = format!("system-{system}-page-{scheme}-settings-dark");
        check(stack, browser, &case, scheme, None, true).await?;
    }
    set_default_theme(stack, "system").await
}

async fn set_default_theme(stack: &UiStack, theme: &str) -> anyhow::Result<()> {
    let mut connect_ui =
        serde_json::to_value(latchkey_protocol::connect::ConnectUiSettings::default())?;
    connect_ui["defaultTheme"] = json!(theme);
    let res = reqwest::Client::new()
        .patch(stack.server.endpoint(&["environment", "settings"])?)
        .bearer_auth(stack.server.secret_key())
        .json(&json!({ "connect_ui": connect_ui }))
        .send()
        .await?;
    anyhow::ensure!(
        res.status().is_success(),
        "PATCH settings: {}",
        res.status()
    );
    Ok(())
}

#[tokio::test]
async fn backdrop_stays_translucent_for_every_scheme_and_theme() -> anyhow::Result<()> {
    connect_ui::with_browser(
        "backdrop-light-system",
        TIME_LIMIT,
        |stack, browser| async move {
            every_combination(&stack, &browser, false).await?;
            // The same stack in a browser whose system scheme is dark.
            let dark = Browser::start_dark("connect-ui/backdrop-dark-system").await?;
            let outcome = every_combination(&stack, &dark, true).await;
            dark.close().await;
            outcome
        },
    )
    .await
}
