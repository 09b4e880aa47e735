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
        // Advisory findings (Gatekeeper dryrun) are dry-run in the webhook: logged and counted,
        // neither denied nor warned. A constraint that cannot be judged (advisory in `check`)
        // weighs in the webhook as it would once decided: a warn constraint warns (a deny one
        // would bring in the failure mode; none of these fixtures has one).
        .filter(|f| f["advisory"] != true || f["details"]["advisoryIfDecided"] == false)
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
    // The only finding is KG220's advisory for the TLS Secret, which the install creates
    // outside the manifests (`kubectl create secret tls`, docs/webhook.md): the files are a
    // partial input, and an advisory never fails.
    assert!(
        stdout.contains("1 finding (1 advisory) in 12 objects"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[KG220] Deployment/kubegate-webhook uses Secret \"kubegate-webhook-tls\""),
        "{stdout}"
    );

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

/// Resident memory of a process, from `/proc/PID/status` (KiB).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The memory limit of the deployed container, from `deploy/base/deployment.yaml` (KiB).
fn deployed_memory_limit_kib() -> u64 {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/base/deployment.yaml"),
    )
    .expect("deployment.yaml");
    let stream = kubegate_engine::parse_stream(&text, &kubegate_engine::Limits::default());
    let limit = stream.documents[0].value["spec"]["template"]["spec"]["containers"][0]["resources"]
        ["limits"]["memory"]
        .as_str()
        .expect("a memory limit")
        .to_owned();
    let mib: u64 = limit
        .strip_suffix("Mi")
        .and_then(|n| n.parse().ok())
        .expect("a limit in Mi");
    mib * 1024
}

/// Samples a process's RSS every 50 ms until dropped; `peak()` is the largest seen.
struct RssWatch {
    peak: Arc<std::sync::atomic::AtomicU64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl RssWatch {
    fn new(pid: u32) -> Self {
        let peak = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (p, s) = (Arc::clone(&peak), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    p.fetch_max(kib, std::sync::atomic::Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        RssWatch { peak, stop }
    }

    fn peak(&self) -> u64 {
        self.peak.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for RssWatch {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// One POST over a new TLS connection: the status and body, or why there was none.
fn post(
    config: &Arc<rustls::ClientConfig>,
    addr: SocketAddr,
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let name = ServerName::try_from("localhost").expect("name");
    let conn =
        rustls::ClientConnection::new(Arc::clone(config), name).map_err(std::io::Error::other)?;
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    write!(
        tls,
        "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    // The server may answer (413) before reading a large body: keep reading either way.
    let _ = tls.write_all(body);
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no HTTP answer: {text:?}")))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {head:?}")))?;
    Ok((status, body.to_owned()))
}

/// The reproducer: a Pod with 3,000 containers and `huge` (2 MB) either as the
/// namespace or as the first container's image, about 4.1 MB, just under the 4 MiB limit.
fn huge_review(huge_namespace: bool) -> String {
    let huge = "n".repeat(2_000_000);
    let containers: Vec<Value> = (0..3000)
        .map(|i| {
            serde_json::json!({
                "name": format!("c{i}"),
                "image": if i == 0 && !huge_namespace { huge.clone() } else { format!("registry.example.com/team/app-{i}:latest") },
                "args": ["--listen=0.0.0.0:8080", "--log-level=debug", format!("--padding={}", "p".repeat(520))],
                "env": [{"name": "MODE", "value": "production"}],
            })
        })
        .collect();
    let namespace = if huge_namespace {
        huge.as_str()
    } else {
        "shop"
    };
    let review = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "huge-1",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "name": "huge",
            "namespace": namespace,
            "operation": "CREATE",
            "userInfo": {"username": "mallory"},
            "object": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "huge"},
                "spec": {"containers": containers},
            },
        },
    });
    review.to_string()
}

#[test]
fn a_huge_review_is_answered_in_time_and_memory_stays_under_the_deployed_limit() {
    let (dir, _) = certs();
    let policy = testdata("admission/policy");
    let server = serve(
        dir.path(),
        &[
            "--policy",
            policy.to_str().expect("path"),
            "--eval-timeout",
            "3000",
        ],
    );
    let limit = deployed_memory_limit_kib();
    let watch = RssWatch::new(server.child.id());
    let config = client(&dir.path().join("ca.crt"));
    let compliant =
        std::fs::read_to_string(testdata("admission/reviews/pod-create-compliant.json"))
            .expect("fixture");
    for huge_namespace in [true, false] {
        let body = huge_review(huge_namespace);
        assert!(
            (4_000_000..4 * 1024 * 1024).contains(&body.len()),
            "{} bytes",
            body.len()
        );
        let started = std::time::Instant::now();
        let (status, text) = post(&config, server.addr, body.as_bytes()).expect("answered");
        let took = started.elapsed();
        assert_eq!(status, 200, "{}", &text[..text.len().min(500)]);
        // The 3 s limit plus a wide margin for reading 4 MB over TLS on a loaded machine.
        assert!(took < Duration::from_secs(13), "answered after {took:?}");
        assert!(
            text.len() < 64 * 1024,
            "a bounded answer: {} bytes",
            text.len()
        );
        let answer: Value = serde_json::from_str(&text).expect("JSON");
        let response = &answer["response"];
        assert_eq!(response["uid"], "huge-1");
        assert_eq!(response["allowed"], false, "{response}");
        let message = response["status"]["message"].as_str().expect("message");
        if huge_namespace {
            assert!(
                message.contains("request.namespace is 2000000 bytes long; Kubernetes allows 63"),
                "{message}"
            );
        } else {
            // Evaluated (or timed out, on a slow machine): either way a bounded message.
            assert!(message.len() < 40 * 1024, "{} bytes", message.len());
        }
        // The next valid review is answered.
        let answer = admit(&config, server.addr, &compliant);
        assert_eq!(answer["response"]["allowed"], true, "{answer}");
    }
    // Whatever ran past its answer has stopped by now and memory has not grown since.
    std::thread::sleep(Duration::from_secs(4));
    let settled = rss_kib(server.child.id()).expect("RSS");
    let peak = watch.peak();
    eprintln!("huge reviews: peak RSS {peak} KiB, settled {settled} KiB, limit {limit} KiB");
    assert!(
        peak < limit,
        "peak RSS {peak} KiB over the deployed limit {limit} KiB"
    );
    assert!(settled < limit, "{settled} KiB");
}

/// A deterministic generator (xorshift64*), so a failing case can be replayed.
struct Prng(u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

/// Every JSON pointer of a value.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                pointers(
                    v,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// One hostile variation of a valid review.
fn mutate(rng: &mut Prng, base: &Value, fields: &[String]) -> Vec<u8> {
    let text = base.to_string();
    let wrong = [
        Value::Null,
        Value::Bool(true),
        serde_json::json!(-1e308),
        serde_json::json!("x"),
        serde_json::json!([1, "a", null]),
        serde_json::json!({"k": {}}),
    ];
    match rng.below(10) {
        // Truncated JSON.
        0 => text.as_bytes()[..rng.below(text.len())].to_vec(),
        // A wrong type at any field (the request's own fields included).
        1 | 2 => {
            let mut v = base.clone();
            let field = &fields[rng.below(fields.len())];
            if let Some(slot) = v.pointer_mut(field) {
                *slot = wrong[rng.below(wrong.len())].clone();
            }
            v.to_string().into_bytes()
        }
        // Deep nesting somewhere in the object.
        3 => {
            let depth = 50 + rng.below(200);
            let mut v = base.clone();
            let deep = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
            v["request"]["object"]["spec"]["deep"] = Value::Null;
            v.to_string()
                .replacen("\"deep\":null", &format!("\"deep\":{deep}"), 1)
                .into_bytes()
        }
        // A multi-megabyte string in a name, a label or an image.
        4 => {
            let mut v = base.clone();
            let huge = "y".repeat(1_000_000 + rng.below(2_500_000));
            let at = [
                "/request/object/metadata/name",
                "/request/object/metadata/labels/team",
                "/request/object/spec/containers/0/image",
                "/request/uid",
                "/request/kind/kind",
                "/request/operation",
            ][rng.below(6)];
            if let Some(slot) = v.pointer_mut(at) {
                *slot = Value::String(huge);
            }
            v.to_string().into_bytes()
        }
        // Duplicate keys.
        5 => text
            .replacen(
                "\"apiVersion\":\"v1\"",
                "\"apiVersion\":\"v1\",\"apiVersion\":\"apps/v1\"",
                1,
            )
            .replacen("\"uid\":", "\"uid\":\"dup\",\"uid\":", 1)
            .into_bytes(),
        // Invalid UTF-8 somewhere.
        6 => {
            let mut bytes = text.into_bytes();
            let at = rng.below(bytes.len());
            bytes[at] = [0xff, 0xc3, 0x80, 0xed][rng.below(4)];
            bytes
        }
        // No uid.
        7 => {
            let mut v = base.clone();
            if let Some(r) = v["request"].as_object_mut() {
                r.remove("uid");
            }
            v.to_string().into_bytes()
        }
        // `request.object` (or `request`) not an object.
        8 => {
            let mut v = base.clone();
            let slot = if rng.below(2) == 0 {
                &mut v["request"]["object"]
            } else {
                &mut v["request"]
            };
            *slot = wrong[rng.below(wrong.len())].clone();
            v.to_string().into_bytes()
        }
        // Random bytes flipped.
        _ => {
            let mut bytes = text.into_bytes();
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(bytes.len());
                bytes[at] = u8::try_from(rng.below(256)).unwrap_or(b'?');
            }
            bytes
        }
    }
}

#[test]
fn thousands_of_hostile_reviews_get_answers_and_the_server_keeps_serving() {
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
    let limit = deployed_memory_limit_kib();
    let watch = RssWatch::new(server.child.id());
    let config = client(&dir.path().join("ca.crt"));
    let mut bases = Vec::new();
    for fixture in [
        "pod-create-privileged.json",
        "pod-update-relabel.json",
        "deployment-create-dryrun.json",
    ] {
        let text = std::fs::read_to_string(testdata(&format!("admission/reviews/{fixture}")))
            .expect("fixture");
        let review: Value = serde_json::from_str(&text).expect("JSON");
        let mut fields = Vec::new();
        pointers(&review, String::new(), &mut fields);
        bases.push((review, fields));
    }
    let cases: usize = std::env::var("KUBEGATE_HOSTILE_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let mut rng = Prng(0x6b75_6265_6761_7465);
    let (mut verdicts, mut refused) = (0, 0);
    for case in 0..cases {
        let (base, fields) = &bases[case % bases.len()];
        let body = mutate(&mut rng, base, fields);
        let (status, text) = post(&config, server.addr, &body)
            .unwrap_or_else(|e| panic!("case {case}: no answer: {e}"));
        match status {
            200 => {
                let answer: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("case {case}: {e}: {text}"));
                assert!(
                    answer["response"]["allowed"].is_boolean(),
                    "case {case}: {text}"
                );
                verdicts += 1;
            }
            400..=499 => refused += 1,
            _ => panic!(
                "case {case}: status {status}: {}",
                &text[..text.len().min(300)]
            ),
        }
    }
    let valid = std::fs::read_to_string(testdata("admission/reviews/pod-create-compliant.json"))
        .expect("fixture");
    let answer = admit(&config, server.addr, &valid);
    assert_eq!(answer["response"]["allowed"], true, "{answer}");
    let peak = watch.peak();
    eprintln!("{cases} hostile reviews: {verdicts} verdicts, {refused} refused (4xx); peak RSS {peak} KiB");
    assert!(
        verdicts > cases / 10 && refused > cases / 10,
        "{verdicts} / {refused}"
    );
    assert!(
        peak < limit,
        "peak RSS {peak} KiB over the deployed limit {limit} KiB"
    );
}

fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut tcp = TcpStream::connect(addr).ok()?;
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).ok()?;
    raw.split(' ').nth(1)?.parse().ok()
}

#[test]
fn load_across_sigterm_loses_no_request() {
    let (dir, _) = certs();
    let mut server = serve(dir.path(), &["--shutdown-delay", "2"]);
    let config = client(&dir.path().join("ca.crt"));
    let review = std::fs::read_to_string(testdata("admission/reviews/pod-create-compliant.json"))
        .expect("fixture");
    let (ok, failed) = (
        Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        Arc::new(std::sync::atomic::AtomicUsize::new(0)),
    );
    let after_term = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let termed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Set once the endpoints would have dropped the pod: clients send nothing new after it.
    let gone = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let addr = server.addr;
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (config, review) = (Arc::clone(&config), review.clone());
            let (ok, failed, after_term, termed, gone) = (
                Arc::clone(&ok),
                Arc::clone(&failed),
                Arc::clone(&after_term),
                Arc::clone(&termed),
                Arc::clone(&gone),
            );
            std::thread::spawn(move || loop {
                if gone.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                match post(&config, addr, review.as_bytes()) {
                    Ok((200, text)) if text.contains("\"allowed\":true") => {
                        ok.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        if termed.load(std::sync::atomic::Ordering::SeqCst) {
                            after_term.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                    other => {
                        eprintln!("failed request: {other:?}");
                        failed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(http_status(server.metrics, "/readyz"), Some(200));
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    termed.store(true, std::sync::atomic::Ordering::SeqCst);
    // Not ready at once, while reviews are still answered.
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    let mut unready = false;
    while std::time::Instant::now() < deadline && !unready {
        unready = http_status(server.metrics, "/readyz") == Some(503);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(unready, "/readyz answers 503 during the shutdown delay");
    // The API server keeps sending for a while after the pod is marked for deletion; here
    // for 1 s of the 2 s delay, then the endpoints update reaches it.
    std::thread::sleep(Duration::from_millis(1000));
    gone.store(true, std::sync::atomic::Ordering::SeqCst);
    for c in clients {
        c.join().expect("client thread");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit}");
    let (ok, failed, after) = (
        ok.load(std::sync::atomic::Ordering::SeqCst),
        failed.load(std::sync::atomic::Ordering::SeqCst),
        after_term.load(std::sync::atomic::Ordering::SeqCst),
    );
    eprintln!("across SIGTERM: {ok} answered ({after} after the signal), {failed} failed");
    assert_eq!(failed, 0);
    assert!(after > 0, "reviews were answered during the delay");
}
