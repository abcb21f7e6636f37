//! Build script of the server:
//!
//! 1. **Embeds the web build outputs** (`dist/connect-ui/`, `dist/dashboard/` and `pkg/` of the workspace) so that the
//!    `latchkey` binary alone serves the Connect UI and the SDK. Each file is copied into `OUT_DIR`
//!    together with a gzip and a brotli copy (made here, once, with `flate2` and `brotli`), and a Rust
//!    table of `include_bytes!` is generated for `src/http/embedded.rs`. A folder that does not exist
//!    (a fresh clone before `cargo xtask build`) embeds nothing: the crate still builds and tests, and
//!    the server says at start that it has nothing embedded. `LATCHKEY_EMBED_ASSETS=0` skips embedding
//!    (faster rebuilds while working on the server only).
//! 2. **Records the git revision** for `latchkey --version` (`LATCHKEY_GIT_REV`; `unknown` without git).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A compressed copy is kept only when it saves at least this share of the bytes.
const WORTH_IT: f64 = 0.9;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.join("..");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-env-changed=LATCHKEY_EMBED_ASSETS");
    let embed = std::env::var("LATCHKEY_EMBED_ASSETS").map_or(true, |v| v != "0");

    let mut code = String::new();
    for (name, dir) in [
        ("CONNECT_UI", root.join("dist/connect-ui")),
        ("SDK", root.join("pkg")),
        ("DASHBOARD", root.join("dist/dashboard")),
    ] {
        // Watching the folder (cargo looks at every file under it). A missing folder is not watched
        // (cargo would then re-run this script, and rebuild the crate, on every build); `pkg/` always
        // exists (its manifest is in git) and `cargo xtask build` rewrites it before building the
        // server, which re-runs this script once the Connect UI is there too.
        if dir.exists() {
            println!("cargo:rerun-if-changed={}", dir.display());
        }
        let files = if embed && dir.is_dir() {
            let mut files = Vec::new();
            walk(&dir, &dir, &mut files);
            files.sort();
            files
        } else {
            Vec::new()
        };
        writeln!(code, "pub static {name}: &[Asset] = &[").unwrap();
        for (i, rel) in files.iter().enumerate() {
            let body = std::fs::read(dir.join(rel)).unwrap();
            let stem = format!("{}-{i}", name.to_lowercase());
            let identity = out.join(&stem);
            std::fs::write(&identity, &body).unwrap();
            let gzip = compressed(&out, &format!("{stem}.gz"), &body, gzip);
            let br = compressed(&out, &format!("{stem}.br"), &body, brotli);
            let etag = {
                use std::hash::{Hash, Hasher};
                let mut h = std::hash::DefaultHasher::new();
                body.hash(&mut h);
                format!("\"{:016x}\"", h.finish())
            };
            writeln!(
                code,
                "    Asset {{ path: {rel:?}, identity: include_bytes!({identity:?}), gzip: {gzip}, br: {br}, etag: {etag:?} }},",
                identity = identity.display().to_string(),
            )
            .unwrap();
        }
        writeln!(code, "];").unwrap();
    }
    std::fs::write(out.join("embedded_assets.rs"), code).unwrap();

    git_revision(&root);
}

/// Every file under `dir` as a `/`-separated relative path, skipping dot files, `node_modules`, npm
/// tarballs (what `npm pack` or `npm install` may leave in `pkg/`) and the `.br`/`.gz` copies
/// `cargo xtask build` writes for serving from disk (compressed again here, into `OUT_DIR`).
fn walk(base: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.')
            || name == "node_modules"
            || [".tgz", ".br", ".gz"].iter().any(|ext| name.ends_with(ext))
        {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            walk(base, &path, files);
        } else {
            let rel = path.strip_prefix(base).unwrap();
            let rel: Vec<_> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            files.push(rel.join("/"));
        }
    }
}

/// Writes `compress(body)` to `out/file` and returns `Some(include_bytes!(…))` as code, or `None`
/// when compressing does not pay (images, tiny files).
fn compressed(out: &Path, file: &str, body: &[u8], compress: fn(&[u8]) -> Vec<u8>) -> String {
    let packed = compress(body);
    if body.is_empty() || packed.len() as f64 > body.len() as f64 * WORTH_IT {
        return "None".into();
    }
    let path = out.join(file);
    std::fs::write(&path, packed).unwrap();
    format!("Some(include_bytes!({:?}))", path.display().to_string())
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(body).unwrap();
    enc.finish().unwrap()
}

fn brotli(body: &[u8]) -> Vec<u8> {
    let mut packed = Vec::new();
    {
        // Quality 11 (the best), window 2^22: compressed once at build time, served many times.
        let mut enc = brotli::CompressorWriter::new(&mut packed, 4096, 11, 22);
        enc.write_all(body).unwrap();
    }
    packed
}

/// `LATCHKEY_GIT_REV`: the short commit hash; `unknown` when git or the repository is absent (a
/// source tarball).
fn git_revision(root: &Path) {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let rev = git(&["rev-parse", "--short=12", "HEAD"]);
    let rev = rev.unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=LATCHKEY_GIT_REV={rev}");
    // Re-run when HEAD moves: HEAD itself (branch switches) and the branch's ref (commits).
    for path in [
        git(&["rev-parse", "--git-path", "HEAD"]),
        git(&["symbolic-ref", "-q", "HEAD"]).and_then(|r| git(&["rev-parse", "--git-path", &r])),
    ]
    .into_iter()
    .flatten()
    {
        let path = root.join(path);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
