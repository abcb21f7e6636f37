//! Turns the wasm-bindgen output into what the server ships:
//!
//! - **One minified module for the Connect UI.** rolldown (Vite's bundler, pinned in package.json)
//!   bundles `boot.js`, the wasm-bindgen glue and the SDK snippets it imports into one minified ES
//!   module: nothing for the first render is discovered one import at a time. `index.html` holds the
//!   stylesheet inline (minified by lightningcss) and names the rest of the first render: the module
//!   and a `preload` of the wasm.
//! - **One module for the SDK package.** `pkg/index.js` is `sdk-wasm/js/index.js` (the package's
//!   hand-written entry) bundled with the wasm-bindgen glue and its snippets: a page that imports the
//!   SDK fetches that module and then the wasm, instead of discovering the glue and the snippets one
//!   import (one round trip) at a time.
//! - **Content-hashed Connect UI assets.** That module and the wasm go to
//!   `dist/connect-ui/assets/` under a name that carries a hash of their bytes, so the server lets
//!   browsers keep them a year (`immutable`) while `index.html` (which names them) is revalidated on
//!   every load. The wasm is named first and the module that points at it after, so any change
//!   changes every name that leads to it.
//! - **Precompressed copies.** Beside every compressible file, `<file>.br` (brotli, quality 11) and
//!   `<file>.gz` (gzip -9): made once here, picked per request by the server (`Accept-Encoding`) from
//!   disk (a `LATCHKEY_*_DIR` override) and from the copies compiled into the binary.

use crate::util;
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Folder (under `dist/connect-ui/`) of the content-hashed, immutable files.
pub const ASSETS: &str = "assets";

/// A compressed copy is kept only when it saves at least this share of the bytes (the server's build
/// script applies the same rule to what it embeds).
const WORTH_IT: f64 = 0.9;

/// The SDK package in `pkg` from the wasm-bindgen output in `stage` (`latchkey_sdk.js`, its
/// `snippets/`, `latchkey_sdk_bg.wasm`) and the package's entry module `entry`: `index.js` (the entry
/// bundled with the glue and the snippets, minified) and the wasm. What the package no longer ships
/// (the glue and the snippets as files of their own, from an older build) is removed.
pub fn sdk_package(stage: &Path, entry: &Path, pkg: &Path) -> anyhow::Result<()> {
    let bg = "latchkey_sdk_bg.wasm";
    std::fs::copy(stage.join(bg), pkg.join(bg))?;
    // The entry imports `./latchkey_sdk.js`: it is bundled from beside the glue.
    let staged_entry = stage.join("index.js");
    std::fs::copy(entry, &staged_entry)?;
    bundle(&staged_entry, &pkg.join("index.js"))?;
    for stale in [
        "latchkey_sdk.js",
        "latchkey_sdk.d.ts",
        "latchkey_sdk_bg.wasm.d.ts",
    ] {
        let path = pkg.join(stale);
        if path.exists() {
            std::fs::remove_file(path)?;
        }
    }
    if pkg.join("snippets").exists() {
        std::fs::remove_dir_all(pkg.join("snippets"))?;
    }
    Ok(())
}

/// Builds `dist` from the wasm-bindgen output in `stage` (`<name>.js`, `<name>_bg.wasm`) and the
/// hand-written files in `static_dir` (the Connect UI's, and the dashboard's the same way).
pub fn web_app(name: &str, stage: &Path, static_dir: &Path, dist: &Path) -> anyhow::Result<()> {
    let bg = format!("{name}_bg.wasm");
    if dist.exists() {
        std::fs::remove_dir_all(dist)?;
    }
    std::fs::create_dir_all(dist.join(ASSETS))?;
    let out = Hashed { dist };

    let wasm = out.put(&bg, std::fs::read(stage.join(&bg))?)?;
    // boot.js goes beside the glue, pointing at the published wasm; rolldown makes one minified module
    // of it, the glue and the glue's snippets (one request instead of three, none discovered late).
    let boot = read_text(&static_dir.join("boot.js"))?;
    let boot = replace_all(&boot, &format!("./{bg}"), &format!("./{wasm}"))?;
    std::fs::write(stage.join("boot.js"), boot)?;
    let bundled = stage.join("bundle.js");
    bundle(&stage.join("boot.js"), &bundled)?;
    let js = out.put(&format!("{name}.js"), std::fs::read(&bundled)?)?;

    let mut index = read_text(&static_dir.join("index.html"))?;
    for (from, to) in [(format!("./{bg}"), &wasm), ("./boot.js".to_string(), &js)] {
        index = replace_all(&index, &from, &format!("./{ASSETS}/{to}"))?;
    }
    // The stylesheet is inlined (the CSP allows inline styles, not scripts): one request less, and
    // nothing to fetch before the first paint but the module and the wasm.
    let css = stage.join("style.min.css");
    util::run(
        Command::new("node")
            .arg(util::root().join("xtask/js/bundle.mjs"))
            .arg("css")
            .arg(static_dir.join("style.css"))
            .arg(&css),
    )?;
    let css = read_text(&css)?;
    index = replace_all(
        &index,
        "<link rel=\"stylesheet\" href=\"./style.css\">",
        &format!("<style>{css}</style>"),
    )?;
    std::fs::write(dist.join("index.html"), index)?;

    // The rest (translations fetched on demand) keeps its name: it is revalidated like index.html.
    for entry in std::fs::read_dir(static_dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !["index.html", "boot.js", "style.css"].contains(&name.as_str()) {
            std::fs::copy(entry.path(), dist.join(&name))?;
        }
    }
    Ok(())
}

/// `entry` and every module it imports as one minified ES module at `out` (rolldown, npm).
fn bundle(entry: &Path, out: &Path) -> anyhow::Result<()> {
    util::run(
        Command::new("node")
            .arg(util::root().join("xtask/js/bundle.mjs"))
            .arg("bundle")
            .arg(entry)
            .arg(out),
    )
}

/// Writes `<file>.br` and `<file>.gz` beside every file under `dir` that compresses well, and removes
/// stale copies whose original is gone.
pub fn precompress(dir: &Path) -> anyhow::Result<()> {
    for rel in files_under(dir, "")? {
        let path = dir.join(&rel);
        if rel.ends_with(".br") || rel.ends_with(".gz") {
            if !path.with_extension("").exists() {
                std::fs::remove_file(&path)?;
            }
            continue;
        }
        let body = std::fs::read(&path)?;
        for (ext, packed) in [("br", brotli(&body)?), ("gz", gzip(&body)?)] {
            let copy = PathBuf::from(format!("{}.{ext}", path.display()));
            if !body.is_empty() && (packed.len() as f64) <= body.len() as f64 * WORTH_IT {
                std::fs::write(&copy, packed)?;
            } else if copy.exists() {
                std::fs::remove_file(&copy)?;
            }
        }
    }
    Ok(())
}

pub fn gzip(body: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(body)?;
    Ok(enc.finish()?)
}

pub fn brotli(body: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut packed = Vec::new();
    {
        // Quality 11 (the best), window 2^22: compressed once at build time, served many times.
        let mut enc = brotli::CompressorWriter::new(&mut packed, 4096, 11, 22);
        enc.write_all(body)?;
    }
    Ok(packed)
}

/// Writes content-hashed files into `dist/assets/`.
struct Hashed<'a> {
    dist: &'a Path,
}

impl Hashed<'_> {
    /// Stores `body` as `assets/<rel with -<hash> before the extension>`; returns the path relative to
    /// `assets/`.
    fn put(&self, rel: &str, body: Vec<u8>) -> anyhow::Result<String> {
        let digest = Sha256::digest(&body);
        let hash: String = digest[..5].iter().map(|b| format!("{b:02x}")).collect();
        let (stem, ext) = rel.rsplit_once('.').unwrap_or((rel, ""));
        let name = format!("{stem}-{hash}.{ext}");
        let path = self.dist.join(ASSETS).join(&name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, body)?;
        Ok(name)
    }
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// `text` with every `from` replaced; an error when there is none (the file we rewrite changed shape
/// and would otherwise point at a name that no longer exists).
fn replace_all(text: &str, from: &str, to: &str) -> anyhow::Result<String> {
    anyhow::ensure!(text.contains(from), "expected `{from}` in a web build file");
    Ok(text.replace(from, to))
}

/// Every file under `base/sub` as a `/`-separated path relative to `base`, sorted.
pub fn files_under(base: &Path, sub: &str) -> anyhow::Result<Vec<String>> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) -> anyhow::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(base, &path, out)?;
            } else {
                let rel = path.strip_prefix(base)?;
                let parts: Vec<_> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    let dir = base.join(sub);
    if dir.is_dir() {
        walk(base, &dir, &mut out)?;
    }
    out.sort();
    Ok(out)
}
