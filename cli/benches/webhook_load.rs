//! Load benchmark for the admission webhook: the real `kubegate webhook serve` binary, over TLS
//! on loopback, with the built-in rules plus 30 Gatekeeper ConstraintTemplates loaded.
//!
//! ```text
//! cargo bench -p kubegate --bench webhook_load            # both phases, 10 s each
//! KUBEGATE_LOAD_SECONDS=30 KUBEGATE_LOAD_RATE=1000 KUBEGATE_LOAD_CONNECTIONS=8 \
//!   KUBEGATE_LOAD_SERVER_ARGS="--max-concurrency 2" cargo bench -p kubegate --bench webhook_load
//! ```
//!
//! `KUBEGATE_LOAD_POLICIES=vap` loads 30 ValidatingAdmissionPolicies (run by the webhook)
//! instead of the 30 Gatekeeper templates.
//!
//! Phase 1 sends a fixed rate (open loop: each request has a scheduled start and latency is
//! measured from it, so a stalled server cannot hide its queue) and reports p50/p99/max.
//! Phase 2 saturates the server with closed-loop connections and reports throughput.
//! The server's peak RSS (VmHWM) is read from /proc at the end. Client and server share the
//! machine's cores, so saturated figures are a lower bound for a dedicated server.

use rustls_pki_types::ServerName;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Tls = tokio_rustls::client::TlsStream<TcpStream>;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        // `cargo bench -- --list` and `cargo test --benches` probe the harness.
        return;
    }
    let seconds: u64 = env("KUBEGATE_LOAD_SECONDS", 10);
    let rate: u64 = env("KUBEGATE_LOAD_RATE", 1000);
    let connections = usize::try_from(env("KUBEGATE_LOAD_CONNECTIONS", 8))
        .unwrap_or(8)
        .max(1);

    let dir = tempfile::tempdir().expect("tempdir");
    let certs = dir.path().join("certs");
    let out = Command::new(env!("CARGO_BIN_EXE_kubegate"))
        .args(["webhook", "certs", "--san", "localhost", "--out-dir"])
        .arg(&certs)
        .output()
        .expect("kubegate webhook certs");
    assert!(out.status.success());
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).expect("mkdir");
    // KUBEGATE_LOAD_POLICIES=vap loads 30 ValidatingAdmissionPolicies (and turns on
    // `webhook.validatingAdmissionPolicies`) instead of the 30 Gatekeeper templates.
    let vaps = std::env::var("KUBEGATE_LOAD_POLICIES").is_ok_and(|p| p == "vap");
    let generated = if vaps {
        kubegate_engine::corpus::validating_admission_policies(30)
    } else {
        kubegate_engine::corpus::gatekeeper_policies(30)
    };
    for (name, text) in generated {
        std::fs::write(policies.join(name), text).expect("write policy");
    }
    let config = dir.path().join("kubegate.yaml");
    std::fs::write(
        &config,
        format!("webhook:\n  validatingAdmissionPolicies: {vaps}\n"),
    )
    .expect("write config");
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
        .arg("--policy")
        .arg(&policies)
        .arg("--config")
        .arg(&config)
        .args(
            std::env::var("KUBEGATE_LOAD_SERVER_ARGS")
                .unwrap_or_default()
                .split_whitespace(),
        )
        .env("KUBEGATE_LOG", "warn,kubegate_webhook::server=info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubegate webhook serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr: SocketAddr = loop {
        let line = lines.next().expect("server log").expect("read");
        let log: serde_json::Value = serde_json::from_str(&line).expect("JSON log");
        if let Some(a) = log["fields"]["addr"].as_str() {
            break a.parse().expect("addr");
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    let rss = |when: &str| {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
        for line in status
            .lines()
            .filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS"))
        {
            println!(
                "server {when}: {}",
                line.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
    };
    rss("after start");
    let bodies: Vec<Vec<u8>> = [
        "pod-create-compliant.json",
        "pod-create-privileged.json",
        "deployment-create-dryrun.json",
        "cronjob-create-hostpath.json",
    ]
    .iter()
    .map(|f| {
        let text = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/admission/reviews").join(f),
        )
        .expect("fixture");
        let head = format!(
            "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            text.len()
        );
        [head.into_bytes(), text].concat()
    })
    .collect();
    let bodies = Arc::new(bodies);
    let connector = connector(&certs.join("ca.crt"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // Warm-up: every connection's handshake, the server's policy workers.
        fixed_rate(addr, &connector, &bodies, connections, 200, Duration::from_secs(1)).await;
        let mut latencies =
            fixed_rate(addr, &connector, &bodies, connections, rate, Duration::from_secs(seconds)).await;
        latencies.sort_unstable();
        let pct = |p: f64| {
            let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
            latencies.get(i).copied().unwrap_or_default()
        };
        println!(
            "fixed rate {rate}/s for {seconds} s: {} reviews, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            latencies.len(),
            ms(pct(0.50)),
            ms(pct(0.99)),
            ms(latencies.last().copied().unwrap_or_default())
        );
        let (done, elapsed) =
            saturate(addr, &connector, &bodies, connections, Duration::from_secs(seconds)).await;
        println!(
            "saturated with {connections} connections for {seconds} s: {done} reviews, {:.0} reviews/s",
            done as f64 / elapsed.as_secs_f64()
        );
    });
    rss("after load");
    let _ = child.kill();
    let _ = child.wait();
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn connector(ca: &Path) -> tokio_rustls::TlsConnector {
    let pem = std::fs::read(ca).expect("ca.crt");
    let config = kubegate_webhook::tls::client_config(&pem).expect("CA bundle");
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

async fn connect(addr: SocketAddr, connector: &tokio_rustls::TlsConnector) -> Tls {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    let name = ServerName::try_from("localhost").expect("name");
    connector.connect(name, tcp).await.expect("TLS")
}

/// One request on a kept-alive connection; panics on anything but a 200 with an answer.
async fn exchange(stream: &mut Tls, request: &[u8], buffer: &mut Vec<u8>) {
    stream.write_all(request).await.expect("write");
    buffer.clear();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "server closed the connection");
        buffer.extend_from_slice(&chunk[..n]);
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("content-length");
        if buffer.len() >= end + 4 + length {
            return;
        }
    }
}

/// `rate` requests per second spread over `connections`, each scheduled in advance; returns
/// each request's latency from its scheduled start.
async fn fixed_rate(
    addr: SocketAddr,
    connector: &tokio_rustls::TlsConnector,
    bodies: &Arc<Vec<Vec<u8>>>,
    connections: usize,
    rate: u64,
    duration: Duration,
) -> Vec<Duration> {
    let total = rate * duration.as_secs();
    let interval = Duration::from_secs_f64(connections as f64 / rate as f64);
    let start = Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let mut stream = connect(addr, connector).await;
        let bodies = Arc::clone(bodies);
        let offset = Duration::from_secs_f64(c as f64 / rate as f64);
        let count = total / connections as u64;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(count as usize);
            let mut buffer = Vec::new();
            for i in 0..count {
                let scheduled = start + offset + interval * i as u32;
                tokio::time::sleep_until(scheduled.into()).await;
                let body = &bodies[(i as usize + c) % bodies.len()];
                exchange(&mut stream, body, &mut buffer).await;
                latencies.push(scheduled.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all
}

/// Closed loop: each connection sends its next request as soon as the answer arrives.
async fn saturate(
    addr: SocketAddr,
    connector: &tokio_rustls::TlsConnector,
    bodies: &Arc<Vec<Vec<u8>>>,
    connections: usize,
    duration: Duration,
) -> (u64, Duration) {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..connections {
        let mut stream = connect(addr, connector).await;
        let (bodies, done, stop) = (Arc::clone(bodies), Arc::clone(&done), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let mut buffer = Vec::new();
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                exchange(&mut stream, &bodies[i % bodies.len()], &mut buffer).await;
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let count = done.load(Ordering::Relaxed);
    for t in tasks {
        t.await.expect("task");
    }
    (count, elapsed)
}
