//! TLS: a server configuration whose certificate can be swapped while connections are served
//! (cert-manager rotates the mounted files), and the `kubegate webhook certs` generator.

use rustls::crypto::ring::sign::any_supported_type;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// The key belongs to another certificate: during a rotation that writes the certificate
    /// and then the key, the expected state between the two writes.
    #[error("{}: key does not match the certificate: {message}", path.display())]
    KeyMismatch { path: PathBuf, message: String },
    /// Generating certificates or building the TLS configuration failed.
    #[error("{0}")]
    Generate(String),
}

/// The certificate and key files, and the key currently served.
#[derive(Debug)]
pub struct ReloadingCert {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadingCert {
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<Self, TlsError> {
        let key = read_certified_key(cert_file, key_file)?;
        Ok(ReloadingCert {
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            current: RwLock::new(Arc::new(key)),
        })
    }

    /// Reads the files again; on error the current certificate stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = read_certified_key(&self.cert_file, &self.key_file)?;
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(key);
        }
        Ok(())
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|k| Arc::clone(&k))
    }
}

/// A rustls server configuration (TLS 1.2 and 1.3, HTTP/1.1) serving `cert`.
pub fn server_config(cert: Arc<ReloadingCert>) -> Result<rustls::ServerConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // rustls' default versions are TLS 1.3 and 1.2; nothing older is compiled in.
    let builder = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::DEFAULT_VERSIONS)
        .map_err(|e| TlsError::Generate(format!("TLS configuration: {e}")))?;
    let mut config = builder.with_no_client_auth().with_cert_resolver(cert);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A client configuration that trusts exactly the CA certificates in `ca_pem` (one PEM text,
/// several certificates allowed), as the API server trusts a caBundle: for probes, the load
/// benchmark and tests.
pub fn client_config(ca_pem: &[u8]) -> Result<rustls::ClientConfig, TlsError> {
    let invalid = |message: String| TlsError::Generate(format!("CA bundle: {message}"));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        roots
            .add(cert.map_err(|e| invalid(e.to_string()))?)
            .map_err(|e| invalid(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(invalid("no PEM certificate".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::DEFAULT_VERSIONS)
        .map_err(|e| invalid(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn read_certified_key(cert_file: &Path, key_file: &Path) -> Result<CertifiedKey, TlsError> {
    let file_error = |path: &Path, message: String| TlsError::File {
        path: path.to_path_buf(),
        message,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| file_error(cert_file, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_error(cert_file, e.to_string()))?;
    if chain.is_empty() {
        return Err(file_error(
            cert_file,
            "no PEM certificate in the file".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| file_error(key_file, format!("no usable PEM private key: {e}")))?;
    let signing = any_supported_type(&key)
        .map_err(|e| file_error(key_file, format!("unsupported private key: {e}")))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| TlsError::KeyMismatch {
        path: key_file.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(certified)
}

/// Generated certificates, PEM encoded.
#[derive(Debug, Clone)]
pub struct GeneratedCerts {
    pub ca_cert: String,
    pub server_cert: String,
    pub server_key: String,
}

/// Generates a CA and a serving certificate for `names` (the Service's DNS names, and any IP
/// addresses), valid for `days` days.
pub fn generate(names: &[String], days: u32) -> Result<GeneratedCerts, TlsError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
        IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let err = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let now = time::OffsetDateTime::now_utc();
    let until = now + time::Duration::days(i64::from(days));

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    let mut ca_dn = DistinguishedName::new();
    ca_dn.push(DnType::CommonName, "kubegate webhook CA");
    ca_params.distinguished_name = ca_dn;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = now - time::Duration::minutes(5);
    ca_params.not_after = until;
    let ca_key = KeyPair::generate().map_err(err)?;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
    let ca_pem = ca_cert.pem();
    let issuer = Issuer::new(ca_params, ca_key);

    let mut params = CertificateParams::new(names.to_vec()).map_err(err)?;
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        names.first().cloned().unwrap_or_else(|| "kubegate".into()),
    );
    params.distinguished_name = dn;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = until;
    let key = KeyPair::generate().map_err(err)?;
    let cert = params.signed_by(&key, &issuer).map_err(err)?;
    Ok(GeneratedCerts {
        ca_cert: ca_pem,
        server_cert: cert.pem(),
        server_key: key.serialize_pem(),
    })
}

/// The DNS names a Service `name` in `namespace` is reached by.
pub fn service_names(name: &str, namespace: &str) -> Vec<String> {
    vec![
        format!("{name}.{namespace}.svc"),
        format!("{name}.{namespace}.svc.cluster.local"),
        format!("{name}.{namespace}"),
        name.to_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificates_load_and_match() {
        let dir = tempfile::tempdir().expect("tempdir");
        let certs = generate(&service_names("kubegate", "kubegate-system"), 30).expect("certs");
        let cert = dir.path().join("tls.crt");
        let key = dir.path().join("tls.key");
        std::fs::write(&cert, &certs.server_cert).expect("write");
        std::fs::write(&key, &certs.server_key).expect("write");
        let loaded = ReloadingCert::load(&cert, &key).expect("loads");
        assert!(loaded.reload().is_ok());
        // A key that does not belong to the certificate is refused, and the old one kept.
        let other = generate(&["other".into()], 1).expect("certs");
        std::fs::write(&key, &other.server_key).expect("write");
        let e = loaded.reload().expect_err("mismatch");
        assert!(e.to_string().contains("does not match"), "{e}");
    }

    #[test]
    fn unreadable_files_are_named() {
        let e = ReloadingCert::load(Path::new("/nonexistent/tls.crt"), Path::new("/x"))
            .expect_err("missing");
        assert!(e.to_string().contains("/nonexistent/tls.crt"), "{e}");
    }
}
