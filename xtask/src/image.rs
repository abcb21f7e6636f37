//! `cargo xtask image`: the static Linux build and the container image.
//!
//! 1. `latchkey` for `x86_64-unknown-linux-musl` (release, Connect UI and SDK embedded; the target and
//!    Debian `musl-tools` for the C parts — SQLite, ring — are installed when missing), checked to be
//!    a static executable (no ELF interpreter).
//! 2. Smoke test: the server's operations tests (`server/tests/operations.rs`: from an empty
//!    directory, API, `/connect/`, `/sdk/` with brotli/gzip, `/health`, `/ready`, `/metrics`, doctor,
//!    health command) run against that static binary.
//! 3. The image from `deploy/Containerfile` when a builder (`podman`) is present, else skipped with a
//!    message. Only built, never run (these machines refuse to run containers).
//!
//! A cold musl release build of the server takes about ten minutes on 2 cores, so `cargo xtask test`
//! does this only where a container builder is installed (the image is what the static build is
//! for), or when asked with `--only image`.

use crate::util::{self, output, step};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const MUSL: &str = "x86_64-unknown-linux-musl";
const TAG: &str = "localhost/latchkey:dev";

/// Whether a container builder is installed.
pub fn builder_present() -> bool {
    output(Command::new("podman").arg("--version")).is_some()
}

pub fn run(tally: &mut util::TestTally) -> anyhow::Result<()> {
    let bin = static_binary()?;
    step("smoke test of the static binary (server/tests/operations.rs against it)");
    tally.run(
        util::cargo()
            .args(["test", "-p", "latchkey-server", "--test", "operations"])
            .env("LATCHKEY_TEST_BIN", &bin)
            .current_dir(util::root()),
    )?;
    container(&bin)
}

fn static_binary() -> anyhow::Result<PathBuf> {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !installed.lines().any(|l| l.trim() == MUSL) {
        step(&format!("installing the {MUSL} target"));
        util::run(Command::new("rustup").args(["target", "add", MUSL]))?;
    }
    if output(Command::new("musl-gcc").arg("--version")).is_none()
        && !Path::new("/usr/bin/musl-gcc").exists()
    {
        crate::setup::apt_install("a C compiler for musl (SQLite, ring)", &["musl-tools"])?;
    }
    step("building the static server (release, musl)");
    util::run(
        util::cargo()
            .args([
                "build",
                "--release",
                "--target",
                MUSL,
                "-p",
                "latchkey-server",
            ])
            .args(["--bin", "latchkey"])
            .env("CC_x86_64_unknown_linux_musl", "musl-gcc")
            .current_dir(util::root()),
    )?;
    let bin = util::target_dir().join(MUSL).join("release/latchkey");
    anyhow::ensure!(
        !has_interpreter(&std::fs::read(&bin)?),
        "{} is dynamically linked",
        bin.display()
    );
    let size = std::fs::metadata(&bin)?.len();
    eprintln!(
        "    static binary: {} ({:.1} MB)",
        bin.display(),
        size as f64 / 1e6
    );
    Ok(bin)
}

/// Whether an ELF64 file asks for a dynamic loader (a `PT_INTERP` program header).
fn has_interpreter(elf: &[u8]) -> bool {
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    assert!(
        elf.starts_with(b"\x7fELF\x02\x01"),
        "not a little-endian ELF64 file"
    );
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    (0..phnum).any(|i| {
        let at = phoff + i * phentsize;
        u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) == 3
    })
}

fn container(bin: &Path) -> anyhow::Result<()> {
    if !builder_present() {
        step("SKIPPED the container image: no builder on this machine (install Debian `podman`)");
        return Ok(());
    }
    step("building the container image (deploy/Containerfile)");
    let context = util::target_dir().join("image-context");
    let _ = std::fs::remove_dir_all(&context);
    std::fs::create_dir_all(context.join("data"))?;
    std::fs::copy(bin, context.join("latchkey"))?;
    util::run(
        Command::new("podman")
            .args(["build", "--format", "docker", "-t", TAG, "-f"])
            .arg(util::root().join("deploy/Containerfile"))
            .arg(&context),
    )?;
    let inspect = output(Command::new("podman").args([
        "image",
        "inspect",
        TAG,
        "--format",
        "{{.Config.User}} {{.Config.Healthcheck.Test}} {{.Config.ExposedPorts}} {{.Config.Volumes}} {{.Size}}",
    ]))
    .unwrap_or_default();
    eprintln!("    {TAG}: {inspect}");
    anyhow::ensure!(
        inspect.starts_with("65532:65532 "),
        "the image runs as root: {inspect}"
    );
    anyhow::ensure!(
        inspect.contains("/latchkey health"),
        "no health check: {inspect}"
    );
    anyhow::ensure!(
        inspect.contains("3003/tcp") && inspect.contains("/data"),
        "{inspect}"
    );
    Ok(())
}
