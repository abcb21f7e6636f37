//! Size budgets (`budgets.toml` at the workspace root): what the SDK, the Connect UI and the dashboard make a browser
//! download, gzip -9, measured on the build output. `cargo xtask build` fails over budget; the bench
//! prints the same figures with their budgets and peers.

use crate::publish::{self, ASSETS};
use crate::util;
use std::path::{Path, PathBuf};

/// One measured set of files.
pub struct Figure {
    pub what: &'static str,
    /// `(path relative to the workspace, raw bytes, gzip bytes)`.
    pub files: Vec<(String, usize, usize)>,
    pub budget: usize,
}

impl Figure {
    pub fn gzip(&self) -> usize {
        self.files.iter().map(|f| f.2).sum()
    }

    pub fn over_budget(&self) -> bool {
        self.gzip() > self.budget
    }
}

/// The SDK's, the Connect UI's and the dashboard's figures against `budgets.toml`.
pub fn measure() -> anyhow::Result<[Figure; 3]> {
    let root = util::root();
    let budgets: toml::Value =
        toml::from_str(&std::fs::read_to_string(root.join("budgets.toml"))?)?;
    let budget = |key: &str| -> anyhow::Result<usize> {
        budgets
            .get(key)
            .and_then(|t| t.get("gzip_bytes"))
            .and_then(|v| v.as_integer())
            .map(|v| v as usize)
            .ok_or_else(|| anyhow::anyhow!("budgets.toml: [{key}] gzip_bytes is missing"))
    };
    Ok([
        Figure {
            what: "SDK (what a page loads to call openConnectUI() / auth())",
            files: sized(&root, sdk_files(&root.join("pkg")))?,
            budget: budget("sdk")?,
        },
        Figure {
            what: "Connect UI (cold load up to the first render)",
            files: sized(&root, connect_ui_files(&root.join("dist/connect-ui"))?)?,
            budget: budget("connect_ui")?,
        },
        Figure {
            what: "Dashboard (cold load up to the sign-in screen)",
            // Same shape as the Connect UI's output: index.html and its hashed assets.
            files: sized(&root, connect_ui_files(&root.join("dist/dashboard"))?)?,
            budget: budget("dashboard")?,
        },
    ])
}

/// Fails when a figure is over its budget, listing its files.
pub fn check() -> anyhow::Result<()> {
    util::step("checking size budgets (budgets.toml)");
    let mut over = Vec::new();
    for figure in measure()? {
        eprintln!(
            "    {}: {} B gzip, budget {} B",
            figure.what,
            figure.gzip(),
            figure.budget
        );
        if figure.over_budget() {
            let files: Vec<String> = figure
                .files
                .iter()
                .map(|(f, _, gz)| format!("  {f}: {gz} B gzip"))
                .collect();
            over.push(format!(
                "{} is {} B gzip, over its budget of {} B:\n{}",
                figure.what,
                figure.gzip(),
                figure.budget,
                files.join("\n")
            ));
        }
    }
    anyhow::ensure!(over.is_empty(), "over budget\n{}", over.join("\n"));
    Ok(())
}

/// `pkg/`: the entry module (the glue and its snippets bundled in) and the wasm.
fn sdk_files(pkg: &Path) -> Vec<PathBuf> {
    ["index.js", "latchkey_sdk_bg.wasm"]
        .iter()
        .map(|f| pkg.join(f))
        .collect()
}

/// `dist/connect-ui/`: `index.html` and every content-hashed asset (only first-render files are
/// hashed; translations load on demand).
fn connect_ui_files(dist: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = vec![dist.join("index.html")];
    files.extend(
        publish::files_under(dist, ASSETS)?
            .into_iter()
            .filter(|f| !f.ends_with(".br") && !f.ends_with(".gz"))
            .map(|f| dist.join(f)),
    );
    Ok(files)
}

fn sized(root: &Path, files: Vec<PathBuf>) -> anyhow::Result<Vec<(String, usize, usize)>> {
    files
        .into_iter()
        .map(|path| {
            let body =
                std::fs::read(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            Ok((rel, body.len(), publish::gzip(&body)?.len()))
        })
        .collect()
}
