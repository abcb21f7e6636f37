//! Chromium + chromedriver start, render a page, and leave no process behind.

use latchkey_tests::browser::Browser;
use std::time::Duration;

/// Processes whose process group is `pgid`, read from /proc (field 5 of `stat`).
fn processes_in_group(pgid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp …`; comm may contain spaces, so split after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid)
            && fields.first() != Some(&"Z")
        {
            found.push(pid);
        }
    }
    found
}

#[tokio::test]
async fn browser_starts_and_renders_a_page() -> anyhow::Result<()> {
    let browser = Browser::start("browser_starts_and_renders_a_page").await?;
    let pgid = browser.driver_pid();
    browser
        .goto("data:text/html,<title>smoke</title><h1 id=greeting>Hello, Latchkey</h1>")
        .await?;
    let text = browser
        .wait_for_text("#greeting", Duration::from_secs(10), |t| !t.is_empty())
        .await?;
    assert_eq!(text, "Hello, Latchkey");
    assert_eq!(browser.client().title().await?, "smoke");
    browser.screenshot("rendered").await;
    assert!(
        processes_in_group(pgid).len() > 1,
        "Chromium should run inside chromedriver's process group (so one kill stops it)"
    );

    drop(browser);
    let gone = latchkey_tests::wait::until(
        "chromedriver and Chromium to exit",
        Duration::from_secs(10),
        || async { Ok(processes_in_group(pgid).is_empty().then_some(())) },
    )
    .await;
    assert!(gone.is_ok(), "left behind: {:?}", processes_in_group(pgid));
    Ok(())
}
