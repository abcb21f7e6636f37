//! How long the Connect UI takes to be ready: from the SDK inserting the iframe (`openConnectUI()`)
//! to the Connect UI's `ready` event, in headless Chromium against the real server, over several cold
//! page loads. Prints the median (`cargo xtask bench` shows this line) and fails above 5 s.

use latchkey_tests::browser::Browser;
use latchkey_tests::connect_ui::{self, UiStack};
use serde_json::json;

const RUNS: usize = 7;

#[tokio::test]
async fn connect_ui_is_ready_soon_after_the_iframe_is_inserted() -> anyhow::Result<()> {
    latchkey_tests::require_web_build()?;
    let stack = UiStack::start().await?;
    let browser = Browser::start("connect-ui/ready").await?;
    let token = stack.session(json!({})).await?;
    let mut times = Vec::with_capacity(RUNS);
    let mut outcome = Ok(());
    for _ in 0..RUNS {
        match connect_ui::ready_time(&stack, &browser, &token).await {
            Ok(ms) => times.push(ms),
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    browser.close().await;
    outcome?;
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "connect-ui ready: median {median:.0} ms over {RUNS} loads (min {:.0}, max {:.0})",
        times[0],
        times[times.len() - 1]
    );
    assert!(
        median < 5000.0,
        "the Connect UI took {median} ms to be ready"
    );
    Ok(())
}
