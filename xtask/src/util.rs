//! Small helpers: where things are, and running commands loudly.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root. `cargo run` (the `cargo xtask` alias) sets `CARGO_MANIFEST_DIR` for the run:
/// preferred over the compile-time value, because two clones sharing one `CARGO_TARGET_DIR` (CI's
/// checkout and a developer's) share this binary, and the one built in the other clone names its path.
pub fn root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("..")
        .canonicalize()
        .expect("workspace root")
}

/// The cargo target directory (honours `CARGO_TARGET_DIR`, which CI points outside the clone).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

pub fn step(what: &str) {
    eprintln!("\n==> {what}");
}

pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("    $ {}", describe(cmd));
    let status = cmd
        .status()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", describe(cmd)))?;
    anyhow::ensure!(
        status.success(),
        "command failed ({status}): {}",
        describe(cmd)
    );
    Ok(())
}

pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Totals of the `test result:` lines of cargo test runs, for one closing summary line.
#[derive(Default)]
pub struct TestTally {
    pub passed: u64,
    pub failed: u64,
}

impl TestTally {
    fn add_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        let count = |word: &str| {
            rest.split(';')
                .map(str::trim)
                .find_map(|part| {
                    part.strip_suffix(word)
                        .map(|n| n.trim().rsplit(' ').next().unwrap_or(""))
                })
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        self.passed += count("passed");
        self.failed += count("failed");
    }

    /// Runs a test command, streaming its output and counting its results.
    pub fn run(&mut self, cmd: &mut Command) -> anyhow::Result<()> {
        self.run_inner(cmd, false)
    }

    /// Like [`TestTally::run`], in a process group of its own that is killed afterwards:
    /// wasm-bindgen-test-runner can leave Chromium (and the popups the SDK tests open) running after
    /// it exits; nothing of a test run may outlive it.
    pub fn run_reaped(&mut self, cmd: &mut Command) -> anyhow::Result<()> {
        self.run_inner(cmd, true)
    }

    fn run_inner(&mut self, cmd: &mut Command, reap: bool) -> anyhow::Result<()> {
        use std::io::{BufRead, BufReader};
        use std::os::unix::process::CommandExt;
        eprintln!("    $ {}", describe(cmd));
        if reap {
            cmd.process_group(0);
        }
        let mut child = cmd.stdout(std::process::Stdio::piped()).spawn()?;
        let group = child.id();
        let stdout = child.stdout.take().expect("piped");
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            println!("{line}");
            self.add_line(&line);
        }
        let status = child.wait()?;
        if reap {
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{group}")])
                .stderr(std::process::Stdio::null())
                .status();
        }
        anyhow::ensure!(
            status.success(),
            "tests failed ({status}): {}",
            describe(cmd)
        );
        Ok(())
    }
}

/// A throwaway PostgreSQL cluster run by the test harness's `test-postgres` helper
/// (tests/src/bin/test-postgres.rs); stopped and deleted when this is dropped (its stdin closes).
pub struct TestPostgres {
    child: std::process::Child,
    /// `postgres://…` server URL without a database.
    pub url: String,
}

impl TestPostgres {
    pub fn start(root: &Path) -> anyhow::Result<Self> {
        use std::io::BufRead;
        let mut child = cargo()
            .args([
                "run",
                "-q",
                "-p",
                "latchkey-tests",
                "--bin",
                "test-postgres",
            ])
            .current_dir(root)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        match line.trim().strip_prefix("LATCHKEY_TEST_POSTGRES=") {
            Some(url) => Ok(Self {
                url: url.to_string(),
                child,
            }),
            None => {
                let _ = child.kill();
                anyhow::bail!("the PostgreSQL test cluster did not start")
            }
        }
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::TestTally;

    #[test]
    fn tally_reads_cargo_and_wasm_bindgen_result_lines() {
        let mut t = TestTally::default();
        t.add_line("test result: ok. 29 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.12s");
        t.add_line(
            "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 filtered out; finished in 2.53s",
        );
        t.add_line("running 3 tests");
        assert_eq!((t.passed, t.failed), (32, 2));
    }
}
