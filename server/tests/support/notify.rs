//! What the notification tests receive on: a real SMTP server (`scripts/smtp-sink.sh`,
//! aiosmtpd from PyPI) and a webhook endpoint, both on free loopback ports.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;

/// An SMTP server that keeps every message it accepts.
pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

/// One message as the sink received it: for whom, and the whole text.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub text: String,
}

impl Mail {
    /// The text with its quoted-printable encoding undone (daprd's SMTP binding
    /// encodes bodies so, breaking long lines, a link's among them).
    pub fn decoded(&self) -> String {
        let bytes =
            quoted_printable::decode(self.text.as_bytes(), quoted_printable::ParseMode::Robust)
                .unwrap_or_else(|_| self.text.clone().into_bytes());
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The path (`/act/al_…`) of the e-mail's `label` link ("Approve" or "Reject").
    pub fn action_path(&self, label: &str) -> Option<String> {
        let text = self.decoded();
        let after = &text[text.find(&format!("{label}: http"))? + label.len() + 2..];
        let url = &after[..after.find(['<', '"', '\r', '\n'])?];
        Some(url[url.find("/act/")?..].to_owned())
    }
}

impl SmtpSink {
    /// Refuses each of `refuse_once` with a temporary error the first time it is offered.
    pub fn start(refuse_once: &[&str]) -> SmtpSink {
        let dir = tempfile::tempdir().expect("temp dir");
        let [port] = super::free_ports::<1>();
        let log = std::fs::File::create(dir.path().join("sink.log")).expect("log file");
        let child = Command::new("bash")
            .arg(super::repo_root().join("scripts/smtp-sink.sh"))
            .arg(port.to_string())
            .arg(dir.path().join("mail"))
            .arg(refuse_once.join(","))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start scripts/smtp-sink.sh");
        let sink = SmtpSink { port, dir, child };
        // The first run installs aiosmtpd into its virtual environment.
        let deadline = Instant::now() + Duration::from_secs(180);
        while !sink.mail_dir().join("ready").exists() {
            assert!(
                Instant::now() < deadline,
                "the SMTP sink did not start:\n{}",
                std::fs::read_to_string(sink.dir.path().join("sink.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        sink
    }

    fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    pub fn messages(&self) -> Vec<Mail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.mail_dir())
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort();
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .map(|text| Mail {
                to: text
                    .lines()
                    .next()
                    .and_then(|l| l.strip_prefix("X-Rcpt-To: "))
                    .unwrap_or_default()
                    .to_owned(),
                text,
            })
            .collect()
    }

    /// The messages to `address`.
    pub fn to(&self, address: &str) -> Vec<Mail> {
        self.messages()
            .into_iter()
            .filter(|m| m.to == address)
            .collect()
    }

    /// Waits (up to [`super::WAIT`]) for a message to `address` whose decoded text
    /// contains `text`; returns the first.
    pub async fn wait_for_one(&self, address: &str, text: &str) -> Mail {
        let deadline = Instant::now() + super::WAIT;
        loop {
            if let Some(mail) = self
                .to(address)
                .into_iter()
                .find(|m| m.decoded().contains(text))
            {
                return mail;
            }
            assert!(
                Instant::now() < deadline,
                "no mail to {address} with {text:?}; all: {:?}",
                self.messages().iter().map(|m| &m.to).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `address` has received `count` messages; returns them.
    pub async fn wait_for(&self, address: &str, count: usize, within: Duration) -> Vec<Mail> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.to(address);
            if got.len() >= count {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{address} got {} of {count} messages in {within:?}; all: {:?}",
                got.len(),
                self.messages().iter().map(|m| &m.to).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP endpoint that keeps every request posted to it.
pub struct WebhookReceiver {
    pub url: String,
    received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

impl WebhookReceiver {
    pub async fn start() -> WebhookReceiver {
        let received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
        let keep = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let keep = keep.clone();
                async move {
                    if let Ok(mut all) = keep.lock() {
                        all.push((headers, body));
                    }
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let url = format!("http://{}/hook", listener.local_addr().expect("bound"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        WebhookReceiver { url, received }
    }

    pub fn received(&self) -> Vec<(HeaderMap, Bytes)> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}
