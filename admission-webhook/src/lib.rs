//! kubegate's validating admission webhook: `AdmissionReview` (admission.k8s.io/v1) over TLS,
//! judged by the same engine, configuration and policies as `kubegate check`.
//!
//! - [`admission`]: request parsing and the verdict (pure, no I/O);
//! - [`policy`]: the loaded policy set and its reload fingerprint;
//! - [`server`]: HTTPS `/validate`, plain-HTTP `/healthz` `/readyz` `/metrics`, hot reload,
//!   graceful shutdown;
//! - [`tls`]: reloadable certificates and `kubegate webhook certs`;
//! - [`metrics`]: Prometheus text exposition;
//! - [`namespaces`]: the cache of the cluster's Namespaces (list + watch), for
//!   `namespaceSelector` constraints.

pub mod admission;
pub mod metrics;
pub mod namespaces;
pub mod policy;
pub mod server;
pub mod slots;
pub mod tls;

pub use policy::{PolicySource, PolicyState};
pub use server::{ServeError, ServeOptions, Server};
