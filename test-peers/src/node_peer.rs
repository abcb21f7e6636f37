//! A small Node program from npm packages acting as a real peer (an MCP authorization server, an
//! OAuth 1.0a provider), started in its own process group and killed on drop.
//!
//! The script prints one line `READY <word> <word> …` once listening; [`NodePeer::start`] returns
//! those words (normally URLs). Its stderr goes to a temporary file shown when it fails to start.

use crate::process::ProcessGroup;
use anyhow::Context as _;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

pub struct NodePeer {
    /// The words after `READY`.
    pub ready: Vec<String>,
    _group: ProcessGroup,
    _log_dir: tempfile::TempDir,
}

impl NodePeer {
    /// Runs `node <script> <args…>` from the workspace root (`node` overridable with
    /// `LATCHKEY_TEST_NODE`) and waits ≤ 20 s for its `READY` line.
    pub async fn start(name: &'static str, script: &str, args: &[&str]) -> anyhow::Result<Self> {
        let root = crate::workspace_root();
        let log_dir = tempfile::Builder::new()
            .prefix("latchkey-node-peer-")
            .tempdir()?;
        let log_path = log_dir.path().join("stderr.log");
        let node = std::env::var_os("LATCHKEY_TEST_NODE").unwrap_or_else(|| "node".into());
        let mut cmd = Command::new(node);
        cmd.current_dir(&root)
            .arg(root.join(script))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(&log_path)?));
        let mut group = ProcessGroup::spawn(name, cmd)?;
        let stdout = group.child_mut().stdout.take().context("peer stdout")?;
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        // Keep draining stdout after READY so the peer never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("READY ") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(rest.trim().to_owned());
                    }
                }
            }
        });
        let ready = match tokio::time::timeout(Duration::from_secs(20), rx).await {
            Ok(Ok(line)) => line,
            _ => {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                anyhow::bail!("{name} did not become ready within 20 s; its stderr:\n{log}");
            }
        };
        Ok(Self {
            ready: ready.split_whitespace().map(String::from).collect(),
            _group: group,
            _log_dir: log_dir,
        })
    }
}
