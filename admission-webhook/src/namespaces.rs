//! The webhook's cache of the cluster's Namespaces. An AdmissionReview names the object's
//! namespace but not its labels, so a Gatekeeper constraint with `match.namespaceSelector` (or
//! a ValidatingAdmissionPolicy reading `namespaceObject`) cannot be judged from the request
//! alone; Gatekeeper answers from its own cache of Namespaces, and so does kubegate.
//!
//! The cache lists `/api/v1/namespaces` (in pages) and then watches it from the list's
//! `resourceVersion`, with bookmarks, re-watching when a watch ends and listing again when the
//! server says the version is gone (410). It talks to the API server itself, over HTTPS with
//! the pod's service account (in-cluster: `KUBERNETES_SERVICE_HOST`/`_PORT`, the token and CA
//! under `/var/run/secrets/kubernetes.io/serviceaccount`; the token file is re-read on each
//! connection, as bound tokens rotate). A client of two requests did not justify the `kube`
//! crate's build (docs/decisions.md).
//!
//! Until the first list has succeeded the cache is not synced and `/readyz` answers 503; a
//! request whose namespace the cache does not hold is judged without it, and a constraint that
//! then cannot be decided follows the failure mode (admission.rs).

use hyper::body::Bytes;
use hyper::body::Incoming;
use hyper::{header, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use kubegate_engine::{Manifest, Source};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpStream;

/// The largest list page or watch event read (a Namespace is a few KiB).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// The largest watch event line.
const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;
/// Items per list page.
const PAGE: usize = 500;
/// How long a watch may stay open before the server ends it (a fresh watch follows).
const WATCH_SECONDS: u64 = 300;
/// The longest wait between failed attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

const SERVICE_ACCOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error(
        "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set"
    )]
    NotInCluster,
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid API server address {0:?}")]
    Address(String),
    #[error("CA bundle: {0}")]
    Tls(String),
    #[error("connecting to the API server: {0}")]
    Connect(std::io::Error),
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("{0}")]
    Request(String),
    #[error("the API server answered {status} to {path}: {body}")]
    Status {
        status: StatusCode,
        path: String,
        body: String,
    },
    #[error("the resource version is gone (410): listing again")]
    Gone,
    #[error("unreadable answer to {path}: {why}")]
    Decode { path: String, why: String },
}

/// Where the Kubernetes API is and how to authenticate to it.
#[derive(Debug, Clone)]
pub struct KubeClient {
    host: String,
    port: u16,
    tls: Arc<rustls::ClientConfig>,
    /// The bearer token file, read on every connection; `None`: no token.
    token_file: Option<PathBuf>,
}

impl KubeClient {
    /// The in-cluster client: the API server's service address and the pod's service account.
    pub fn in_cluster() -> Result<Self, NamespaceError> {
        let (Ok(host), Ok(port)) = (
            std::env::var("KUBERNETES_SERVICE_HOST"),
            std::env::var("KUBERNETES_SERVICE_PORT"),
        ) else {
            return Err(NamespaceError::NotInCluster);
        };
        let url = if host.contains(':') {
            format!("https://[{host}]:{port}")
        } else {
            format!("https://{host}:{port}")
        };
        let dir = PathBuf::from(SERVICE_ACCOUNT);
        Self::new(&url, &dir.join("ca.crt"), Some(dir.join("token")))
    }

    /// A client for `url` (`https://host:port`), trusting the CA bundle at `ca`.
    pub fn new(
        url: &str,
        ca: &std::path::Path,
        token_file: Option<PathBuf>,
    ) -> Result<Self, NamespaceError> {
        let rest = url
            .strip_prefix("https://")
            .ok_or_else(|| NamespaceError::Address(url.to_owned()))?
            .trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                h.trim_start_matches('[').trim_end_matches(']').to_owned(),
                p.parse()
                    .map_err(|_| NamespaceError::Address(url.to_owned()))?,
            ),
            _ => (rest.to_owned(), 443),
        };
        if host.is_empty() {
            return Err(NamespaceError::Address(url.to_owned()));
        }
        let pem = std::fs::read(ca).map_err(|source| NamespaceError::Read {
            path: ca.display().to_string(),
            source,
        })?;
        let tls =
            crate::tls::client_config(&pem).map_err(|e| NamespaceError::Tls(e.to_string()))?;
        Ok(KubeClient {
            host,
            port,
            tls: Arc::new(tls),
            token_file,
        })
    }

    /// `GET path` on a new connection; the response's body streams.
    async fn get(&self, path: &str) -> Result<Response<Incoming>, NamespaceError> {
        let token = match &self.token_file {
            Some(file) => Some(
                std::fs::read_to_string(file)
                    .map_err(|source| NamespaceError::Read {
                        path: file.display().to_string(),
                        source,
                    })?
                    .trim()
                    .to_owned(),
            ),
            None => None,
        };
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(NamespaceError::Connect)?;
        let _ = tcp.set_nodelay(true);
        let name = rustls_pki_types::ServerName::try_from(self.host.clone())
            .map_err(|_| NamespaceError::Address(self.host.clone()))?;
        let stream = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls))
            .connect(name, tcp)
            .await
            .map_err(NamespaceError::Connect)?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("namespace cache: connection ended: {e}");
            }
        });
        let mut request = Request::get(path)
            .header(header::HOST, format!("{}:{}", self.host, self.port))
            .header(header::ACCEPT, "application/json")
            .header(
                header::USER_AGENT,
                concat!("kubegate-webhook/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(http_body_util::Empty::<Bytes>::new())
            .map_err(|e| NamespaceError::Request(e.to_string()))?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        if status == StatusCode::GONE {
            return Err(NamespaceError::Gone);
        }
        if !status.is_success() {
            let body = read_all(response.into_body(), 64 * 1024)
                .await
                .map(|b| String::from_utf8_lossy(&b).chars().take(300).collect())
                .unwrap_or_default();
            return Err(NamespaceError::Status {
                status,
                path: path.to_owned(),
                body,
            });
        }
        Ok(response)
    }
}

async fn read_all(mut body: Incoming, limit: usize) -> Result<Vec<u8>, NamespaceError> {
    use http_body_util::BodyExt;
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            if out.len() + data.len() > limit {
                return Err(NamespaceError::Request(format!(
                    "answer larger than {limit} bytes"
                )));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

/// What the cache knows of a namespace.
#[derive(Debug, Clone)]
pub enum Lookup {
    Found(Arc<Manifest>),
    /// Synced, and the cluster has no such namespace (or the watch has not shown it yet).
    Absent,
    /// The first list has not succeeded yet.
    Unsynced,
}

#[derive(Debug, Default)]
struct Inner {
    namespaces: HashMap<String, Arc<Manifest>>,
    synced: bool,
}

/// The Namespaces of the cluster, kept current by [`NamespaceCache::run`].
#[derive(Debug, Default)]
pub struct NamespaceCache {
    inner: RwLock<Inner>,
    list_errors: AtomicU64,
    watch_errors: AtomicU64,
    relists: AtomicU64,
}

impl NamespaceCache {
    pub fn lookup(&self, name: &str) -> Lookup {
        let Ok(inner) = self.inner.read() else {
            return Lookup::Unsynced;
        };
        if !inner.synced {
            return Lookup::Unsynced;
        }
        match inner.namespaces.get(name) {
            Some(ns) => Lookup::Found(Arc::clone(ns)),
            None => Lookup::Absent,
        }
    }

    /// Whether the first list has succeeded.
    pub fn synced(&self) -> bool {
        self.inner.read().is_ok_and(|i| i.synced)
    }

    pub fn len(&self) -> usize {
        self.inner.read().map(|i| i.namespaces.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cache's series in the Prometheus text format, appended to `out`.
    pub fn render_metrics(&self, out: &mut String) {
        let series = [
            (
                "kubegate_webhook_namespace_cache_synced",
                "gauge",
                "1 once the first list of Namespaces succeeded; 0 before (the webhook is not ready).",
                u64::from(self.synced()),
            ),
            (
                "kubegate_webhook_namespace_cache_namespaces",
                "gauge",
                "Namespaces in the cache.",
                u64::try_from(self.len()).unwrap_or(u64::MAX),
            ),
            (
                "kubegate_webhook_namespace_cache_list_errors_total",
                "counter",
                "Failed lists of Namespaces (retried with backoff).",
                self.list_errors.load(Ordering::Relaxed),
            ),
            (
                "kubegate_webhook_namespace_cache_watch_errors_total",
                "counter",
                "Failed watches of Namespaces (followed by a new list).",
                self.watch_errors.load(Ordering::Relaxed),
            ),
            (
                "kubegate_webhook_namespace_cache_relists_total",
                "counter",
                "Lists again because the watched resource version expired (410 Gone).",
                self.relists.load(Ordering::Relaxed),
            ),
        ];
        for (name, kind, help, value) in series {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
    }

    fn replace(&self, namespaces: HashMap<String, Arc<Manifest>>) {
        if let Ok(mut inner) = self.inner.write() {
            inner.namespaces = namespaces;
            inner.synced = true;
        }
    }

    fn apply(&self, event: &str, object: &Value) {
        let Some(name) = object.pointer("/metadata/name").and_then(Value::as_str) else {
            return;
        };
        let Ok(mut inner) = self.inner.write() else {
            return;
        };
        match event {
            "ADDED" | "MODIFIED" => {
                if let Some(ns) = namespace(object) {
                    inner.namespaces.insert(name.to_owned(), ns);
                }
            }
            "DELETED" => {
                inner.namespaces.remove(name);
            }
            _ => {}
        }
    }

    /// Keeps the cache current until the task is dropped: list, then watch; on any failure,
    /// wait (1 s doubling to 30 s) and list again. Errors are logged and counted.
    pub async fn run(self: Arc<Self>, client: KubeClient) {
        let mut backoff = Duration::from_secs(1);
        loop {
            match self.list(&client).await {
                Ok(mut version) => {
                    backoff = Duration::from_secs(1);
                    tracing::info!(namespaces = self.len(), "namespace cache synced");
                    loop {
                        match self.watch(&client, &version).await {
                            Ok(next) => version = next,
                            Err(NamespaceError::Gone) => {
                                self.relists.fetch_add(1, Ordering::Relaxed);
                                tracing::info!(
                                    "namespace cache: watch expired (410), listing again"
                                );
                                break;
                            }
                            Err(e) => {
                                self.watch_errors.fetch_add(1, Ordering::Relaxed);
                                tracing::warn!("namespace cache: watch failed, listing again: {e}");
                                tokio::time::sleep(backoff).await;
                                break;
                            }
                        }
                    }
                }
                Err(e) => {
                    self.list_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        synced = self.synced(),
                        "namespace cache: listing namespaces failed (retrying in {} s): {e}",
                        backoff.as_secs()
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Lists every Namespace, page by page, and replaces the cache; returns the list's
    /// resource version.
    async fn list(&self, client: &KubeClient) -> Result<String, NamespaceError> {
        let mut all = HashMap::new();
        let mut token: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/namespaces?limit={PAGE}");
            if let Some(t) = &token {
                path.push_str("&continue=");
                path.push_str(&percent_encode(t));
            }
            let body = read_all(client.get(&path).await?.into_body(), MAX_BODY_BYTES).await?;
            let list: Value =
                serde_json::from_slice(&body).map_err(|e| NamespaceError::Decode {
                    path: path.clone(),
                    why: e.to_string(),
                })?;
            let items = list.get("items").and_then(Value::as_array).ok_or_else(|| {
                NamespaceError::Decode {
                    path: path.clone(),
                    why: "no items".to_owned(),
                }
            })?;
            for item in items {
                if let (Some(name), Some(ns)) = (
                    item.pointer("/metadata/name").and_then(Value::as_str),
                    namespace(item),
                ) {
                    all.insert(name.to_owned(), ns);
                }
            }
            let meta = list.get("metadata");
            match meta
                .and_then(|m| m.get("continue"))
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            {
                Some(t) => token = Some(t.to_owned()),
                None => {
                    let version = meta
                        .and_then(|m| m.get("resourceVersion"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    self.replace(all);
                    return Ok(version);
                }
            }
        }
    }

    /// Watches from `version` until the server ends the watch; returns the last version seen.
    async fn watch(&self, client: &KubeClient, version: &str) -> Result<String, NamespaceError> {
        use http_body_util::BodyExt;
        let path = format!(
            "/api/v1/namespaces?watch=true&allowWatchBookmarks=true&timeoutSeconds={WATCH_SECONDS}&resourceVersion={}",
            percent_encode(version)
        );
        let mut body = client.get(&path).await?.into_body();
        let mut version = version.to_owned();
        let mut line: Vec<u8> = Vec::new();
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame?.into_data() else {
                continue;
            };
            for chunk in data.split_inclusive(|b| *b == b'\n') {
                line.extend_from_slice(chunk);
                if line.len() > MAX_EVENT_BYTES {
                    return Err(NamespaceError::Decode {
                        path,
                        why: format!("a watch event longer than {MAX_EVENT_BYTES} bytes"),
                    });
                }
                if line.last() != Some(&b'\n') {
                    continue;
                }
                let text = std::mem::take(&mut line);
                if text.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let event: Value =
                    serde_json::from_slice(&text).map_err(|e| NamespaceError::Decode {
                        path: path.clone(),
                        why: e.to_string(),
                    })?;
                let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
                let object = event.get("object").unwrap_or(&Value::Null);
                if kind == "ERROR" {
                    let code = object.get("code").and_then(Value::as_u64);
                    if code == Some(410) {
                        return Err(NamespaceError::Gone);
                    }
                    return Err(NamespaceError::Decode {
                        path,
                        why: format!("watch error: {object}"),
                    });
                }
                if let Some(v) = object
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                {
                    v.clone_into(&mut version);
                }
                self.apply(kind, object);
            }
        }
        Ok(version)
    }
}

/// A Namespace as the cache keeps it: kind, name, labels, annotations, spec and status (not
/// `managedFields`), as a manifest the engine's inventory can hold.
fn namespace(item: &Value) -> Option<Arc<Manifest>> {
    let name = item.pointer("/metadata/name").and_then(Value::as_str)?;
    let mut metadata = Map::new();
    for key in ["name", "labels", "annotations", "uid", "resourceVersion"] {
        if let Some(v) = item.pointer(&format!("/metadata/{key}")) {
            metadata.insert(key.to_owned(), v.clone());
        }
    }
    let mut object = Map::new();
    object.insert("apiVersion".into(), "v1".into());
    object.insert("kind".into(), "Namespace".into());
    object.insert("metadata".into(), Value::Object(metadata));
    for key in ["spec", "status"] {
        if let Some(v) = item.get(key) {
            object.insert(key.to_owned(), v.clone());
        }
    }
    Manifest::from_value(
        Value::Object(object),
        Source::Admission(format!("Namespace {name} (cluster)")),
    )
    .ok()
    .map(Arc::new)
}

/// Percent-encodes a query value (continue tokens are base64 with `=`, `+`, `/`).
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_with_and_without_ports() {
        let dir = tempfile::tempdir().expect("tempdir");
        let certs = crate::tls::generate(&["localhost".to_owned()], 30).expect("certs");
        let ca = dir.path().join("ca.crt");
        std::fs::write(&ca, certs.ca_cert.as_bytes()).expect("write");
        let c = KubeClient::new("https://10.96.0.1:443", &ca, None).expect("client");
        assert_eq!((c.host.as_str(), c.port), ("10.96.0.1", 443));
        let c = KubeClient::new("https://[fd00::1]:6443", &ca, None).expect("client");
        assert_eq!((c.host.as_str(), c.port), ("fd00::1", 6443));
        let c = KubeClient::new("https://api.example.com", &ca, None).expect("client");
        assert_eq!((c.host.as_str(), c.port), ("api.example.com", 443));
        assert!(KubeClient::new("http://api.example.com", &ca, None).is_err());
    }

    #[test]
    fn continue_tokens_are_encoded() {
        assert_eq!(percent_encode("eyJ2Ijo=+/x"), "eyJ2Ijo%3D%2B%2Fx");
    }
}
