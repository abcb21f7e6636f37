//! The README's quick start, run as written: its Node (`@nangohq/node`) and curl snippets are taken
//! from README.md and run against a real server set up like `cargo xtask serve` (one integration,
//! `local-oidc`, on the local OAuth provider). The only changes: the server's address (the test's own
//! port instead of 3003) and, in step 3, the placeholders `<INTEGRATION-ID>` / `<CONNECTION-ID>`
//! filled with a connection made in between. Also checks the README's offline claim for the local
//! provider: its login page requests no web fonts.
//!
//! Not run here: the `<script>` snippet (the demo page is that code, covered by `e2e_connect.rs`) and the
//! CLI line (covered by the server's CLI tests).

use latchkey_tests::headless::HeadlessUser;
use latchkey_tests::stack::{Stack, GITHUB, LOCAL_OIDC};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

const README_HOST: &str = "http://localhost:3003";

/// The fenced code blocks of `lang` in `markdown`, in order.
fn blocks(markdown: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start().strip_prefix("```")) {
            (None, Some(tag)) if tag.trim() == lang => current = Some(String::new()),
            (Some(block), Some(_)) => {
                out.push(std::mem::take(block));
                current = None;
            }
            (Some(block), None) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

fn find<'a>(blocks: &'a [String], needle: &str) -> anyhow::Result<&'a str> {
    blocks
        .iter()
        .find(|b| b.contains(needle))
        .map(String::as_str)
        .ok_or_else(|| anyhow::anyhow!("no README snippet with {needle:?}"))
}

/// Runs `program` with `stdin` as input from the workspace root (where `node_modules` is), with the
/// secret key in `LATCHKEY_SECRET_KEY` as the README says; its stdout.
fn run(program: &str, args: &[&str], stdin: &str, secret_key: &str) -> anyhow::Result<String> {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(latchkey_tests::workspace_root())
        .env("LATCHKEY_SECRET_KEY", secret_key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(stdin.as_bytes())?;
    let out = child.wait_with_output()?;
    anyhow::ensure!(
        out.status.success(),
        "{program} failed ({}):\n{stdin}\n--- stderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// [`run`] off the test's runtime, which also serves the in-process server the snippet calls.
async fn run_blocking(
    program: &'static str,
    args: &'static [&'static str],
    stdin: String,
    secret_key: &str,
) -> anyhow::Result<String> {
    let secret_key = secret_key.to_owned();
    tokio::task::spawn_blocking(move || run(program, args, &stdin, &secret_key)).await?
}

async fn node(script: String, secret_key: &str) -> anyhow::Result<String> {
    run_blocking("node", &["--input-type=module", "-"], script, secret_key).await
}

async fn sh(script: String, secret_key: &str) -> anyhow::Result<Value> {
    let out = run_blocking("sh", &["-e"], script, secret_key).await?;
    serde_json::from_str(&out).map_err(|e| anyhow::anyhow!("{e}: {out}"))
}

#[tokio::test]
async fn readme_quick_start_runs_as_written() -> anyhow::Result<()> {
    tokio::time::timeout(Duration::from_secs(120), quick_start())
        .await
        .map_err(|_| anyhow::anyhow!("took over 120 s"))?
}

async fn quick_start() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let secret = stack.server.secret_key().to_owned();
    // As `cargo xtask serve` sets it up: `local-oidc` only.
    let res = reqwest::Client::new()
        .delete(stack.server.endpoint(&["integrations", GITHUB])?)
        .bearer_auth(&secret)
        .send()
        .await?;
    anyhow::ensure!(res.status().is_success(), "{}", res.status());

    let readme = std::fs::read_to_string(latchkey_tests::workspace_root().join("README.md"))?;
    let host = stack.server.url().trim_end_matches('/').to_owned();
    let here = |snippet: &str| snippet.replace(README_HOST, &host);
    let js = blocks(&readme, "js");
    let shell = blocks(&readme, "sh");

    // Step 1, Node: the route's handler, called as Express would, answers a session token.
    let backend = here(find(&js, "createConnectSession")?);
    let setup: String = backend
        .lines()
        .take_while(|l| !l.starts_with("app."))
        .map(|l| format!("{l}\n"))
        .collect();
    let script = format!(
        "const app = {{ post: (path, handler) => {{ globalThis.route = handler; }} }};\n{backend}\n\
         const body = await new Promise((json, fail) => {{\n\
           Promise.resolve(globalThis.route({{}}, {{ json }})).catch(fail);\n\
         }});\n\
         console.log(JSON.stringify(body));\n"
    );
    let answer: Value = serde_json::from_str(&node(script, &secret).await?)?;
    let token = answer["sessionToken"]
        .as_str()
        .filter(|t| t.starts_with("nango_connect_session_"))
        .ok_or_else(|| anyhow::anyhow!("no session token: {answer}"))?
        .to_owned();

    // Step 1, curl.
    let created = sh(here(find(&shell, "/connect/sessions")?), &secret).await?;
    anyhow::ensure!(created["data"]["token"].is_string(), "{created}");

    // The end user connects (the Connect UI's part, done here over plain HTTP). On the way: the local
    // provider's login page loads no web fonts (the README says the demo works offline).
    let mut start = stack.server.endpoint(&["oauth", "connect", LOCAL_OIDC])?;
    start
        .query_pairs_mut()
        .append_pair("connect_session_token", &token);
    let user = HeadlessUser::new()?;
    let login = user
        .authorize_until(start.as_str(), "ada", |u| {
            u.path().starts_with("/interaction/")
        })
        .await?;
    let page = user.get(login.url.as_str()).await?;
    anyhow::ensure!(page.body.contains(r#"name="login""#), "{}", page.body);
    anyhow::ensure!(
        !page.body.contains("fonts.googleapis.com"),
        "the local provider's login page requests web fonts"
    );
    let end = user.authorize(start.as_str(), "ada").await?;
    anyhow::ensure!(end.status.is_success(), "{}: {}", end.status, end.body);
    let connections = stack.server.list_connections().await?;
    let connection_id = connections[0]["connection_id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no connection"))?;
    let step3 = |snippet: &str| {
        here(snippet)
            .replace("<INTEGRATION-ID>", LOCAL_OIDC)
            .replace("<CONNECTION-ID>", connection_id)
    };

    // Step 3, Node (with step 1's client) and curl: fresh credentials.
    let script = format!(
        "{setup}{}\nconsole.log(JSON.stringify({{ accessToken }}));\n",
        step3(find(&js, "getConnection")?)
    );
    let fetched: Value = serde_json::from_str(&node(script, &secret).await?)?;
    anyhow::ensure!(
        fetched["accessToken"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "no access token from the Node snippet"
    );
    let fetched = sh(step3(find(&shell, "provider_config_key=")?), &secret).await?;
    anyhow::ensure!(
        fetched["credentials"]["access_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "no access token from the curl snippet"
    );
    Ok(())
}
