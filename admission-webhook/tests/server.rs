//! The real server on 127.0.0.1, with freshly generated certificates, spoken to over real TLS
//! by a client that verifies the CA, with AdmissionReview bodies shaped like the API server's.

use kubegate_webhook::policy::PolicySource;
use kubegate_webhook::tls::{generate, GeneratedCerts};
use kubegate_webhook::{ServeOptions, Server};
use rustls_pki_types::ServerName;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn testdata(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(path)
}

fn review(name: &str) -> Value {
    let text = std::fs::read_to_string(testdata(&format!("admission/reviews/{name}")))
        .expect("review fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn write_certs(dir: &Path, certs: &GeneratedCerts) -> (PathBuf, PathBuf) {
    let cert = dir.join("tls.crt");
    let key = dir.join("tls.key");
    std::fs::write(&cert, &certs.server_cert).expect("write cert");
    std::fs::write(&key, &certs.server_key).expect("write key");
    (cert, key)
}

struct Running {
    addr: SocketAddr,
    metrics: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), kubegate_webhook::ServeError>>,
    _dir: tempfile::TempDir,
    ca: String,
}

impl Running {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("server stops")
            .expect("server task");
        assert!(result.is_ok(), "{result:?}");
    }
}

async fn start(configure: impl FnOnce(&mut ServeOptions, &Path)) -> Running {
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = generate(&["localhost".into(), "127.0.0.1".into()], 7).expect("certs");
    let (cert, key) = write_certs(dir.path(), &certs);
    let any: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let mut options = ServeOptions::new(any, any, cert, key);
    options.reload_interval = Duration::from_millis(100);
    options.shutdown_delay = Duration::ZERO;
    configure(&mut options, dir.path());
    let server = Server::bind(options).await.expect("server starts");
    let addr = server.local_addr().expect("addr");
    let metrics = server.metrics_addr().expect("metrics addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    Running {
        addr,
        metrics,
        stop: Some(tx),
        task,
        _dir: dir,
        ca: certs.ca_cert,
    }
}

fn connector(cas: &[&str]) -> tokio_rustls::TlsConnector {
    let config = kubegate_webhook::tls::client_config(cas.concat().as_bytes()).expect("CA bundle");
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// One HTTP/1.1 request over a new TLS connection; returns status and body.
async fn https(
    addr: SocketAddr,
    tls: &tokio_rustls::TlsConnector,
    path: &str,
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").expect("name");
    let mut stream = tls.connect(name, tcp).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    // The server may answer (413) before reading a large body and close: keep reading.
    let _ = stream.write_all(body).await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    parse_response(&raw)
}

async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let head = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tcp.write_all(head.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.expect("read");
    parse_response(&raw).expect("HTTP response")
}

fn parse_response(raw: &[u8]) -> std::io::Result<(u16, String)> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no HTTP response in {text:?}")))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

async fn admit(server: &Running, body: &Value) -> (u16, Value) {
    let tls = connector(&[&server.ca]);
    let (status, text) = https(server.addr, &tls, "/validate", body.to_string().as_bytes())
        .await
        .expect("request");
    (status, serde_json::from_str(&text).expect("JSON answer"))
}

fn response(answer: &Value) -> &Value {
    &answer["response"]
}

fn with_policies(options: &mut ServeOptions, _: &Path) {
    options.source = PolicySource {
        config: None,
        policy_paths: vec![testdata("admission/policy"), testdata("gatekeeper/policy")],
        own_namespace: Some("kubegate-system".into()),
        crd_paths: vec![testdata("schema/crds")],
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allows_denies_and_warns_like_the_api_server_expects() {
    let server = start(with_policies).await;

    // Allowed, uid and version echoed.
    let (status, answer) = admit(&server, &review("pod-create-compliant.json")).await;
    assert_eq!(status, 200);
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(answer["kind"], "AdmissionReview");
    assert_eq!(
        response(&answer)["uid"],
        "0a8f6d1e-5b2c-4c7a-9e3f-1d2c3b4a5e02"
    );
    assert_eq!(response(&answer)["allowed"], true, "{answer}");
    assert!(response(&answer).get("status").is_none());

    // Denied: 403 and one line per violation, with rule id and field.
    let (status, answer) = admit(&server, &review("pod-create-privileged.json")).await;
    assert_eq!(status, 200, "denials are answers, not HTTP errors");
    let r = response(&answer);
    assert_eq!(r["uid"], "0a8f6d1e-5b2c-4c7a-9e3f-1d2c3b4a5e01");
    assert_eq!(r["allowed"], false);
    assert_eq!(r["status"]["code"], 403);
    let message = r["status"]["message"].as_str().expect("message");
    assert!(
        message.starts_with("kubegate denied Pod shop/debug-shell: "),
        "{message}"
    );
    assert!(
        message.contains("[KG101] spec.containers[0].securityContext.privileged: container \"debug\" must not set securityContext.privileged=true"),
        "{message}"
    );
    assert!(message.contains("[KG102] spec.hostPID: "), "{message}");
    assert!(
        !message.contains("KG401"),
        "cross-object rules do not run: {message}"
    );
    // Low findings and the Rego warn rule come back as warnings, each within 120 characters.
    let warnings: Vec<&str> = r["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        warnings.contains(&"[main.warn] Pod debug-shell has no team label"),
        "{warnings:?}"
    );
    assert!(warnings
        .iter()
        .any(|w| w.starts_with("[KG204] spec.containers[0].livenessProbe: ")));
    assert!(
        warnings.iter().all(|w| w.chars().count() <= 120),
        "{warnings:?}"
    );

    // A CronJob mounting the docker socket.
    let (_, answer) = admit(&server, &review("cronjob-create-hostpath.json")).await;
    let message = response(&answer)["status"]["message"]
        .as_str()
        .expect("denied");
    assert!(
        message.contains("[KG103] spec.jobTemplate.spec.template.spec.volumes[0].hostPath: "),
        "{message}"
    );

    // UPDATE: the constraint sees oldObject and userInfo.
    let (_, answer) = admit(&server, &review("pod-update-relabel.json")).await;
    let r = response(&answer);
    assert_eq!(r["allowed"], false, "{answer}");
    let message = r["status"]["message"].as_str().expect("message");
    assert!(
        message.contains("[K8sImmutableLabels.team-label-is-immutable] label team is immutable: was payments, now growth (change by bob@example.com)"),
        "{message}"
    );

    // UPDATE of a Deployment that changes its selector: the API server would refuse it as
    // immutable (KG018, judged against oldObject). The same update with the old selector
    // (a new image only) is allowed.
    let mut update = review("deployment-update-selector.json");
    let (_, answer) = admit(&server, &update).await;
    let r = response(&answer);
    assert_eq!(r["allowed"], false, "{answer}");
    let message = r["status"]["message"].as_str().expect("message");
    assert!(
        message.contains(
            "[KG018] spec.selector: Invalid value: {\"matchLabels\":{\"app.kubernetes.io/name\":\"web\"}}: field is immutable"
        ),
        "{message}"
    );
    let old = update["request"]["oldObject"].clone();
    for field in ["selector", "template"] {
        update["request"]["object"]["spec"][field] = old["spec"][field].clone();
    }
    update["request"]["object"]["spec"]["template"]["spec"]["containers"][0]["image"] =
        json!("registry.example.com/web:1.5.0");
    let (_, answer) = admit(&server, &update).await;
    assert_eq!(response(&answer)["allowed"], true, "{answer}");

    // Gatekeeper constraint on a Deployment in a dry-run request (evaluated all the same).
    let (_, answer) = admit(&server, &review("deployment-create-dryrun.json")).await;
    let message = response(&answer)["status"]["message"]
        .as_str()
        .expect("denied");
    assert!(
        message.contains("[K8sRequiredLabels.must-have-owner] you must provide labels: "),
        "{message}"
    );
    assert!(
        message.contains("[KG201] spec.template.spec.containers[0].image: "),
        "{message}"
    );

    // A Deployment without `spec.replicas` is usually scaled by a HorizontalPodAutoscaler, which
    // the request does not show: KG208 (single replica) needs the whole input and does not run.
    // `kubegate check` on the same object alone reports it.
    let mut scaled = review("deployment-create-dryrun.json");
    let spec = scaled["request"]["object"]["spec"]
        .as_object_mut()
        .expect("spec");
    assert!(spec.remove("replicas").is_some());
    let (_, answer) = admit(&server, &scaled).await;
    let said = response(&answer).to_string();
    assert!(said.contains("[KG201] "), "{said}");
    assert!(!said.contains("KG208"), "{said}");

    // DELETE and excluded namespaces are allowed without evaluation.
    for fixture in ["pod-delete.json", "pod-create-kube-system.json"] {
        let (_, answer) = admit(&server, &review(fixture)).await;
        assert_eq!(response(&answer)["allowed"], true, "{fixture}: {answer}");
        assert!(response(&answer).get("warnings").is_none(), "{fixture}");
    }

    // v1beta1 is answered in v1beta1.
    let mut old = review("pod-create-compliant.json");
    old["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let (_, answer) = admit(&server, &old).await;
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1beta1");
    assert_eq!(response(&answer)["allowed"], true);

    // Malformed bodies: 400 with a JSON error naming the cause.
    let tls = connector(&[&server.ca]);
    for (body, cause) in [
        (&b"{\"apiVersion\": "[..], "not JSON"),
        (&br#"{"apiVersion":"v1","kind":"Pod"}"#[..], "expected an AdmissionReview"),
        (
            &br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}"#[..],
            "request.uid",
        ),
    ] {
        let (status, text) = https(server.addr, &tls, "/validate", body).await.expect("answer");
        assert_eq!(status, 400, "{text}");
        let error: Value = serde_json::from_str(&text).expect("JSON error body");
        assert!(error["error"].as_str().expect("error").contains(cause), "{text}");
    }
    let (status, _) = https(server.addr, &tls, "/elsewhere", b"{}")
        .await
        .expect("answer");
    assert_eq!(status, 404);

    // Operations port: health, readiness, metrics.
    assert_eq!(http_get(server.metrics, "/healthz").await.0, 200);
    assert_eq!(http_get(server.metrics, "/readyz").await.0, 200);
    let (status, metrics) = http_get(server.metrics, "/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "kubegate_webhook_requests_total{verdict=\"denied\",kind=\"Pod\",operation=\"CREATE\"} 1",
        "kubegate_webhook_requests_total{verdict=\"allowed\",kind=\"Pod\",operation=\"CREATE\"} 2",
        "kubegate_webhook_requests_total{verdict=\"skipped\",kind=\"Pod\",operation=\"DELETE\"} 1",
        "kubegate_webhook_requests_total{verdict=\"denied\",kind=\"Pod\",operation=\"UPDATE\"} 1",
        "kubegate_webhook_rejected_requests_total{reason=\"malformed\"} 3",
        "kubegate_webhook_requests_total{verdict=\"denied\",kind=\"Deployment\",operation=\"UPDATE\"} 1",
        "kubegate_webhook_requests_total{verdict=\"allowed\",kind=\"Deployment\",operation=\"UPDATE\"} 1",
        "kubegate_webhook_findings_total{rule=\"KG018\",enforcement=\"deny\"} 1",
        "kubegate_webhook_request_duration_seconds_count 11",
        "kubegate_webhook_in_flight_requests 0",
    ] {
        assert!(metrics.contains(line), "missing {line}:\n{metrics}");
    }
    // Findings carry their rule; every loaded rule's series exists from the start.
    assert!(
        metrics.contains("kubegate_webhook_findings_total{rule=\"KG101\",enforcement=\"deny\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kubegate_webhook_findings_total{rule=\"KG103\",enforcement=\"warn\"} 0"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_resources_are_validated_against_the_given_crds() {
    let server = start(with_policies).await;
    // The Backup CRD comes from --crd (testdata/schema/crds): wrong type and misspelt field.
    let (_, answer) = admit(&server, &review("backup-create-invalid.json")).await;
    let r = response(&answer);
    assert_eq!(r["allowed"], false, "{answer}");
    let message = r["status"]["message"].as_str().expect("message");
    assert!(
        message.contains(r#"[KG004] spec.retain: expected integer, got string "4""#),
        "{message}"
    );
    assert!(
        message.contains(r#"[KG004] spec.retian: unknown field "retian""#),
        "{message}"
    );
    // A kind no schema describes: advisory (dry-run), so allowed, and not a warning either.
    let (_, answer) = admit(&server, &review("probe-create-unknown-kind.json")).await;
    let r = response(&answer);
    assert_eq!(r["allowed"], true, "{answer}");
    let warnings = r["warnings"].as_array().map(Vec::len).unwrap_or(0);
    assert!(
        r["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|w| !w.as_str().unwrap_or("").contains("KG006")),
        "{warnings} warnings: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_refused_and_oversize_bodies_are_rejected() {
    let server = start(|o, _| {
        o.max_body_bytes = 64 * 1024;
        o.body_timeout = Duration::from_millis(300);
    })
    .await;
    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    tcp.write_all(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        .await
        .expect("write");
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut raw)).await;
    assert!(!String::from_utf8_lossy(&raw).contains("HTTP/1.1 200"));

    let mut big = review("pod-create-compliant.json");
    big["request"]["object"]["metadata"]["annotations"] = json!({"padding": "x".repeat(200_000)});
    let tls = connector(&[&server.ca]);
    let (status, text) = https(server.addr, &tls, "/validate", big.to_string().as_bytes())
        .await
        .expect("answer");
    assert_eq!(status, 413, "{text}");
    assert!(
        text.contains("larger than the limit of 65536 bytes"),
        "{text}"
    );

    // A body that never finishes arriving: 408 after the body timeout.
    let tcp = TcpStream::connect(server.addr).await.expect("connect");
    let mut stream = tls
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("TLS");
    stream
        .write_all(
            b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{\"apiVe",
        )
        .await
        .expect("write");
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw)).await;
    let (status, text) = parse_response(&raw).expect("answer");
    assert_eq!(status, 408, "{text}");
    assert!(text.contains("not received within 300 ms"), "{text}");

    let (_, metrics) = http_get(server.metrics, "/metrics").await;
    assert!(metrics.contains("kubegate_webhook_rejected_requests_total{reason=\"too_large\"} 1"));
    assert!(metrics.contains("kubegate_webhook_rejected_requests_total{reason=\"body_timeout\"} 1"));
    server.stop().await;
}

fn slow_policy(options: &mut ServeOptions, dir: &Path, failure_mode: &str) {
    let config = dir.join("kubegate.yaml");
    std::fs::write(
        &config,
        format!("policies:\n  timeoutMs: 1500\nwebhook:\n  failureMode: {failure_mode}\n"),
    )
    .expect("config");
    options.source = PolicySource {
        config: Some(config),
        policy_paths: vec![testdata("rego/slow")],
        own_namespace: None,
        crd_paths: Vec::new(),
    };
    options.eval_timeout = Duration::from_millis(300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evaluation_timeout_follows_the_failure_mode() {
    let closed = start(|o, d| slow_policy(o, d, "deny")).await;
    let started = Instant::now();
    let (_, answer) = admit(&closed, &review("pod-create-compliant.json")).await;
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "answered at the time limit"
    );
    let r = response(&answer);
    assert_eq!(r["allowed"], false, "{answer}");
    assert_eq!(r["status"]["code"], 403);
    assert_eq!(
        r["status"]["message"],
        "kubegate could not evaluate Pod shop/api-7d9c5 and denies it (failureMode: deny): evaluation exceeded the 300 ms limit"
    );
    let (_, metrics) = http_get(closed.metrics, "/metrics").await;
    assert!(
        metrics.contains("kubegate_webhook_evaluation_errors_total{cause=\"timeout\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("verdict=\"error_denied\""), "{metrics}");
    closed.stop().await;

    let open = start(|o, d| slow_policy(o, d, "allow")).await;
    let (_, answer) = admit(&open, &review("pod-create-compliant.json")).await;
    let r = response(&answer);
    assert_eq!(r["allowed"], true, "{answer}");
    assert_eq!(
        r["warnings"][0],
        "kubegate did not evaluate this object (failureMode: allow): evaluation exceeded the 300 ms limit"
    );
    open.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_error_follows_the_failure_mode_and_is_counted() {
    // regorus's own limit (policies.timeoutMs) stops the policy first: an evaluation error,
    // not a webhook timeout.
    let server = start(|o, d| {
        slow_policy(o, d, "deny");
        let config = d.join("kubegate.yaml");
        std::fs::write(&config, "policies:\n  timeoutMs: 50\n").expect("config");
        o.eval_timeout = Duration::from_secs(10);
    })
    .await;
    let (_, answer) = admit(&server, &review("pod-create-compliant.json")).await;
    let r = response(&answer);
    assert_eq!(r["allowed"], false, "{answer}");
    let message = r["status"]["message"].as_str().expect("message");
    assert!(
        message.starts_with("kubegate could not evaluate Pod shop/api-7d9c5 and denies it (failureMode: deny): policy main.deny failed on Pod/shop/api-7d9c5"),
        "{message}"
    );
    let (_, metrics) = http_get(server.metrics, "/metrics").await;
    assert!(
        metrics.contains("kubegate_webhook_evaluation_errors_total{cause=\"error\"} 1"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_is_answered_during_shutdown() {
    let server = start(|o, d| {
        slow_policy(o, d, "deny");
        o.eval_timeout = Duration::from_millis(1000);
    })
    .await;
    let tls = connector(&[&server.ca]);
    let addr = server.addr;
    let body = review("pod-create-compliant.json").to_string();
    let pending =
        tokio::spawn(async move { https(addr, &tls, "/validate", body.as_bytes()).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let metrics = server.metrics;
    server.stop().await;
    let (status, text) = pending.await.expect("task").expect("answered");
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("exceeded the 1000 ms limit"), "{text}");
    assert!(
        TcpStream::connect(metrics).await.is_err(),
        "operations port closed after shutdown"
    );
}

/// Lays a policy out the way the kubelet mounts a ConfigMap: files are symlinks through
/// `..data`, which is swapped atomically to a new timestamped directory on each update.
fn configmap_update(dir: &Path, revision: u32, files: &[(&str, &str)]) {
    let version = dir.join(format!("..2026_11_21_{revision:02}"));
    std::fs::create_dir_all(&version).expect("version dir");
    for (name, text) in files {
        std::fs::write(version.join(name), text).expect("write");
        let link = dir.join(name);
        if link.symlink_metadata().is_err() {
            std::os::unix::fs::symlink(Path::new("..data").join(name), &link).expect("symlink");
        }
    }
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(version.file_name().expect("name"), &tmp).expect("symlink");
    std::fs::rename(&tmp, dir.join("..data")).expect("swap");
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_reload_and_a_bad_reload_keeps_the_last_good_set() {
    const ALLOW: &str = "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tinput.kind == \"Nothing\"\n\tmsg := \"never\"\n}\n";
    const DENY: &str = "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tinput.metadata.labels.team == \"payments\"\n\tmsg := \"payments is frozen\"\n}\n";
    const BROKEN: &str = "package main\n\ndeny contains msg if {\n";
    let server = start(|o, dir| {
        let policies = dir.join("policies");
        std::fs::create_dir_all(&policies).expect("dir");
        configmap_update(&policies, 1, &[("freeze.rego", ALLOW)]);
        o.source.policy_paths = vec![policies];
    })
    .await;
    let policies = server._dir.path().join("policies");
    let body = review("pod-create-compliant.json");
    let (_, answer) = admit(&server, &body).await;
    assert_eq!(response(&answer)["allowed"], true);

    configmap_update(&policies, 2, &[("freeze.rego", DENY)]);
    wait_for("the new policy to deny", async || {
        let (_, answer) = admit(&server, &body).await;
        response(&answer)["allowed"] == false
    })
    .await;
    let (_, answer) = admit(&server, &body).await;
    assert!(response(&answer)["status"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("[main.deny] payments is frozen")));

    configmap_update(&policies, 3, &[("freeze.rego", BROKEN)]);
    let metrics = server.metrics;
    wait_for("the failed reload to be counted", async || {
        http_get(metrics, "/metrics")
            .await
            .1
            .contains("kubegate_webhook_reloads_total{what=\"policies\",result=\"failure\"} 1")
    })
    .await;
    let (_, answer) = admit(&server, &body).await;
    assert_eq!(
        response(&answer)["allowed"],
        false,
        "the last good set stays: {answer}"
    );
    assert_eq!(http_get(metrics, "/readyz").await.0, 200);
    let (_, text) = http_get(metrics, "/metrics").await;
    assert!(
        text.contains("kubegate_webhook_reloads_total{what=\"policies\",result=\"success\"} 1"),
        "{text}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_rotate_without_dropped_requests() {
    let server = start(|_, _| {}).await;
    let dir = server._dir.path().to_path_buf();
    let next = generate(&["localhost".into()], 7).expect("certs");
    // Clients trust both CAs during the rotation, as a caBundle with old and new CA does.
    let both = connector(&[&server.ca, &next.ca_cert]);
    let only_new = connector(&[&next.ca_cert]);
    let addr = server.addr;
    let body = review("pod-create-compliant.json").to_string();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let load = {
        let (stop, ok, failed, body) = (stop.clone(), ok.clone(), failed.clone(), body.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                match https(addr, &both, "/validate", body.as_bytes()).await {
                    Ok((200, text)) if text.contains("\"allowed\":true") => {
                        ok.fetch_add(1, Ordering::SeqCst)
                    }
                    _ => failed.fetch_add(1, Ordering::SeqCst),
                };
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(https(addr, &only_new, "/validate", body.as_bytes())
        .await
        .is_err());
    write_certs(&dir, &next);
    wait_for("the new certificate to be served", async || {
        https(addr, &only_new, "/validate", body.as_bytes())
            .await
            .is_ok()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    load.await.expect("load task");
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "no request failed during rotation"
    );
    assert!(ok.load(Ordering::SeqCst) > 5);
    let (_, metrics) = http_get(server.metrics, "/metrics").await;
    assert!(
        metrics.contains("kubegate_webhook_reloads_total{what=\"certificate\",result=\"success\"}"),
        "{metrics}"
    );
    server.stop().await;
}

fn panicking(
    _: &kubegate_webhook::PolicyState,
    request: &kubegate_webhook::admission::Request,
    _: &kubegate_engine::Budget,
) -> Result<kubegate_webhook::admission::Decision, kubegate_engine::Interrupted> {
    if request.name == "boom" {
        panic!("injected evaluation panic");
    }
    Err(kubegate_engine::Interrupted::Deadline)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evaluation_panic_or_an_interrupted_evaluation_is_answered_and_counted() {
    let server = start(|o, _| o.evaluate = panicking).await;
    let (_, metrics) = http_get(server.metrics, "/metrics").await;
    for cause in ["panic", "timeout", "error"] {
        assert!(
            metrics.contains(&format!(
                "kubegate_webhook_evaluation_errors_total{{cause=\"{cause}\"}} 0"
            )),
            "{metrics}"
        );
    }
    let mut boom = review("pod-create-compliant.json");
    boom["request"]["name"] = json!("boom");
    let (status, answer) = admit(&server, &boom).await;
    assert_eq!(status, 200);
    let message = response(&answer)["status"]["message"]
        .as_str()
        .expect("denied per failure mode");
    assert!(message.contains("evaluation panicked"), "{message}");
    let (_, answer) = admit(&server, &review("pod-create-compliant.json")).await;
    assert!(
        response(&answer)["status"]["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("evaluation exceeded the 3000 ms limit")),
        "{answer}"
    );
    let (_, metrics) = http_get(server.metrics, "/metrics").await;
    assert!(metrics.contains("kubegate_webhook_evaluation_errors_total{cause=\"panic\"} 1"));
    assert!(metrics.contains("kubegate_webhook_evaluation_errors_total{cause=\"timeout\"} 1"));
    assert!(metrics.contains("kubegate_webhook_verdicts_total{verdict=\"error_denied\"} 2"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_written_before_its_key_is_retried_until_the_pair_matches() {
    let server = start(|_, _| {}).await;
    let dir = server._dir.path().to_path_buf();
    let next = generate(&["localhost".into()], 7).expect("certs");
    let only_new = connector(&[&next.ca_cert]);
    let old = connector(&[&server.ca]);
    let body = review("pod-create-compliant.json").to_string();
    // The certificate first: it does not match the key in force.
    std::fs::write(dir.join("tls.crt.new"), &next.server_cert).expect("write cert");
    std::fs::rename(dir.join("tls.crt.new"), dir.join("tls.crt")).expect("replace cert");
    let metrics = server.metrics;
    wait_for("the mismatch to be counted", async || {
        !http_get(metrics, "/metrics")
            .await
            .1
            .contains("kubegate_webhook_reloads_total{what=\"certificate\",result=\"mismatch\"} 0")
    })
    .await;
    // Meanwhile the old pair is served.
    let (status, _) = https(server.addr, &old, "/validate", body.as_bytes())
        .await
        .expect("old certificate still served");
    assert_eq!(status, 200);
    // The key replaces the old one whole (write, then rename), as a Secret volume's update
    // does: a reload that read a half-written key would count a failure, not a mismatch.
    std::fs::write(dir.join("tls.key.new"), &next.server_key).expect("write key");
    std::fs::rename(dir.join("tls.key.new"), dir.join("tls.key")).expect("replace key");
    let addr = server.addr;
    wait_for("the new pair to be served", async || {
        https(addr, &only_new, "/validate", body.as_bytes())
            .await
            .is_ok()
    })
    .await;
    let (_, text) = http_get(metrics, "/metrics").await;
    assert!(
        text.contains("kubegate_webhook_reloads_total{what=\"certificate\",result=\"failure\"} 0"),
        "a mismatch is not a failure: {text}"
    );
    assert!(
        text.contains("kubegate_webhook_reloads_total{what=\"certificate\",result=\"success\"} 1"),
        "{text}"
    );
    server.stop().await;
}

/// The value of one counter line (`name{labels} value`) in the metrics text.
fn counter(metrics: &str, line_start: &str) -> u64 {
    metrics
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {line_start} in {metrics}"))
}

/// Clients that take every connection slot and hold it doing nothing: TCP connections that
/// never start TLS, and TLS connections that send their request head a byte every 200 ms
/// (slow loris). Each reconnects as soon as the server closes it, so the slots stay taken.
/// With four slots, every valid review must still be answered, long before the 10 s header
/// timeout would have freed a slot: at the limit the connection idle longest makes room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_loris_and_idle_clients_do_not_starve_the_api_server() {
    let server = start(|o, _| o.max_connections = 4).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hostile_connections = Arc::new(AtomicUsize::new(0));
    let mut hostile = Vec::new();
    for i in 0..4 {
        let (addr, ca) = (server.addr, server.ca.clone());
        let (stop, count) = (Arc::clone(&stop), Arc::clone(&hostile_connections));
        hostile.push(tokio::spawn(async move {
            let tls = connector(&[&ca]);
            while !stop.load(Ordering::SeqCst) {
                let Ok(mut tcp) = TcpStream::connect(addr).await else {
                    continue;
                };
                count.fetch_add(1, Ordering::SeqCst);
                if i % 2 == 0 {
                    // Idle: never a byte. Held until the server closes it.
                    let mut byte = [0u8; 1];
                    let _ = tokio::time::timeout(Duration::from_secs(15), tcp.read(&mut byte))
                        .await;
                    continue;
                }
                let name = ServerName::try_from("localhost").expect("name");
                let Ok(mut stream) = tls.connect(name, tcp).await else {
                    continue;
                };
                let head = b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n";
                for byte in head.iter().cycle().take(200) {
                    if stop.load(Ordering::SeqCst) || stream.write_all(&[*byte]).await.is_err() {
                        break;
                    }
                    let _ = stream.flush().await;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }));
    }
    // Let the hostile clients take every slot.
    wait_for("the hostile clients to connect", async || {
        hostile_connections.load(Ordering::SeqCst) >= 4
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let allowed = review("pod-create-compliant.json");
    let mut slowest = Duration::ZERO;
    for _ in 0..12 {
        let began = Instant::now();
        let (status, answer) = admit(&server, &allowed).await;
        slowest = slowest.max(began.elapsed());
        assert_eq!(status, 200);
        assert_eq!(response(&answer)["allowed"], true, "{answer}");
    }
    assert!(
        slowest < Duration::from_secs(5),
        "a review waited {slowest:?} for a slot (the header timeout is 10 s)"
    );
    let (_, metrics) = http_get(server.metrics, "/metrics").await;
    let evicted = counter(
        &metrics,
        "kubegate_webhook_connections_closed_total{reason=\"evicted\"}",
    );
    eprintln!(
        "slowest review {slowest:?}; {evicted} connections evicted; {} hostile connections",
        hostile_connections.load(Ordering::SeqCst)
    );
    // Room was made by evicting (how many times depends on which connection was idle
    // longest at each arrival: a hostile one, or the previous review's own).
    assert!(evicted >= 1, "{metrics}");
    assert!(
        hostile_connections.load(Ordering::SeqCst) > 4,
        "the hostile clients were made room from, and came back"
    );
    stop.store(true, Ordering::SeqCst);
    for task in hostile {
        task.abort();
    }
    server.stop().await;
}

/// A client that pipelines requests and never reads an answer, with a small receive window:
/// the server's writes block, and after the write timeout the connection is closed and
/// counted; other clients are answered meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_closed_after_the_write_timeout() {
    let server = start(|o, d| {
        with_policies(o, d);
        o.write_timeout = Duration::from_millis(500);
    })
    .await;
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let tcp = socket.connect(server.addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let stream = connector(&[&server.ca])
        .connect(name, tcp)
        .await
        .expect("TLS");
    let (_unread, mut writer) = tokio::io::split(stream);
    let body = review("pod-create-privileged.json").to_string();
    let request = format!(
        "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let writer = tokio::spawn(async move {
        // Pipelined denials (each answer a few KB) until the server stops reading.
        for _ in 0..2000 {
            if writer.write_all(request.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    wait_for("the stalled connection to be closed", async || {
        let (_, metrics) = http_get(server.metrics, "/metrics").await;
        counter(
            &metrics,
            "kubegate_webhook_connections_closed_total{reason=\"write_stall\"}",
        ) >= 1
    })
    .await;
    let (status, answer) = admit(&server, &review("pod-create-compliant.json")).await;
    assert_eq!(status, 200);
    assert_eq!(response(&answer)["allowed"], true, "{answer}");
    writer.abort();
    server.stop().await;
}

fn with_vap(options: &mut ServeOptions, dir: &Path, enabled: bool) {
    let policies = dir.join("vap");
    std::fs::create_dir_all(&policies).expect("policy dir");
    std::fs::write(
        policies.join("reserved.yaml"),
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n\
         metadata: {name: reserved-names}\nspec:\n  matchConstraints:\n    resourceRules:\n\
         \x20   - {apiGroups: [\"\"], apiVersions: [v1], operations: [CREATE], resources: [pods]}\n\
         \x20 validations:\n  - expression: \"!object.metadata.name.startsWith('api-')\"\n\
         \x20   messageExpression: \"'api- names are reserved; asked by ' + request.userInfo.username\"\n\
         ---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\n\
         metadata: {name: reserved-names}\nspec:\n  policyName: reserved-names\n  validationActions: [Deny]\n",
    )
    .expect("policy");
    let config = dir.join("kubegate.yaml");
    std::fs::write(
        &config,
        format!("webhook:\n  validatingAdmissionPolicies: {enabled}\n"),
    )
    .expect("config");
    options.source = PolicySource {
        config: Some(config),
        policy_paths: vec![policies],
        own_namespace: None,
        crd_paths: Vec::new(),
    };
}

/// VAPs run in the webhook only when the configuration enables them, and then see the real
/// request (here its user), not the CLI's stand-in CREATE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validating_admission_policies_run_only_when_enabled() {
    let on = start(|o, d| with_vap(o, d, true)).await;
    let (_, answer) = admit(&on, &review("pod-create-compliant.json")).await;
    let r = response(&answer);
    assert_eq!(r["allowed"], false, "{answer}");
    let message = r["status"]["message"].as_str().expect("message");
    assert!(
        message.contains(
            "ValidatingAdmissionPolicy 'reserved-names' with binding 'reserved-names' denied \
             request: api- names are reserved; asked by alice@example.com"
        ),
        "{message}"
    );
    on.stop().await;

    let off = start(|o, d| with_vap(o, d, false)).await;
    let (_, answer) = admit(&off, &review("pod-create-compliant.json")).await;
    assert_eq!(response(&answer)["allowed"], true, "{answer}");
    off.stop().await;
}

/// A stand-in for the Kubernetes API server's Namespace endpoints, over TLS: lists in pages of
/// two (whatever `limit` asks, as a server may), and watches that answer with the events queued
/// since the last one (or nothing after 300 ms), as a watch the server ends. It can fail lists
/// and expire a watch (410), and it records the bearer tokens it was sent.
struct FakeApi {
    addr: SocketAddr,
    ca: String,
    state: Arc<std::sync::Mutex<ApiState>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

#[derive(Default)]
struct ApiState {
    namespaces: Vec<Value>,
    version: u64,
    /// Watch events not yet sent.
    events: Vec<Value>,
    /// Lists to answer 500 before answering.
    failing_lists: usize,
    /// The next watch answers 410 Gone.
    expire_watch: bool,
    lists: usize,
    tokens: Vec<String>,
}

impl ApiState {
    fn namespace(&mut self, name: &str, env: &str) -> Value {
        self.version += 1;
        json!({"metadata": {"name": name, "labels": {"env": env,
            "kubernetes.io/metadata.name": name}, "resourceVersion": self.version.to_string(),
            "managedFields": [{"manager": "kubectl"}]},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
    }

    /// Adds or relabels a namespace, and queues the watch event.
    fn set(&mut self, name: &str, env: &str) {
        let object = self.namespace(name, env);
        let kind = match self
            .namespaces
            .iter()
            .position(|n| n["metadata"]["name"] == name)
        {
            Some(i) => {
                self.namespaces[i] = object.clone();
                "MODIFIED"
            }
            None => {
                self.namespaces.push(object.clone());
                "ADDED"
            }
        };
        self.events.push(json!({"type": kind, "object": object}));
    }
}

impl FakeApi {
    async fn start(namespaces: &[(&str, &str)]) -> Self {
        use hyper::service::service_fn;
        let dir = tempfile::tempdir().expect("tempdir");
        let certs = generate(&["localhost".into(), "127.0.0.1".into()], 7).expect("certs");
        let (cert, key) = write_certs(dir.path(), &certs);
        let reloading =
            Arc::new(kubegate_webhook::tls::ReloadingCert::load(&cert, &key).expect("cert"));
        let config = kubegate_webhook::tls::server_config(reloading).expect("TLS config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut initial = ApiState::default();
        for (name, env) in namespaces {
            let object = initial.namespace(name, env);
            initial.namespaces.push(object);
        }
        let state = Arc::new(std::sync::Mutex::new(initial));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = service_fn(
                        move |request: hyper::Request<hyper::body::Incoming>| {
                            let state = Arc::clone(&state);
                            async move { Ok::<_, std::convert::Infallible>(api(request, state).await) }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        FakeApi {
            addr,
            ca: certs.ca_cert,
            state,
            task,
            _dir: dir,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut ApiState) -> T) -> T {
        f(&mut self.state.lock().expect("state"))
    }
}

async fn api(
    request: hyper::Request<hyper::body::Incoming>,
    state: Arc<std::sync::Mutex<ApiState>>,
) -> hyper::Response<http_body_util::Full<hyper::body::Bytes>> {
    let reply = |status: u16, body: String| {
        hyper::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
            .expect("response")
    };
    let token = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    if request.uri().path() != "/api/v1/namespaces" {
        return reply(404, "{}".into());
    }
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .map(str::to_owned)
    };
    if param("watch").as_deref() == Some("true") {
        let deadline = Instant::now() + Duration::from_millis(300);
        loop {
            {
                let mut s = state.lock().expect("state");
                s.tokens.push(token.clone());
                if s.expire_watch {
                    s.expire_watch = false;
                    let gone = json!({"type": "ERROR", "object": {"kind": "Status",
                        "apiVersion": "v1", "status": "Failure", "reason": "Expired",
                        "message": "too old resource version", "code": 410}});
                    return reply(200, format!("{gone}\n"));
                }
                if !s.events.is_empty() || Instant::now() > deadline {
                    let lines: String = s.events.drain(..).map(|e| format!("{e}\n")).collect();
                    return reply(200, lines);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut s = state.lock().expect("state");
    s.tokens.push(token);
    if s.failing_lists > 0 {
        s.failing_lists -= 1;
        return reply(
            500,
            r#"{"kind":"Status","code":500,"message":"etcd is unhappy"}"#.into(),
        );
    }
    s.lists += 1;
    // Pages of two; the continue token is the next index.
    let start: usize = param("continue").and_then(|c| c.parse().ok()).unwrap_or(0);
    let page: Vec<Value> = s.namespaces.iter().skip(start).take(2).cloned().collect();
    let more = start + 2 < s.namespaces.len();
    let list = json!({"kind": "NamespaceList", "apiVersion": "v1", "items": page,
        "metadata": {"resourceVersion": s.version.to_string(),
            "continue": if more { (start + 2).to_string() } else { String::new() }}});
    reply(200, list.to_string())
}

/// A Pod creation in `namespace` without an owner label (the constraint's business only in
/// namespaces labelled env=prod).
fn pod_in(namespace: &str) -> Value {
    let mut r = review("pod-create-compliant.json");
    r["request"]["namespace"] = json!(namespace);
    r["request"]["object"]["metadata"]["namespace"] = json!(namespace);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_selectors_are_judged_from_the_namespace_cache() {
    let api = FakeApi::start(&[("shop", "prod"), ("dev", "dev"), ("ops", "prod")]).await;
    // The first list fails: the webhook is not ready until a retried list succeeds.
    api.with(|s| s.failing_lists = 1);
    let (api_addr, api_ca) = (api.addr, api.ca.clone());
    let server = start(move |options, dir| {
        let ca = dir.join("kube-ca.crt");
        std::fs::write(&ca, &api_ca).expect("write");
        let token = dir.join("token");
        std::fs::write(&token, "test-token\n").expect("write");
        let config = dir.join("kubegate.yaml");
        std::fs::write(&config, "webhook:\n  failureMode: deny\n").expect("write");
        options.source = PolicySource {
            config: Some(config),
            policy_paths: vec![testdata("admission/namespace-policy")],
            own_namespace: Some("kubegate-system".into()),
            crd_paths: Vec::new(),
        };
        options.namespace_cache = Some(
            kubegate_webhook::namespaces::KubeClient::new(
                &format!("https://localhost:{}", api_addr.port()),
                &ca,
                Some(token),
            )
            .expect("client"),
        );
    })
    .await;
    let ready = || async { http_get(server.metrics, "/readyz").await.0 };
    assert_eq!(ready().await, 503, "not ready before the first list");
    wait_for("the namespace cache to sync", async || ready().await == 200).await;
    let metrics = http_get(server.metrics, "/metrics").await.1;
    for line in [
        "kubegate_webhook_namespace_cache_synced 1",
        "kubegate_webhook_namespace_cache_namespaces 3",
        "kubegate_webhook_namespace_cache_list_errors_total 1",
        "kubegate_webhook_evaluation_errors_total{cause=\"undecided\"} 0",
    ] {
        assert!(metrics.contains(line), "missing {line}:\n{metrics}");
    }
    // Listed in two pages, with the token from the file.
    assert!(api.with(|s| s.tokens.iter().all(|t| t == "Bearer test-token")));

    let verdict = |namespace: &'static str| {
        let server = &server;
        async move {
            let (status, answer) = admit(server, &pod_in(namespace)).await;
            assert_eq!(status, 200);
            let r = response(&answer).clone();
            (
                r["allowed"].as_bool().expect("allowed"),
                r["status"]["message"].as_str().unwrap_or("").to_owned(),
            )
        }
    };
    // env=prod (on the second page too): the constraint applies; env=dev: it does not.
    let (allowed, message) = verdict("shop").await;
    assert!(!allowed);
    assert!(
        message.contains("[K8sRequiredOwner.prod-needs-owner] Pod ")
            && message.contains(" needs an owner label in a production namespace"),
        "{message}"
    );
    assert!(!verdict("ops").await.0);
    assert!(verdict("dev").await.0);

    // A namespace the cache does not hold: the constraint cannot be decided, and the failure
    // mode (deny here) answers, counted.
    let (allowed, message) = verdict("ghost").await;
    assert!(!allowed);
    assert!(
        message.contains("could not evaluate") && message.contains("namespace \"ghost\""),
        "{message}"
    );
    assert!(http_get(server.metrics, "/metrics")
        .await
        .1
        .contains("kubegate_webhook_evaluation_errors_total{cause=\"undecided\"} 1"));

    // The watch relabels dev as production: its pods now need an owner.
    api.with(|s| s.set("dev", "prod"));
    wait_for("the watch to relabel dev", async || !verdict("dev").await.0).await;

    // The watch expires (410); the cache lists again and finds ghost, created meanwhile.
    api.with(|s| {
        s.expire_watch = true;
        let object = s.namespace("ghost", "dev");
        s.namespaces.push(object);
    });
    wait_for("a new list after 410", async || verdict("ghost").await.0).await;
    assert!(api.with(|s| s.lists) >= 2);
    let metrics = http_get(server.metrics, "/metrics").await.1;
    assert!(
        metrics.contains("kubegate_webhook_namespace_cache_relists_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("kubegate_webhook_namespace_cache_namespaces 4"));
    server.stop().await;
    api.task.abort();
}
