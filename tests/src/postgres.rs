//! A throwaway PostgreSQL cluster for tests: Debian's `postgresql` binaries, a temporary data
//! directory, loopback TCP on a free port, trust authentication, fsync off. Stopped (immediately) and
//! deleted on drop.
//!
//! PostgreSQL refuses to run as root, so when the tests run as root (CI) the cluster runs as the
//! `postgres` system user the Debian package creates.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The role the cluster is initialised with (superuser, so it may `CREATE DATABASE`).
const ROLE: &str = "latchkey";

pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl Postgres {
    /// `initdb` + `pg_ctl start`, waiting until the server accepts connections.
    pub fn start() -> anyhow::Result<Self> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("latchkey-pg-").tempdir()?;
        if is_root() {
            // The data directory must belong to the user the server runs as.
            run(Command::new("chown")
                .arg("-R")
                .arg("postgres:")
                .arg(dir.path()))?;
        }
        let port = free_port()?;
        let data = dir.path().join("data");
        let pg = Self { dir, bin, port };
        pg.run_as_owner(
            "initdb",
            &[
                "-D",
                path_str(&data)?,
                "-U",
                ROLE,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        )?;
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            path_str(pg.dir.path())?
        );
        let log = pg.dir.path().join("postgres.log");
        pg.run_as_owner(
            "pg_ctl",
            &[
                "-D",
                path_str(&data)?,
                "-o",
                &options,
                "-l",
                path_str(&log)?,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        .with_context(|| {
            format!(
                "PostgreSQL did not start; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        })?;
        Ok(pg)
    }

    /// The server's URL without a database (append `/<name>`).
    pub fn base_url(&self) -> String {
        format!("postgres://{ROLE}@127.0.0.1:{}", self.port)
    }

    /// URL of database `name` (the Latchkey server creates it on first connect if missing).
    pub fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base_url())
    }

    fn run_as_owner(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let exe = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args).current_dir(self.dir.path());
        run(&mut cmd)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Ok(data) = path_str(&self.dir.path().join("data")).map(str::to_owned) {
            let _ = self.run_as_owner("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        }
    }
}

/// Debian installs the server binaries under `/usr/lib/postgresql/<major>/bin`; take the newest.
fn bin_dir() -> anyhow::Result<PathBuf> {
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context(
            "PostgreSQL is not installed (run `cargo xtask setup`, or apt-get install postgresql)",
        )?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    majors.sort();
    majors
        .pop()
        .map(|(_, bin)| bin)
        .context("no /usr/lib/postgresql/<major>/bin/initdb found")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn path_str(p: &Path) -> anyhow::Result<&str> {
    p.to_str().context("non-UTF-8 temporary path")
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    anyhow::ensure!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
