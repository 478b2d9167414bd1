//! The Java no-loss checker (tests/clients/java/AckChecker.java) as a child process: an idempotent
//! acks=all producer writing to every partition of a topic until its stop file appears, then reading
//! everything back and checking every acknowledged record is there once, in order.
//!
//! Its stdout and stderr go to files in its directory, never to pipes: nothing reads a pipe while the
//! checker runs, and once the client's log lines filled one, its logging — and with it the producer's
//! sender thread — would block, which looks exactly like a broker that stopped taking writes.

use super::{repo_root, temp_dir};
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command};

pub struct AckChecker {
    child: Child,
    dir: PathBuf,
    topic: String,
}

impl AckChecker {
    /// Starts writing to `partitions` partitions of `topic` through `bootstrap`; files in a fresh
    /// directory named after `name`.
    pub fn start(name: &str, bootstrap: &str, topic: &str, partitions: usize) -> AckChecker {
        let dir = temp_dir(name);
        let child = Command::new("bash")
            .arg(repo_root().join("tests/clients/java/ack-checker.sh"))
            .args(["--bootstrap", bootstrap, "--topic", topic])
            .args(["--partitions", &partitions.to_string()])
            .arg("--stop-file")
            .arg(dir.join("stop"))
            .stdout(File::create(dir.join("stdout")).unwrap())
            .stderr(File::create(dir.join("stderr")).unwrap())
            .spawn()
            .expect("start the Java ack checker");
        AckChecker {
            child,
            dir,
            topic: topic.to_string(),
        }
    }

    /// Stops the producer, waits for the read-back and asserts it found every acknowledged record;
    /// returns its summary (`OK checker TOPIC acked=… failed=… read=…`). Sends that failed are allowed
    /// (their records may be missing, never duplicated); the first one's reason is printed.
    pub fn finish(mut self, logs: &str) -> String {
        std::fs::write(self.dir.join("stop"), b"").unwrap();
        let status = self.child.wait().expect("wait for the ack checker");
        let stdout = std::fs::read_to_string(self.dir.join("stdout")).unwrap_or_default();
        let stderr = self.dir.join("stderr");
        assert!(
            status.success() && stdout.starts_with(&format!("OK checker {}", self.topic)),
            "ack checker failed ({status}):\n{stdout}\n(its log: {}; broker logs: {logs})",
            stderr.display()
        );
        let stderr = std::fs::read_to_string(&stderr).unwrap_or_default();
        if let Some(first) = stderr
            .lines()
            .find(|l| l.starts_with("checker: first failed send"))
        {
            println!("{first}");
        }
        stdout.trim().to_string()
    }
}
