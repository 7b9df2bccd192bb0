//! Starts a real stack for a test: `placement`, `scheduler` and `daprd` (through
//! `dapr/start-sidecar.sh`, the same script `make run` uses) and our server binary, all
//! on free loopback ports with a fresh data directory.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod collector;
pub mod notify;

pub const DEMO_PASSWORD: &str = "approvals-demo";
/// How long the tests wait for an order or a workflow to get somewhere.
pub const WAIT: Duration = Duration::from_secs(30);
/// The account the helpers below read with.
const WATCHER: &str = "carol";

pub struct Stack {
    pub base: String,
    pub http: reqwest::Client,
    dir: tempfile::TempDir,
    sidecar: Option<Child>,
    server: Option<Child>,
    dapr_grpc_port: u16,
    pub dapr_http_port: u16,
    /// The token dapr/start-sidecar.sh made for this data directory.
    dapr_api_token: String,
    site_port: u16,
    /// Where the server serves `/metrics` (`METRICS_ADDR`).
    metrics_port: u16,
    timeout: String,
    /// The read model's `DATABASE_URL`: a SQLite file in `dir`, or a fresh PostgreSQL
    /// database with `APPROVALS_TEST_POSTGRES` set.
    database_url: String,
    /// More environment for the server (e.g. a trace collector's address).
    server_env: Vec<(String, String)>,
}

/// `n` distinct free loopback ports, none handed out before in this test process.
/// Every listener is held until all are chosen: asking one at a time can hand out the
/// same port twice, as the kernel reuses a port as soon as its listener closes. And
/// tests run side by side: a port given to one stack stays free until its processes
/// bind it, so without the record another stack starting meanwhile could be given it.
fn free_ports<const N: usize>() -> [u16; N] {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let (mut fresh, mut held) = (Vec::with_capacity(N), Vec::new());
    while fresh.len() < N {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .expect("a bound port");
        if !given.contains(&port) {
            given.push(port);
            fresh.push(port);
        }
        // Held either way, so the kernel offers another port next.
        held.push(listener);
    }
    std::array::from_fn(|i| fresh[i])
}

/// A fresh database for one stack's Dapr state on the PostgreSQL server that
/// `APPROVALS_TEST_DAPR_PG` names, or None when that is not set.
fn dapr_state_on_postgres() -> Option<String> {
    fresh_postgres_database("APPROVALS_TEST_DAPR_PG", "dapr")
}

/// A fresh database on the PostgreSQL server (URL without a database name) that the
/// environment variable `server_var` names, or None when that is not set.
fn fresh_postgres_database(server_var: &str, prefix: &str) -> Option<String> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let server = std::env::var(server_var).ok().filter(|u| !u.is_empty())?;
    let name = format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let created = Command::new("psql")
        .args([
            &format!("{server}/postgres"),
            "-q",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .status()
        .expect("psql runs");
    assert!(created.success(), "CREATE DATABASE {name}");
    Some(format!("{server}/{name}"))
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Sends SIGTERM (so the sidecar script stops its children) and waits; SIGKILL after.
fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Stack {
    /// A stack whose orders time out after `approval_timeout` (e.g. `"60s"`).
    pub async fn start(approval_timeout: &str) -> Stack {
        Self::start_with(approval_timeout, &[]).await
    }

    /// A stack whose sidecar script also gets `sidecar_env` (e.g. a short
    /// `WORKFLOW_RETENTION`).
    ///
    /// With `APPROVALS_TEST_DAPR_PG` set to a PostgreSQL URL (no database name), as
    /// `scripts/test.sh` does for its second round, daprd keeps the workflow state in a
    /// fresh database of that server (`DAPR_STATE=postgres`).
    pub async fn start_with(approval_timeout: &str, sidecar_env: &[(&str, &str)]) -> Stack {
        Self::start_with_env(approval_timeout, sidecar_env, &[]).await
    }

    /// As [`Stack::start_with`], and the server also gets `server_env`.
    pub async fn start_with_env(
        approval_timeout: &str,
        sidecar_env: &[(&str, &str)],
        server_env: &[(&str, &str)],
    ) -> Stack {
        let bin_dir = std::env::var("DAPR_BIN_DIR").unwrap_or_default();
        assert!(
            Path::new(&bin_dir).join("daprd").exists(),
            "DAPR_BIN_DIR must name a folder with daprd, placement and scheduler \
             (run the tests with `make test`, which builds them); got {bin_dir:?}"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let [dapr_grpc_port, site_port, metrics_port, others @ ..] = free_ports::<12>();
        let mut sidecar_cmd = Command::new("bash");
        sidecar_cmd
            .arg(repo_root().join("dapr/start-sidecar.sh"))
            .env("DAPR_BIN_DIR", &bin_dir)
            .env("DATA_DIR", dir.path())
            .env("DAPR_GRPC_PORT", dapr_grpc_port.to_string())
            .env("WATCH_PARENT", "1")
            .env_remove("DAPR_API_TOKEN")
            .env_remove("DAPR_STATE")
            .env_remove("DAPR_STATE_URL");
        if let Some(url) = dapr_state_on_postgres() {
            sidecar_cmd
                .env("DAPR_STATE", "postgres")
                .env("DAPR_STATE_URL", url);
        }
        sidecar_cmd.envs(sidecar_env.iter().copied());
        for (var, port) in [
            "DAPR_HTTP_PORT",
            "DAPR_INTERNAL_GRPC_PORT",
            "PLACEMENT_PORT",
            "PLACEMENT_HEALTHZ_PORT",
            "PLACEMENT_RAFT_PORT",
            "SCHEDULER_PORT",
            "SCHEDULER_HEALTHZ_PORT",
            "SCHEDULER_ETCD_CLIENT_PORT",
            "SCHEDULER_ETCD_PEER_PORT",
        ]
        .into_iter()
        .zip(others)
        {
            sidecar_cmd.env(var, port.to_string());
        }
        let sidecar_log = std::fs::File::create(dir.path().join("sidecar.log")).expect("log file");
        let sidecar = sidecar_cmd
            .stdout(Stdio::null())
            .stderr(sidecar_log)
            .spawn()
            .expect("start dapr/start-sidecar.sh");
        let dir_path = dir.path().to_path_buf();
        let mut stack = Stack {
            base: String::new(),
            http: reqwest::Client::new(),
            dir,
            sidecar: Some(sidecar),
            server: None,
            dapr_grpc_port,
            dapr_http_port: others[0],
            dapr_api_token: String::new(),
            site_port,
            metrics_port,
            timeout: approval_timeout.to_owned(),
            database_url: fresh_postgres_database(backend::store::db::TEST_POSTGRES, "approvals")
                .unwrap_or_else(|| format!("sqlite://{}", dir_path.join("approvals.db").display())),
            server_env: server_env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        stack.base = format!("http://127.0.0.1:{}", stack.site_port);
        stack.wait_for_sidecar().await;
        stack.dapr_api_token = std::fs::read_to_string(stack.dapr_api_token_file())
            .expect("dapr/start-sidecar.sh wrote the API token");
        stack.start_server().await;
        stack
    }

    async fn wait_for_sidecar(&mut self) {
        // The script prints nothing on stdout until all three processes answer their
        // health checks; it writes a marker file when ready.
        let ready = self.dir.path().join("sidecar.ready");
        let deadline = Instant::now() + Duration::from_secs(120);
        while !ready.exists() {
            if let Some(child) = self.sidecar.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "the Dapr sidecar script exited ({status}):\n{}",
                        std::fs::read_to_string(self.dir.path().join("sidecar.log"))
                            .unwrap_or_default()
                    );
                }
            }
            assert!(Instant::now() < deadline, "Dapr sidecar not ready in 120 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn start_server(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("server.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .current_dir(repo_root())
            .env("DATABASE_URL", &self.database_url)
            .env("DAPR_GRPC_PORT", self.dapr_grpc_port.to_string())
            .env_remove("DAPR_GRPC_ENDPOINT")
            .env("DAPR_API_TOKEN", &self.dapr_api_token)
            .env("APPROVAL_TIMEOUT", &self.timeout)
            .env("RECONCILE_INTERVAL", "2s")
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{}", self.site_port))
            .env("METRICS_ADDR", format!("127.0.0.1:{}", self.metrics_port))
            .env("LEPTOS_OUTPUT_NAME", "approvals")
            .env("LEPTOS_SITE_ROOT", "target/site")
            .env("RUST_LOG", "info,dapr_durabletask=warn")
            .env("APP_DEMO_USERS", "1")
            .envs(self.server_env.iter().map(|(k, v)| (k, v)))
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start the server binary");
        self.server = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self.http.get(format!("{}/healthz", self.base)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            if let Some(Ok(Some(status))) = self.server.as_mut().map(Child::try_wait) {
                panic!("server exited early ({status}):\n{}", self.server_log());
            }
            assert!(
                Instant::now() < deadline,
                "server not healthy in 60 s:\n{}",
                self.server_log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Orders started from the next server start on time out after `approval_timeout`
    /// (each order keeps the timeout it was started with).
    pub fn set_approval_timeout(&mut self, approval_timeout: &str) {
        approval_timeout.clone_into(&mut self.timeout);
    }

    /// Stops our server as an operator would (SIGTERM: it gives its leases up).
    pub fn stop_server(&mut self) {
        if let Some(mut child) = self.server.take() {
            stop(&mut child);
        }
    }

    /// Kills our server the hard way, as a crash would.
    pub fn kill_server(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the Dapr processes (placement, scheduler, daprd).
    pub fn stop_sidecar(&mut self) {
        if let Some(mut child) = self.sidecar.take() {
            stop(&mut child);
        }
    }

    /// Sends `signal` (`STOP`, `CONT`) to this stack's daprd, and only to it: its pid
    /// is the one the sidecar script reported starting.
    pub fn signal_daprd(&self, signal: &str) {
        let log = std::fs::read_to_string(self.dir.path().join("sidecar.log")).unwrap_or_default();
        let pid = log
            .lines()
            .filter_map(|l| l.split("started daprd (pid ").nth(1))
            .filter_map(|rest| rest.split(')').next())
            .next_back()
            .expect("the sidecar log names daprd's pid");
        let status = Command::new("kill")
            .args([&format!("-{signal}"), pid])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// The stack's data directory (the sidecar's resources, its attached files).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A request of `who`'s (a name signs in with the demo password; `apv_…` is a
    /// token; "" is nobody), for what the helpers here do not cover.
    pub fn as_user(
        &self,
        method: reqwest::Method,
        who: &str,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.request(method, who, path)
    }

    pub fn dapr_api_token_file(&self) -> PathBuf {
        self.dir.path().join("dapr-api-token")
    }

    /// daprd's HTTP API for one workflow instance, called with the stack's token.
    pub async fn dapr_workflow(&self, instance_id: &str) -> reqwest::StatusCode {
        self.http
            .get(format!(
                "http://127.0.0.1:{}/v1.0/workflows/dapr/{instance_id}",
                self.dapr_http_port
            ))
            .header("dapr-api-token", &self.dapr_api_token)
            .send()
            .await
            .expect("daprd answers")
            .status()
    }

    /// Raises `approval_event` on the instance straight through daprd's HTTP API, as a
    /// decision raised again (by the reconciler, or a replay of a request) arrives.
    pub async fn raise_directly(&self, instance_id: &str, event: &Value) {
        self.post_to_daprd(&format!("{instance_id}/raiseEvent/approval_event"), event)
            .await;
    }

    /// Starts a workflow instance straight through daprd's API, with `input` as it is
    /// (an input the app itself would not send).
    pub async fn start_directly(&self, instance_id: &str, input: &Value) {
        let path = format!("PurchaseOrderApprovalWorkflow/start?instanceID={instance_id}");
        self.post_to_daprd(&path, input).await;
    }

    /// POSTs `body` to daprd's workflow API at `path`, with the stack's token.
    async fn post_to_daprd(&self, path: &str, body: &Value) {
        let answer = self
            .http
            .post(format!(
                "http://127.0.0.1:{}/v1.0/workflows/dapr/{path}",
                self.dapr_http_port
            ))
            .header("dapr-api-token", &self.dapr_api_token)
            .json(body)
            .send()
            .await
            .expect("daprd answers");
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
    }

    /// daprd's own version, from its metadata API (what recorded a replay fixture).
    pub async fn daprd_version(&self) -> String {
        let metadata: Value = self
            .http
            .get(format!(
                "http://127.0.0.1:{}/v1.0/metadata",
                self.dapr_http_port
            ))
            .header("dapr-api-token", &self.dapr_api_token)
            .send()
            .await
            .expect("daprd answers")
            .json()
            .await
            .expect("daprd's metadata is JSON");
        metadata["runtimeVersion"]
            .as_str()
            .unwrap_or("unknown")
            .to_owned()
    }

    /// One value of the server's Prometheus metrics: `series` is the name with its
    /// labels as the exposition writes them (`approvals_decisions_total{result="accepted",reason="none"}`);
    /// 0 when the series is not there (yet).
    pub async fn metric(&self, series: &str) -> f64 {
        let text = self
            .http
            .get(format!("http://127.0.0.1:{}/metrics", self.metrics_port))
            .send()
            .await
            .expect("the metrics listener answers")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .filter_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .filter_map(|value| value.trim().parse().ok())
            .next()
            .unwrap_or(0.0)
    }

    pub fn dapr_grpc_address(&self) -> String {
        format!("http://127.0.0.1:{}", self.dapr_grpc_port)
    }

    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn request(&self, method: reqwest::Method, who: &str, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match who {
            "" => request,
            token if token.starts_with("apv_") => request.bearer_auth(token),
            name => request.basic_auth(name, Some(DEMO_PASSWORD)),
        }
    }

    /// The read model's database, as the server opens it.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// Runs a command of the server binary (accounts, operators' `order …`) against this
    /// stack's database and sidecar.
    pub fn admin(&self, args: &[&str], stdin: &str) -> (bool, String) {
        self.admin_with(args, stdin, &[])
    }

    /// As [`Stack::admin`], with `env` set (over the stack's own) for the command.
    pub fn admin_with(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (bool, String) {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(args)
            .env("DAPR_GRPC_PORT", self.dapr_grpc_port.to_string())
            .env_remove("DAPR_GRPC_ENDPOINT")
            .env("DAPR_API_TOKEN", &self.dapr_api_token)
            .env("RUST_LOG", "warn")
            .env("DATABASE_URL", &self.database_url)
            .envs(self.server_env.iter().map(|(k, v)| (k, v)))
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the server binary");
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin.as_bytes());
        }
        let output = child.wait_with_output().expect("server command output");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr),
        )
    }

    pub async fn post(&self, who: &str, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .request(reqwest::Method::POST, who, path)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, who: &str, path: &str) -> (u16, Value) {
        let response = self
            .request(reqwest::Method::GET, who, path)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The read-model row of one order, from the list API.
    pub async fn order(&self, instance_id: &str) -> Option<Value> {
        let (status, page) = self.get(WATCHER, "/api/orders?limit=200").await;
        assert_eq!(status, 200, "{page}");
        page["orders"]
            .as_array()
            .and_then(|orders| orders.iter().find(|o| o["instance_id"] == instance_id))
            .cloned()
    }

    /// alice starts an order of `cost` (quantity 1); returns its read-model row once
    /// the workflow has asked for approval (within [`WAIT`]).
    pub async fn start_waiting(&self, order_id: &str, cost: f64) -> Value {
        let (code, started) = self
            .post("alice", "/start-purchase-order", order(order_id, cost, 1))
            .await;
        assert_eq!(code, 200, "{started}");
        self.wait_for_status(&format!("po-{order_id}"), "awaiting_approval", WAIT)
            .await
    }

    /// After a crash, until the restarted worker has rejoined daprd, calls into the
    /// engine answer 503 ("nothing was changed"); on a loaded machine that once lasted
    /// past 30 s (CI, the PostgreSQL round). Waits, two minutes at most, until
    /// `instance_id`'s workflow answers again.
    pub async fn until_rejoined(&self, instance_id: &str) {
        let give_up = Instant::now() + Duration::from_secs(120);
        loop {
            let (code, body) = self.get(WATCHER, &format!("/status/{instance_id}")).await;
            if code == 200 {
                return;
            }
            assert!(
                Instant::now() < give_up,
                "the engine did not answer for {instance_id} within 2 minutes: {code} {body}\n{}",
                self.server_log()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Polls the read model until the order reaches `status`.
    pub async fn wait_for_status(
        &self,
        instance_id: &str,
        status: &str,
        within: Duration,
    ) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let order = self.order(instance_id).await;
            if let Some(order) = &order {
                if order["status"] == status {
                    return order.clone();
                }
            }
            assert!(
                Instant::now() < deadline,
                "{instance_id} did not reach {status} within {within:?}; last seen {order:?}\n{}",
                self.server_log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls Dapr (through `/status`) until the workflow completes; returns its state.
    pub async fn wait_for_completion(&self, instance_id: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let (code, state) = self.get(WATCHER, &format!("/status/{instance_id}")).await;
            if code == 200 && state["runtime_status"] == "COMPLETED" {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "{instance_id} not completed within {within:?}: {code} {state}\n{}",
                self.server_log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.kill_server();
        self.stop_sidecar();
    }
}

pub fn order(order_id: &str, cost: f64, quantity: i64) -> Value {
    serde_json::json!({"order_id": order_id, "cost": cost, "product": "Widget", "quantity": quantity})
}

/// The workflow's output status text from a `/status` answer.
pub fn output_status(state: &Value) -> String {
    let output: Value = state["serialized_output"]
        .as_str()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    output["status"].as_str().unwrap_or_default().to_owned()
}
