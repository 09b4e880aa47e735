//! `kubegate webhook serve` and `kubegate webhook certs`.

use crate::args::{CertsArgs, LogFormat, NamespaceCacheMode, ServeArgs};
use kubegate_webhook::namespaces::{KubeClient, NamespaceError};
use kubegate_webhook::policy::PolicySource;
use kubegate_webhook::{ServeOptions, Server};
use std::io::Write;
use std::time::Duration;

/// Structured JSON logs (one object per line, request spans included) for the cluster, or
/// text for a terminal. `KUBEGATE_LOG` filters (default `info`).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KUBEGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Text => builder.with_ansi(false).init(),
    }
}

pub fn serve(args: &ServeArgs) -> anyhow::Result<u8> {
    let mut options = ServeOptions::new(
        args.addr,
        args.metrics_addr,
        args.tls_cert.clone(),
        args.tls_key.clone(),
    );
    options.source = PolicySource {
        config: args.config.clone(),
        policy_paths: args.policy.clone(),
        own_namespace: args.namespace.clone(),
        crd_paths: args.crd.clone(),
    };
    options.max_body_bytes = args.max_request_bytes;
    options.eval_timeout = Duration::from_millis(args.eval_timeout.max(1));
    if let Some(n) = args.max_concurrency {
        options.max_concurrency = n.max(1);
    }
    options.reload_interval = Duration::from_secs(args.reload_interval.max(1));
    options.namespace_cache = namespace_cache(args)?;
    options.max_connections = args.max_connections.max(1);
    // The flag, else the configuration (a broken one is reported by the policy load).
    let configured = args
        .config
        .as_ref()
        .and_then(|c| kubegate_engine::Config::load(c).ok())
        .and_then(|c| c.webhook.shutdown_delay_seconds);
    if let Some(seconds) = args.shutdown_delay.or(configured) {
        options.shutdown_delay = Duration::from_secs(seconds);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async move {
        let server = Server::bind(options).await?;
        server.run(shutdown_signal()).await?;
        Ok::<_, anyhow::Error>(())
    });
    // An evaluation past its deadline stops at its next budget check; do not wait on a
    // blocking thread longer than that to exit.
    runtime.shutdown_timeout(Duration::from_secs(2));
    result?;
    Ok(0)
}

/// Where the namespace cache lists and watches Namespaces, per `--namespace-cache`.
fn namespace_cache(args: &ServeArgs) -> anyhow::Result<Option<KubeClient>> {
    if args.namespace_cache == NamespaceCacheMode::Off {
        return Ok(None);
    }
    let client = match (&args.kube_api, &args.kube_ca) {
        (Some(url), Some(ca)) => KubeClient::new(url, ca, args.kube_token.clone()),
        _ => KubeClient::in_cluster(),
    };
    match client {
        Ok(client) => Ok(Some(client)),
        Err(NamespaceError::NotInCluster) if args.namespace_cache == NamespaceCacheMode::Auto => {
            tracing::info!(
                "namespace cache off: not running in a cluster and no --kube-api; constraints \
                 with a namespaceSelector follow the failure mode"
            );
            Ok(None)
        }
        Err(e) => Err(anyhow::anyhow!("namespace cache: {e}")),
    }
}

/// SIGTERM (the kubelet stopping the pod) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutdown signal received");
}

pub fn certs(args: &CertsArgs) -> anyhow::Result<u8> {
    let mut names = kubegate_webhook::tls::service_names(&args.service, &args.namespace);
    names.extend(args.san.iter().cloned());
    let generated = kubegate_webhook::tls::generate(&names, args.days)?;
    std::fs::create_dir_all(&args.out_dir)?;
    let files = [
        ("ca.crt", &generated.ca_cert),
        ("tls.crt", &generated.server_cert),
        ("tls.key", &generated.server_key),
    ];
    if !args.force {
        if let Some((name, _)) = files.iter().find(|(n, _)| args.out_dir.join(n).exists()) {
            anyhow::bail!(
                "{} exists; pass --force to overwrite",
                args.out_dir.join(name).display()
            );
        }
    }
    for (name, text) in files {
        let path = args.out_dir.join(name);
        write_private(&path, text.as_bytes(), name == "tls.key")
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    let bundle = base64(generated.ca_cert.as_bytes());
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "wrote ca.crt, tls.crt and tls.key to {} for {} (valid {} days)\n\
         create the Secret:  kubectl -n {} create secret tls {}-tls --cert={}/tls.crt --key={}/tls.key\n\
         the caBundle for the ValidatingWebhookConfiguration follows on stdout",
        args.out_dir.display(),
        names.join(", "),
        args.days,
        args.namespace,
        args.service,
        args.out_dir.display(),
        args.out_dir.display(),
    );
    println!("{bundle}");
    Ok(0)
}

fn write_private(path: &std::path::Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(if private { 0o600 } else { 0o644 })
            .open(path)?;
        file.write_all(bytes)
    }
    #[cfg(not(unix))]
    {
        let _ = private;
        std::fs::write(path, bytes)
    }
}

/// Standard base64 with padding (the caBundle field's encoding).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(input.as_bytes()), expected);
        }
    }
}
