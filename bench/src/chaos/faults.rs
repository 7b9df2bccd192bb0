//! The faults, each done to a process this stack started (its pid from the file the
//! start scripts keep current) or to the read model file.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::Connection;

use crate::Result;

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// SIGKILL, as a crash or the OOM killer would; the scripts restart it.
    Kill(Process),
    /// SIGSTOP, then SIGCONT after the pause: a process that hangs.
    Freeze(Process, Duration),
    /// An exclusive write lock on the read model for this long.
    LockReadModel(Duration),
}

#[derive(Debug, Clone, Copy)]
pub enum Process {
    Server,
    Daprd,
    Placement,
    Scheduler,
}

impl Process {
    fn name(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Daprd => "daprd",
            Self::Placement => "placement",
            Self::Scheduler => "scheduler",
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kill(p) => write!(f, "{} killed (SIGKILL)", p.name()),
            Self::Freeze(p, d) => write!(f, "{} frozen (SIGSTOP) for {} s", p.name(), d.as_secs()),
            Self::LockReadModel(d) => write!(f, "read model locked for {} s", d.as_secs()),
        }
    }
}

/// Where the faults are aimed.
pub struct Target {
    pub pids: PathBuf,
    pub db_url: String,
}

impl Target {
    fn pid(&self, process: Process) -> Result<String> {
        let file = self.pids.join(process.name());
        let pid = std::fs::read_to_string(&file)
            .map_err(|e| format!("{}: {e}", file.display()))?
            .trim()
            .to_owned();
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{} holds no pid", file.display()).into());
        }
        Ok(pid)
    }

    async fn signal(&self, process: Process, signal: &str) -> Result<()> {
        let pid = self.pid(process)?;
        let status = tokio::process::Command::new("kill")
            .args([format!("-{signal}"), pid.clone()])
            .status()
            .await?;
        if !status.success() {
            return Err(format!("kill -{signal} {pid} ({})", process.name()).into());
        }
        Ok(())
    }

    /// The process's resident memory in KiB, from `/proc` (for the soak run).
    pub fn rss_kib(&self, process: Process) -> Option<u64> {
        let pid = self.pid(process).ok()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Does `fault`, and undoes it where that is ours to do (SIGCONT, the lock).
    pub async fn apply(&self, fault: Fault) -> Result<()> {
        match fault {
            Fault::Kill(process) => self.signal(process, "KILL").await,
            Fault::Freeze(process, pause) => {
                self.signal(process, "STOP").await?;
                tokio::time::sleep(pause).await;
                self.signal(process, "CONT").await
            }
            Fault::LockReadModel(pause) => {
                let mut lock = sqlx::SqliteConnection::connect(&self.db_url).await?;
                sqlx::query("BEGIN EXCLUSIVE").execute(&mut lock).await?;
                tokio::time::sleep(pause).await;
                sqlx::query("ROLLBACK").execute(&mut lock).await?;
                Ok(())
            }
        }
    }
}
