//! A child process in its own process group, killed with its whole group on drop.
//!
//! Chromium and Node spawn helpers; killing only the direct child leaves them holding pipes, which is how
//! a panicking test once kept `cargo test` from ever finishing. Here the child gets a fresh process group
//! (`process_group(0)`) and `Drop` sends SIGKILL to the group, then reaps the child.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

/// Owns a spawned process group.
#[derive(Debug)]
pub struct ProcessGroup {
    name: &'static str,
    child: Child,
}

impl ProcessGroup {
    /// Spawns `cmd` as the leader of a new process group. Configure stdio on `cmd` before calling.
    pub fn spawn(name: &'static str, mut cmd: Command) -> anyhow::Result<Self> {
        cmd.process_group(0);
        let child = cmd
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start {name} ({:?}): {e}", cmd.get_program()))?;
        Ok(Self { name, child })
    }

    /// The child's pid, which is also its process group id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Direct access to the child (e.g. to take its stdout).
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// `Some(status)` once the leader has exited.
    pub fn try_exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Name given at spawn time, for messages.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        let Ok(pgid) = libc::pid_t::try_from(self.child.id()) else {
            return;
        };
        // SAFETY: killpg only sends a signal; the group id is our own child's, created by process_group(0).
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
