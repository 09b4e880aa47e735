//! The HTTPS server (`POST /validate`), the plain-HTTP operations server (`/healthz`,
//! `/readyz`, `/metrics`), hot reload and graceful shutdown.

use crate::admission::{self, Evaluate, Request, Verdict};
use crate::metrics::Metrics;
use crate::namespaces::NamespaceCache;
use crate::policy::{fingerprint, PolicySource, PolicyState};
use crate::slots::{Eviction, Held, Slot, Slots};
use crate::tls::{self, ReloadingCert};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use kubegate_engine::{Budget, Enforcement};
use serde_json::json;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::Instrument;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub source: PolicySource,
    /// Largest request body accepted (larger: 413).
    pub max_body_bytes: usize,
    /// Time limit for one review, queueing included (then the failure mode answers).
    pub eval_timeout: Duration,
    /// Reviews evaluated at once (each takes a CPU); more wait for a slot.
    pub max_concurrency: usize,
    /// How often policy, configuration and certificate files are checked for changes.
    pub reload_interval: Duration,
    /// How long shutdown waits for in-flight requests.
    pub drain_timeout: Duration,
    /// How long a request body may take to arrive (the API server sends it at once).
    pub body_timeout: Duration,
    /// After SIGTERM, how long to keep serving (with `/readyz` answering 503) before
    /// accepting stops: the API server and Service endpoints learn of the stop late.
    pub shutdown_delay: Duration,
    /// TLS connections open at once. At the limit, a new client takes the slot of the
    /// connection idle longest (handshaking, waiting for a request, kept alive); when every
    /// connection is answering a request, it waits (up to the header timeout) for one to end.
    pub max_connections: usize,
    /// How long a request's headers may take to arrive; also how long a kept-alive
    /// connection may sit idle (hyper starts the clock when it waits for the next request).
    pub header_read_timeout: Duration,
    /// How long an answer may wait for a client that does not read it before the connection
    /// is closed.
    pub write_timeout: Duration,
    /// Request body bytes held at once (reading, parsing, evaluating), the main term of the
    /// webhook's memory; a request that cannot get its share within the evaluation timeout
    /// gets 429.
    pub max_in_flight_bytes: usize,
    /// JSON values a request body may hold (more: 400).
    pub max_json_values: usize,
    /// Where to list and watch the cluster's Namespaces (for `namespaceSelector`
    /// constraints); `None`: no cache, such constraints follow the failure mode.
    pub namespace_cache: Option<crate::namespaces::KubeClient>,
    /// Findings one rule keeps per request (the rest are counted in the answer).
    pub max_findings_per_rule: usize,
    /// Longest finding message, in bytes.
    pub max_message_bytes: usize,
    /// How a request is decided ([`admission::decide`]; tests inject faults here).
    pub evaluate: Evaluate,
}

impl ServeOptions {
    /// Defaults for everything but the addresses and files.
    pub fn new(
        addr: SocketAddr,
        metrics_addr: SocketAddr,
        tls_cert: PathBuf,
        tls_key: PathBuf,
    ) -> Self {
        ServeOptions {
            addr,
            metrics_addr,
            tls_cert,
            tls_key,
            source: PolicySource::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            eval_timeout: Duration::from_secs(3),
            // Evaluation is CPU-bound: one slot per CPU (cgroup quotas count) measured best —
            // more slots only add policy workers and thread heaps (docs/performance.md).
            max_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            reload_interval: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(20),
            body_timeout: Duration::from_secs(10),
            shutdown_delay: DEFAULT_SHUTDOWN_DELAY,
            max_connections: 256,
            header_read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            max_in_flight_bytes: DEFAULT_MAX_IN_FLIGHT_BYTES,
            max_json_values: admission::DEFAULT_MAX_JSON_VALUES,
            namespace_cache: None,
            max_findings_per_rule: 100,
            max_message_bytes: 1024,
            evaluate: admission::decide,
        }
    }
}

/// Serving continues this long after SIGTERM (`--shutdown-delay`).
pub const DEFAULT_SHUTDOWN_DELAY: Duration = Duration::from_secs(5);

/// Two largest bodies at once (any number of ordinary small ones): with the value limit, a
/// request costs several times its size while evaluated (parsed review, the object's copy,
/// the policy engine's input), so this keeps hostile traffic within the Deployment's 256 MiB
/// (peak 131 MB measured on the 4.1 MB review, docs/reliability.md).
pub const DEFAULT_MAX_IN_FLIGHT_BYTES: usize = 2 * DEFAULT_MAX_BODY_BYTES;

/// An AdmissionReview holds the object and, on UPDATE, the old one; etcd refuses objects over
/// 1.5 MiB, so 4 MiB bounds every legitimate request with room for the envelope.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Why the server could not start or stopped.
#[derive(Debug, Error)]
pub enum ServeError {
    #[error("cannot load policies: {0}")]
    Policies(#[from] crate::policy::PolicyLoadError),
    #[error("cannot load the TLS certificate: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// What every request handler shares.
#[derive(Debug)]
pub struct Shared {
    state: RwLock<Arc<PolicyState>>,
    pub metrics: Metrics,
    semaphore: Arc<Semaphore>,
    /// Body bytes in flight, in KiB permits.
    bytes: Arc<Semaphore>,
    bytes_total_kib: u32,
    slots: Arc<Slots>,
    ready: AtomicBool,
    /// The cluster's Namespaces, when `options.namespace_cache` names an API server.
    namespaces: Option<Arc<NamespaceCache>>,
    options: ServeOptions,
}

impl Shared {
    fn current(&self) -> Option<Arc<PolicyState>> {
        self.state.read().ok().map(|s| Arc::clone(&s))
    }
}

/// A bound, not yet running server.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    metrics_listener: TcpListener,
    shared: Arc<Shared>,
    cert: Arc<ReloadingCert>,
    /// Fingerprint of the certificate files taken just before they were read.
    certs_loaded: u64,
}

impl Server {
    /// Loads policies and the certificate (both must be valid to start) and binds both ports.
    pub async fn bind(options: ServeOptions) -> Result<Self, ServeError> {
        let source = options.source.clone();
        let mut state = tokio::task::spawn_blocking(move || PolicyState::load(&source))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))??;
        let namespaces = options
            .namespace_cache
            .as_ref()
            .map(|_| Arc::new(NamespaceCache::default()));
        state.namespaces.clone_from(&namespaces);
        // Fingerprinted before reading, so a file written after this point (a rotation that
        // starts while the server does) is seen as a change by the reload loop.
        let certs_loaded = fingerprint(&[options.tls_cert.clone(), options.tls_key.clone()]);
        let cert = Arc::new(ReloadingCert::load(&options.tls_cert, &options.tls_key)?);
        let listener =
            TcpListener::bind(options.addr)
                .await
                .map_err(|source| ServeError::Bind {
                    addr: options.addr,
                    source,
                })?;
        let metrics_listener = TcpListener::bind(options.metrics_addr)
            .await
            .map_err(|source| ServeError::Bind {
                addr: options.metrics_addr,
                source,
            })?;
        let metrics = Metrics::default();
        metrics.set_rules_loaded(state.rule_count);
        metrics.register_rules(state.rule_ids().iter().map(String::as_str));
        tracing::info!(
            rules = state.rule_count,
            failure_mode = ?state.webhook.failure_mode,
            "policies loaded"
        );
        let shared = Arc::new(Shared {
            state: RwLock::new(Arc::new(state)),
            metrics,
            semaphore: Arc::new(Semaphore::new(options.max_concurrency.max(1))),
            bytes: Arc::new(Semaphore::new(kib(options.max_in_flight_bytes) as usize)),
            bytes_total_kib: kib(options.max_in_flight_bytes),
            slots: Slots::new(options.max_connections),
            ready: AtomicBool::new(false),
            namespaces,
            options,
        });
        Ok(Server {
            listener,
            metrics_listener,
            shared,
            cert,
            certs_loaded,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn metrics_addr(&self) -> std::io::Result<SocketAddr> {
        self.metrics_listener.local_addr()
    }

    pub fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }

    /// Serves until `shutdown` completes, then stops accepting, reports not-ready and waits
    /// (up to the drain timeout) for in-flight requests.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServeError> {
        let Server {
            listener,
            metrics_listener,
            shared,
            cert,
            certs_loaded,
        } = self;
        let acceptor =
            tokio_rustls::TlsAcceptor::from(Arc::new(tls::server_config(Arc::clone(&cert))?));
        let app = Router::new()
            .route("/validate", post(validate))
            .fallback(not_found)
            .with_state(Arc::clone(&shared));
        let ops = Router::new()
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .with_state(Arc::clone(&shared));
        let metrics_addr = metrics_listener.local_addr()?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut ops_stop = stop_rx.clone();
        let ops_server = tokio::spawn(async move {
            axum::serve(metrics_listener, ops)
                .with_graceful_shutdown(async move {
                    let _ = ops_stop.wait_for(|s| *s).await;
                })
                .await
        });
        let reloader = tokio::spawn(reload_loop(
            Arc::clone(&shared),
            cert,
            certs_loaded,
            stop_rx,
        ));
        // The namespace cache lists, then watches, for as long as the server runs; /readyz
        // waits for its first list.
        let namespace_task = match (&shared.namespaces, &shared.options.namespace_cache) {
            (Some(cache), Some(client)) => {
                Some(tokio::spawn(Arc::clone(cache).run(client.clone())))
            }
            _ => None,
        };
        shared.ready.store(true, Ordering::SeqCst);
        tracing::info!(
            addr = %listener.local_addr()?,
            metrics_addr = %metrics_addr,
            "serving admission reviews over TLS"
        );

        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        // Armed when the shutdown signal comes: serving goes on until it fires.
        let stop = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(stop);
        let mut stopping = false;
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (tcp, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            // Out of file descriptors and the like: back off, keep serving.
                            tracing::warn!("accept failed: {e}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let held = match shared.slots.try_take() {
                        Some(held) => held,
                        None => {
                            // At the limit: the connection idle longest makes room. While this
                            // one waits, later clients wait in the listen backlog.
                            let deadline =
                                tokio::time::Instant::now() + shared.options.header_read_timeout;
                            let grace = shared.options.header_read_timeout / 10;
                            let mut held = None;
                            while held.is_none() && tokio::time::Instant::now() < deadline {
                                let wait = match shared.slots.evict_idlest(grace) {
                                    Eviction::Evicted => {
                                        shared.metrics.connection_closed("evicted");
                                        tracing::debug!(%peer, "at the connection limit: closing the connection idle longest");
                                        deadline - tokio::time::Instant::now()
                                    }
                                    Eviction::NotYet(after) => after,
                                    Eviction::Nobody => grace,
                                };
                                let wait = wait.max(Duration::from_millis(10));
                                tokio::select! {
                                    taken = tokio::time::timeout(wait, shared.slots.take()) => {
                                        if let Ok(taken) = taken {
                                            match taken {
                                                Some(h) => held = Some(h),
                                                None => break,
                                            }
                                        }
                                    }
                                    () = &mut shutdown, if !stopping => {
                                        stopping = true;
                                        stop.as_mut().reset(begin_shutdown(&shared));
                                        break;
                                    }
                                    () = &mut stop, if stopping => break,
                                }
                            }
                            match held {
                                Some(held) => held,
                                None if stopping && stop.is_elapsed() => break,
                                None => {
                                    if !stopping {
                                        shared.metrics.connection_closed("limit");
                                        tracing::warn!(%peer, "every connection slot is answering a request: refusing a connection");
                                    }
                                    continue;
                                }
                            }
                        }
                    };
                    tokio::spawn(connection(
                        Arc::clone(&shared),
                        acceptor.clone(),
                        app.clone(),
                        graceful.watcher(),
                        tcp,
                        peer,
                        held,
                    ));
                }
                () = &mut shutdown, if !stopping => {
                    stopping = true;
                    stop.as_mut().reset(begin_shutdown(&shared));
                }
                () = &mut stop, if stopping => break,
            }
        }
        drop(listener);
        shared.ready.store(false, Ordering::SeqCst);
        tracing::info!("shutting down: no new connections; draining in-flight requests");
        // Idle connections close now; busy ones once their answer is written.
        shared.slots.close_all();
        if tokio::time::timeout(shared.options.drain_timeout, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("drain timeout reached; closing remaining connections");
        }
        let _ = stop_tx.send(true);
        if let Some(task) = namespace_task {
            task.abort();
        }
        let _ = reloader.await;
        match ops_server.await {
            Ok(result) => result?,
            Err(e) => tracing::warn!("operations server task failed: {e}"),
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Reports not-ready at once and returns when accepting stops.
fn begin_shutdown(shared: &Shared) -> tokio::time::Instant {
    shared.ready.store(false, Ordering::SeqCst);
    let delay = shared.options.shutdown_delay;
    tracing::info!(
        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        "shutdown requested: still serving while endpoints are updated (readyz answers 503)"
    );
    tokio::time::Instant::now() + delay
}

/// Body bytes in KiB permits (at least one; at most what a semaphore holds).
fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024).max(1)).unwrap_or(u32::MAX >> 4)
}

/// One TLS connection: handshake (bounded), HTTP/1.1 with bounded headers, a watchdog that
/// closes it when an answer waits longer than the write timeout for a client that does not
/// read, and its slot: told to close (evicted at the connection limit, or the server stops),
/// it finishes the request in progress, if any, and closes.
async fn connection(
    shared: Arc<Shared>,
    acceptor: tokio_rustls::TlsAcceptor,
    app: Router,
    // Held until the connection ends: shutdown's drain waits for every watcher.
    _watcher: hyper_util::server::graceful::Watcher,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    held: Held,
) {
    let _open = OpenConnection::new(Arc::clone(&shared));
    let slot = held.slot();
    let handshake = tokio::time::timeout(shared.options.header_read_timeout, acceptor.accept(tcp));
    let tls = tokio::select! {
        handshake = handshake => match handshake {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::debug!(%peer, "TLS handshake failed: {e}");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return;
            }
        },
        () = slot.closing() => {
            tracing::debug!(%peer, "closed during its TLS handshake to make room");
            return;
        }
    };
    let stall = Arc::new(WriteStall::default());
    let io = Watched {
        inner: tls,
        stall: Arc::clone(&stall),
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.options.header_read_timeout)
        // Request heads from the API server are a few hundred bytes; the body is read apart.
        .max_buf_size(64 * 1024);
    let service = Tracked {
        inner: TowerToHyperService::new(app),
        slot: Arc::clone(&slot),
    };
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let limit = shared.options.write_timeout;
    let watchdog = async {
        let tick = (limit / 4).clamp(Duration::from_millis(20), Duration::from_secs(1));
        loop {
            tokio::time::sleep(tick).await;
            if stall.longer_than(limit) {
                return;
            }
        }
    };
    tokio::pin!(watchdog);
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, "connection ended: {e}");
                }
                break;
            }
            () = slot.closing(), if !closing => {
                // Answering: finishes that answer first. Otherwise (waiting for a request, or
                // for the rest of a slow head, which hyper's graceful shutdown would wait
                // for) it closes at once. The service runs inside this task's poll of the
                // connection, so no request can start between the check and the close.
                if !slot.is_busy() {
                    break;
                }
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
            () = &mut watchdog => {
                shared.metrics.connection_closed("write_stall");
                tracing::warn!(%peer, "closing a connection whose client has not read its answer for {} ms", limit.as_millis());
                break;
            }
        }
    }
    drop(held);
}

/// The connection's service, marking its slot busy while a request is answered.
#[derive(Clone)]
struct Tracked {
    inner: TowerToHyperService<Router>,
    slot: Arc<Slot>,
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for Tracked {
    type Response = <TowerToHyperService<Router> as hyper::service::Service<
        hyper::Request<hyper::body::Incoming>,
    >>::Response;
    type Error = <TowerToHyperService<Router> as hyper::service::Service<
        hyper::Request<hyper::body::Incoming>,
    >>::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, request: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        self.slot.busy();
        let answer = self.inner.call(request);
        let slot = Arc::clone(&self.slot);
        Box::pin(async move {
            let answered = answer.await;
            slot.idle();
            answered
        })
    }
}

/// Counts a connection in `kubegate_webhook_open_connections` while it lives.
struct OpenConnection(Arc<Shared>);

impl OpenConnection {
    fn new(shared: Arc<Shared>) -> Self {
        shared.metrics.open_connections(1);
        OpenConnection(shared)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.metrics.open_connections(-1);
    }
}

/// Since when writes to a connection have been blocked (the client's receive window full).
#[derive(Debug, Default)]
struct WriteStall(Mutex<Option<Instant>>);

impl WriteStall {
    fn blocked(&self, blocked: bool) {
        if let Ok(mut since) = self.0.lock() {
            match (blocked, since.is_some()) {
                (true, false) => *since = Some(Instant::now()),
                (false, true) => *since = None,
                _ => {}
            }
        }
    }

    fn longer_than(&self, limit: Duration) -> bool {
        self.0
            .lock()
            .ok()
            .and_then(|s| *s)
            .is_some_and(|since| since.elapsed() > limit)
    }
}

/// An I/O stream that records when its writes stall.
struct Watched<T> {
    inner: T,
    stall: Arc<WriteStall>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> Watched<T> {
    fn watch<R>(&self, poll: Poll<R>) -> Poll<R> {
        self.stall.blocked(poll.is_pending());
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Sets the evaluation's cancellation flag when the request's handler ends, however it ends
/// (answered, timed out, client gone): a blocking evaluation still running stops at its next
/// check and frees what it holds.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": "not found; admission reviews go to POST /validate"})),
    )
        .into_response()
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    let namespaces_synced = shared.namespaces.as_ref().is_none_or(|c| c.synced());
    if shared.ready.load(Ordering::SeqCst) && shared.current().is_some() && namespaces_synced {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        {
            let mut text = shared.metrics.render();
            if let Some(cache) = &shared.namespaces {
                cache.render_metrics(&mut text);
            }
            text
        },
    )
        .into_response()
}

fn json_error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}

async fn validate(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let limit = shared.options.max_body_bytes;
    // The body's share of the in-flight byte budget is taken before it is read: its declared
    // length, or the whole limit when it declares none.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(limit)
        .min(limit);
    let share = kib(declared).min(shared.bytes_total_kib);
    let bytes_permit = match tokio::time::timeout(
        shared.options.eval_timeout,
        Arc::clone(&shared.bytes).acquire_many_owned(share),
    )
    .await
    {
        Ok(Ok(p)) => p,
        _ => {
            shared.metrics.rejected("overloaded");
            tracing::warn!("request refused: too many request bytes in flight");
            return json_error(
                StatusCode::TOO_MANY_REQUESTS,
                "the webhook is busy with other large requests; retry".into(),
            );
        }
    };
    // A client trickling its body must not hold a connection forever.
    let read = tokio::time::timeout(
        shared.options.body_timeout,
        axum::body::to_bytes(body, limit),
    )
    .await;
    let bytes = match read {
        Ok(Ok(b)) => b,
        Err(_) => {
            shared.metrics.rejected("body_timeout");
            tracing::warn!(
                "request refused: body not received within {:?}",
                shared.options.body_timeout
            );
            return json_error(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "request body not received within {} ms",
                    shared.options.body_timeout.as_millis()
                ),
            );
        }
        Ok(Err(e)) => {
            shared.metrics.rejected("too_large");
            tracing::warn!("request refused: {e}");
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "request body is larger than the limit of {limit} bytes, or unreadable: {e}"
                ),
            );
        }
    };
    let parsed = Request::parse_limited(&bytes, shared.options.max_json_values);
    drop(bytes);
    let request = match parsed {
        Ok(r) => Arc::new(r),
        Err(e) => {
            shared.metrics.rejected("malformed");
            tracing::warn!("malformed request: {e}");
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(admission::bad_request_body(&e)),
            )
                .into_response();
        }
    };
    // Identity fields are cut for logs: the request chooses their length.
    let span = tracing::info_span!(
        "review",
        uid = %admission::echo(&request.uid),
        kind = %admission::echo(&request.kind),
        namespace = %admission::echo(&request.namespace),
        // `name` is the span's own name in JSON logs: the object's name gets its own key.
        object_name = %admission::echo(&request.name),
        operation = %admission::echo(&request.operation),
        dry_run = request.dry_run,
        verdict = tracing::field::Empty,
    );
    async move {
        let Some(state) = shared.current() else {
            return json_error(StatusCode::SERVICE_UNAVAILABLE, "no policies loaded".into());
        };
        let timeout = shared.options.eval_timeout;
        let deadline = Instant::now() + timeout;
        // Decremented on drop: a client that disconnects mid-review drops this future.
        let _in_flight = InFlight::new(Arc::clone(&shared));
        let cancel = Arc::new(AtomicBool::new(false));
        let _cancel_on_drop = CancelOnDrop(Arc::clone(&cancel));
        let budget = Budget {
            deadline: Some(deadline),
            cancel: Some(cancel),
            max_findings_per_rule: Some(shared.options.max_findings_per_rule),
            max_message_bytes: Some(shared.options.max_message_bytes),
        };
        let evaluation = {
            let shared = Arc::clone(&shared);
            let state = Arc::clone(&state);
            let request = Arc::clone(&request);
            let evaluate = shared.options.evaluate;
            async move {
                // The permits travel into the blocking task, so a review that outlives its
                // time limit still holds its slot and its bytes until it really ends (at the
                // budget's next check): concurrency and memory stay bounded even when
                // answers have already gone out.
                let permit = Arc::clone(&shared.semaphore)
                    .acquire_owned()
                    .await
                    .map_err(|_| "the server is shutting down".to_owned())?;
                tokio::task::spawn_blocking(move || {
                    let _permits = (permit, bytes_permit);
                    evaluate(&state, &request, &budget)
                })
                .await
                .map_err(|e| format!("evaluation panicked: {e}"))
            }
        };
        let exceeded = || format!("evaluation exceeded the {} ms limit", timeout.as_millis());
        let decision = match tokio::time::timeout(timeout, evaluation).await {
            Ok(Ok(Ok(d))) => {
                if matches!(d.verdict, Verdict::Failed(_)) {
                    shared.metrics.evaluation_error(if d.undecided {
                        "undecided"
                    } else if d.panicked {
                        "panic"
                    } else {
                        "error"
                    });
                }
                d
            }
            Ok(Ok(Err(interrupted))) => {
                shared.metrics.evaluation_error("timeout");
                tracing::debug!("evaluation stopped: {interrupted}");
                admission::failed(&state, &request, vec![exceeded()], Vec::new())
            }
            Ok(Err(message)) => {
                shared.metrics.evaluation_error("panic");
                admission::failed(&state, &request, vec![message], Vec::new())
            }
            Err(_) => {
                shared.metrics.evaluation_error("timeout");
                admission::failed(&state, &request, vec![exceeded()], Vec::new())
            }
        };
        for j in &decision.findings {
            let enforcement = match j.enforcement {
                Enforcement::Deny => "deny",
                Enforcement::Warn => "warn",
                Enforcement::DryRun => "dryrun",
            };
            shared.metrics.finding(&j.finding.rule_id, enforcement);
            if j.enforcement == Enforcement::DryRun {
                tracing::info!(
                    rule = %j.finding.rule_id,
                    field = %admission::dotted(&j.finding.pointer),
                    "dry-run finding: {}",
                    j.finding.message
                );
            }
        }
        if decision.findings_cut > 0 {
            shared.metrics.findings_cut(decision.findings_cut);
        }
        let verdict = decision.verdict.label();
        tracing::Span::current().record("verdict", verdict);
        match decision.verdict {
            Verdict::Failed(_) => tracing::error!(errors = ?decision.errors, "evaluation failed"),
            Verdict::Invalid => {
                tracing::warn!(errors = ?decision.errors, "refused without evaluation")
            }
            Verdict::Denied => {
                let mut rules: Vec<&str> = decision
                    .findings
                    .iter()
                    .filter(|j| j.enforcement == Enforcement::Deny)
                    .map(|j| j.finding.rule_id.as_ref())
                    .collect();
                rules.sort_unstable();
                rules.dedup();
                tracing::info!(
                    findings = decision.findings.len(),
                    findings_cut = decision.findings_cut,
                    rules = %rules.join(","),
                    "denied"
                );
            }
            _ => tracing::debug!(findings = decision.findings.len(), "answered"),
        }
        shared.metrics.request(
            verdict,
            &request.kind,
            &request.operation,
            started.elapsed(),
        );
        axum::Json(decision.response).into_response()
    }
    .instrument(span)
    .await
}

/// Counts a review in `kubegate_webhook_in_flight_requests` while it lives.
struct InFlight(Arc<Shared>);

impl InFlight {
    fn new(shared: Arc<Shared>) -> Self {
        shared.metrics.in_flight(1);
        InFlight(shared)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.metrics.in_flight(-1);
    }
}

/// Watches policy, configuration and certificate files; reloads what changed. A reload that
/// fails keeps what is in force, and is logged and counted.
async fn reload_loop(
    shared: Arc<Shared>,
    cert: Arc<ReloadingCert>,
    certs_loaded: u64,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let source = shared.options.source.clone();
    let mut policies_seen = shared.current().map_or(0, |s| s.fingerprint);
    let cert_files = vec![cert.cert_file.clone(), cert.key_file.clone()];
    // What was loaded at start, not what the files hold when this task first runs: a
    // certificate rotated in between would otherwise never be read.
    let mut certs_seen = certs_loaded;
    let mut tick = tokio::time::interval(shared.options.reload_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let source = source.clone();
        let files = cert_files.clone();
        let Ok((policy_print, cert_print)) = tokio::task::spawn_blocking(move || {
            (fingerprint(&source.files()), fingerprint(&files))
        })
        .await
        else {
            continue;
        };
        if policy_print != policies_seen {
            policies_seen = policy_print;
            let source = shared.options.source.clone();
            match tokio::task::spawn_blocking(move || PolicyState::load(&source)).await {
                Ok(Ok(mut state)) => {
                    state.namespaces.clone_from(&shared.namespaces);
                    shared.metrics.set_rules_loaded(state.rule_count);
                    shared
                        .metrics
                        .register_rules(state.rule_ids().iter().map(String::as_str));
                    shared.metrics.reload("policies", "success");
                    tracing::info!(rules = state.rule_count, "policies reloaded");
                    if let Ok(mut current) = shared.state.write() {
                        *current = Arc::new(state);
                    }
                }
                Ok(Err(e)) => {
                    shared.metrics.reload("policies", "failure");
                    tracing::error!("policy reload failed; keeping the policies in force: {e}");
                }
                Err(e) => {
                    shared.metrics.reload("policies", "failure");
                    tracing::error!("policy reload panicked; keeping the policies in force: {e}");
                }
            }
        }
        if cert_print != certs_seen {
            certs_seen = cert_print;
            match cert.reload() {
                Ok(()) => {
                    shared.metrics.reload("certificate", "success");
                    tracing::info!("TLS certificate reloaded");
                }
                Err(e @ tls::TlsError::KeyMismatch { .. }) => {
                    // cert-manager and `kubectl create secret` write the two files one after
                    // the other: expected, retried at every tick until the pair matches.
                    certs_seen = 0;
                    shared.metrics.reload("certificate", "mismatch");
                    tracing::info!(
                        "certificate and key do not match yet; keeping the certificate in force and retrying: {e}"
                    );
                }
                Err(e) => {
                    shared.metrics.reload("certificate", "failure");
                    tracing::error!(
                        "certificate reload failed; keeping the certificate in force: {e}"
                    );
                }
            }
        }
    }
}
