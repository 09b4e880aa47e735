//! `kubegate webhook certs` and `kubegate webhook serve` as the binary runs in a cluster, and
//! parity: the same objects through `kubegate check` and through the webhook give the same
//! findings.

use rustls_pki_types::ServerName;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

fn testdata(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(path)
}

struct Serve {
    child: Child,
    addr: SocketAddr,
    metrics: SocketAddr,
    logs: std::sync::mpsc::Receiver<String>,
}

impl Serve {
    /// The next JSON log line whose message is `message`.
    fn log(&self, message: &str) -> Value {
        loop {
            let line = self
                .logs
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("no {message:?} log line"));
            let log: Value = serde_json::from_str(&line).expect("JSON log line");
            if log["fields"]["message"] == message {
                return log;
            }
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `kubegate webhook serve` on ephemeral ports and reads the bound addresses from its
/// JSON log. The child is killed and reaped when the returned [`Serve`] drops.
#[allow(clippy::zombie_processes)]
fn serve(certs: &Path, extra: &[&str]) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubegate"))
        .args([
            "webhook",
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--metrics-addr",
            "127.0.0.1:0",
        ])
        .arg("--tls-cert")
        .arg(certs.join("tls.crt"))
        .arg("--tls-key")
        .arg(certs.join("tls.key"))
        .args(extra)
        .env_remove("POD_NAMESPACE")
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubegate webhook serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server logs its address");
        let log: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("JSON log line {line:?}: {e}"));
        if log["fields"]["message"] == "serving admission reviews over TLS" {
            let addr = |key: &str| {
                log["fields"][key]
                    .as_str()
                    .and_then(|a| a.parse().ok())
                    .expect("address in log")
            };
            let (addr, metrics) = (addr("addr"), addr("metrics_addr"));
            // The reader thread keeps draining stderr into the channel, so the server never
            // blocks on a full pipe.
            return Serve {
                child,
                addr,
                metrics,
                logs: rx,
            };
        }
    }
}

/// `kubegate webhook certs` for `localhost` into a new directory; asserts it succeeded.
fn certs() -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_kubegate"))
        .args(["webhook", "certs", "--san", "localhost", "--out-dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, out)
}

fn client(ca: &Path) -> Arc<rustls::ClientConfig> {
    let pem = std::fs::read(ca).expect("ca.crt");
    Arc::new(kubegate_webhook::tls::client_config(&pem).expect("CA bundle"))
}

fn admit(config: &Arc<rustls::ClientConfig>, addr: SocketAddr, body: &str) -> Value {
    let name = ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(Arc::clone(config), name).expect("TLS");
    let tcp = TcpStream::connect(addr).expect("connect");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    write!(
        tls,
        "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut raw = String::new();
    let _ = tls.read_to_string(&mut raw);
    let (head, body) = raw.split_once("\r\n\r\n").expect("HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).expect("JSON")
}

#[test]
fn certs_then_serve_then_sigterm() {
    let (dir, out) = certs();
    let bundle = String::from_utf8(out.stdout).expect("UTF-8");
    let bundle = bundle.trim();
    assert!(
        bundle.starts_with("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"),
        "base64 of a PEM certificate: {bundle}"
    );
    assert!(!bundle.contains('\n'));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("kubegate-webhook.kubegate-system.svc"),
        "{stderr}"
    );
    // Refuses to overwrite without --force.
    let again = Command::new(env!("CARGO_BIN_EXE_kubegate"))
        .args(["webhook", "certs", "--out-dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("pass --force"));

    let mut server = serve(dir.path(), &[]);
    let config = client(&dir.path().join("ca.crt"));
    let review = std::fs::read_to_string(testdata("admission/reviews/pod-create-privileged.json"))
        .expect("fixture");
    let answer = admit(&config, server.addr, &review);
    assert_eq!(answer["response"]["allowed"], false);
    // One structured log line for the denial, inside the request's span.
    let log = server.log("denied");
    assert_eq!(log["level"], "INFO");
    assert_eq!(
        log["fields"]["rules"],
        "KG101,KG102,KG122,KG123,KG125,KG126,KG202,KG203"
    );
    let span = &log["span"];
    assert_eq!(span["uid"], "0a8f6d1e-5b2c-4c7a-9e3f-1d2c3b4a5e01");
    assert_eq!(span["kind"], "Pod");
    assert_eq!(span["namespace"], "shop");
    assert_eq!(span["object_name"], "debug-shell");
    assert_eq!(span["operation"], "CREATE");
    assert_eq!(span["verdict"], "denied");

    let mut metrics = String::new();
    let mut tcp = TcpStream::connect(server.metrics).expect("metrics port");
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    tcp.read_to_string(&mut metrics).expect("read");
    assert!(metrics.contains("kubegate_webhook_requests_total{verdict=\"denied\",kind=\"Pod\",operation=\"CREATE\"} 1"), "{metrics}");

    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            assert!(status.success(), "clean exit on SIGTERM: {status}");
            server.log("stopped");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_bad_policy_stops_the_start_with_a_clear_error() {
    let (dir, _) = certs();
    let out = Command::new(env!("CARGO_BIN_EXE_kubegate"))
        .args([
            "webhook",
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--metrics-addr",
            "127.0.0.1:0",
            "--log-format",
            "text",
        ])
        .arg("--tls-cert")
        .arg(dir.path().join("tls.crt"))
        .arg("--tls-key")
        .arg(dir.path().join("tls.key"))
        .arg("--policy")
        .arg(testdata("rego/broken"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot load policies"), "{stderr}");
    assert!(stderr.contains("broken"), "{stderr}");
}

/// What `kubegate check --format json` finds on one object: (rule, severity, line as the
/// webhook prints it).
fn check_findings(object: &Value, dir: &Path) -> Vec<(String, String, String)> {
    let file = dir.join("object.json");
    std::fs::write(&file, object.to_string()).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_kubegate"))
        .args([
            "check",
            "--no-config",
            "--format",
            "json",
            "--skip-rules",
            &kubegate_engine::registry::whole_input_ids().join(","),
        ])
        .arg("--policy")
        .arg(testdata("admission/policy"))
        .arg("--policy")
        .arg(testdata("gatekeeper/policy"))
        .arg(&file)
        .output()
        .expect("kubegate check");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        // Advisory findings (Gatekeeper dryrun, "cannot be judged") are dry-run in the webhook:
        // logged and counted, neither denied nor warned.
        .filter(|f| f["advisory"] != true)
        .map(|f| {
            let pointer = f["pointer"].as_str().unwrap_or_default();
            let field = kubegate_webhook::admission::dotted(pointer);
            let message = f["message"].as_str().unwrap_or_default();
            let line = if field.is_empty() {
                format!("[{}] {message}", f["rule_id"].as_str().unwrap_or_default())
            } else {
                format!(
                    "[{}] {field}: {message}",
                    f["rule_id"].as_str().unwrap_or_default()
                )
            };
            (
                f["rule_id"].as_str().unwrap_or_default().to_owned(),
                f["severity"].as_str().unwrap_or_default().to_owned(),
                line,
            )
        })
        .collect()
}

#[test]
fn the_webhook_and_check_agree() {
    let (dir, _) = certs();
    let policy = testdata("admission/policy");
    let gatekeeper = testdata("gatekeeper/policy");
    let server = serve(
        dir.path(),
        &[
            "--policy",
            policy.to_str().expect("path"),
            "--policy",
            gatekeeper.to_str().expect("path"),
        ],
    );
    let config = client(&dir.path().join("ca.crt"));
    let mut compared = 0;
    for fixture in [
        "pod-create-compliant.json",
        "pod-create-privileged.json",
        "cronjob-create-hostpath.json",
        "deployment-create-dryrun.json",
    ] {
        let text = std::fs::read_to_string(testdata(&format!("admission/reviews/{fixture}")))
            .expect("fixture");
        let review: Value = serde_json::from_str(&text).expect("JSON");
        let expected = check_findings(&review["request"]["object"], dir.path());
        let answer = admit(&config, server.addr, &text);
        let response = &answer["response"];
        let denied: BTreeSet<String> = response["status"]["message"]
            .as_str()
            .unwrap_or_default()
            .lines()
            .skip(1)
            .map(str::to_owned)
            .collect();
        let warned: BTreeSet<String> = response["warnings"]
            .as_array()
            .map(|w| {
                w.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let mut expect_denied = BTreeSet::new();
        let mut expect_warned = BTreeSet::new();
        for (_, severity, line) in &expected {
            if matches!(severity.as_str(), "medium" | "high" | "critical") {
                expect_denied.insert(line.clone());
            } else {
                expect_warned.insert(kubegate_webhook::admission::warning(line));
            }
        }
        assert_eq!(denied, expect_denied, "{fixture}: denials");
        assert_eq!(warned, expect_warned, "{fixture}: warnings");
        assert_eq!(response["allowed"], expect_denied.is_empty(), "{fixture}");
        compared += expected.len();
    }
    assert!(
        compared >= 15,
        "the fixtures exercise many findings ({compared})"
    );
}

#[test]
fn the_deploy_files_pass_kubegate_restricted_and_their_configuration_loads() {
    let out = Command::new(env!("CARGO_BIN_EXE_kubegate"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .args([
            "check",
            "--no-config",
            "--no-render",
            "--pss-level",
            "restricted",
            "deploy/base",
        ])
        .output()
        .expect("kubegate check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("No findings in 10 objects"), "{stdout}");

    // The configuration and policies shipped in the ConfigMaps are valid as they stand.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/base/configmap.yaml"),
    )
    .expect("configmap.yaml");
    let stream = kubegate_engine::parse_stream(&text, &kubegate_engine::Limits::default());
    assert!(stream.error.is_none());
    let dir = tempfile::tempdir().expect("tempdir");
    for doc in &stream.documents {
        for (key, value) in doc.value["data"].as_object().expect("data") {
            std::fs::write(dir.path().join(key), value.as_str().expect("text")).expect("write");
        }
    }
    let config = kubegate_engine::Config::load(&dir.path().join("kubegate.yaml"))
        .expect("the shipped kubegate.yaml is valid");
    assert_eq!(
        config.webhook.failure_mode,
        Some(kubegate_engine::FailureMode::Deny)
    );
    let source = kubegate_webhook::policy::PolicySource {
        config: Some(dir.path().join("kubegate.yaml")),
        policy_paths: vec![dir.path().join("loadbalancer.rego")],
        own_namespace: Some("kubegate-system".into()),
        crd_paths: Vec::new(),
    };
    let state = kubegate_webhook::PolicyState::load(&source).expect("the shipped policies compile");
    assert!(state
        .checker
        .policies()
        .is_some_and(|p| p.rules().len() == 1));
}
