use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde::Deserialize;
use std::sync::OnceLock;

declare_rule! {
    /// Objects whose `apiVersion` the API server no longer serves.
    DeprecatedApiVersion {
        id: "KG210",
        name: "deprecated-api-version",
        title: "Objects must not use an API version Kubernetes has removed",
        severity: High,
        category: ApiVersions,
        scope: Object,
        since: "0.1.0",
        rationale: "Kubernetes removes beta API versions some releases after their replacement \
ships. An API server that no longer serves a version refuses every object that uses it, so a \
manifest that deployed last year fails on the upgraded cluster, often in the middle of a \
release. kubegate reports each `apiVersion` and `kind` that the Kubernetes Deprecated API \
Migration Guide lists as removed (releases 1.16 to 1.32), with the release that removed it and \
the version to use instead, when the target version (`--kube-version`, else the newest bundled) \
no longer serves it. The API server rejects such an object outright, so the rule is part of the \
always-on `kubegate` pack. The table is data, in `policies/deprecated-apis.yaml`.",
        remediation: "Change `apiVersion` to the replacement and adapt the fields that changed with \
it (for Ingress `networking.k8s.io/v1`: `pathType` and `service.name`/`service.port`; for \
`apps/v1`: a required, immutable `spec.selector`). `kubectl convert` can rewrite a manifest.",
        failing_example: r#"apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: shop
  namespace: shop
spec:
  rules:
    - host: shop.example.com
      http:
        paths:
          - path: /
            backend:
              serviceName: storefront
              servicePort: 80
"#,
        passing_example: r#"apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
  namespace: shop
spec:
  rules:
    - host: shop.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: storefront
                port: {number: 80}
"#,
    }
}

const DEPRECATED_APIS_YAML: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../policies/deprecated-apis.yaml"
));

/// One removed group/version and the kinds it served.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct RemovedApi {
    group_version: String,
    kinds: Vec<String>,
    /// The Kubernetes minor release that stopped serving it (`1.22`).
    removed_in: String,
    /// The `apiVersion` to use instead; absent when there is none.
    #[serde(default)]
    replacement: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

impl RemovedApi {
    fn message(&self, kind: &str) -> String {
        let removed = format!(
            "{} {kind} was removed in Kubernetes {}",
            self.group_version, self.removed_in
        );
        match (&self.replacement, &self.note) {
            (Some(r), None) => format!("{removed}; use {r}"),
            (Some(r), Some(note)) => format!("{removed}; use {r} ({note})"),
            (None, Some(note)) => format!("{removed}; {note}"),
            (None, None) => format!("{removed}; it has no replacement"),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemovedApisFile {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    kind: String,
    apis: Vec<RemovedApi>,
}

fn parse(text: &str) -> Result<Vec<RemovedApi>, String> {
    let stream = crate::load::yaml::parse_stream(text, &crate::load::yaml::Limits::default());
    if let Some(e) = stream.error {
        return Err(format!("{}: {e}", e.position));
    }
    let doc = stream
        .documents
        .into_iter()
        .next()
        .ok_or_else(|| "empty".to_owned())?;
    let file: RemovedApisFile = serde_json::from_value(doc.value).map_err(|e| e.to_string())?;
    if file.kind != "RemovedApis" {
        return Err(format!("unexpected kind {:?}", file.kind));
    }
    Ok(file.apis)
}

/// The embedded table, parsed once. The unit tests validate it, so an error here is a build
/// defect; it is logged and the rule then reports nothing rather than panicking.
fn removed_apis() -> &'static [RemovedApi] {
    static TABLE: OnceLock<Vec<RemovedApi>> = OnceLock::new();
    TABLE.get_or_init(|| {
        parse(DEPRECATED_APIS_YAML).unwrap_or_else(|e| {
            tracing::error!("policies/deprecated-apis.yaml is invalid: {e}");
            Vec::new()
        })
    })
}

fn lookup<'t>(table: &'t [RemovedApi], api_version: &str, kind: &str) -> Option<&'t RemovedApi> {
    table
        .iter()
        .find(|api| api.group_version == api_version && api.kinds.iter().any(|k| k == kind))
}

/// Whether the migration guide's table lists `apiVersion`/`kind` as removed in the target
/// version of `cx` or before it (the newest bundled version when none is set).
pub fn is_removed(cx: &Context<'_>, api_version: &str, kind: &str) -> bool {
    lookup(removed_apis(), api_version, kind).is_some_and(|api| removed_by_target(cx, api))
}

/// Whether the target version no longer serves `api`. Without a known target (no bundled
/// schemas), every removal counts.
fn removed_by_target(cx: &Context<'_>, api: &RemovedApi) -> bool {
    let target = cx
        .schema
        .version()
        .or_else(|| crate::schema::builtin::newest().ok());
    let removed = api
        .removed_in
        .strip_prefix("1.")
        .and_then(|m| m.parse::<u32>().ok());
    match (target, removed) {
        (Some(target), Some(removed)) => removed <= target.minor,
        _ => true,
    }
}

impl Rule for DeprecatedApiVersion {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let object = &cx.manifest.object;
        let found = lookup(removed_apis(), &object.api_version, &object.kind);
        if let Some(api) = found.filter(|api| removed_by_target(cx, api)) {
            out.push(Violation {
                pointer: "/apiVersion".to_owned(),
                message: api.message(&object.kind),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_parses_and_is_consistent() {
        let table = parse(DEPRECATED_APIS_YAML).expect("valid policies/deprecated-apis.yaml");
        assert!(table.len() >= 25, "{} entries", table.len());
        let mut seen = Vec::new();
        for api in &table {
            let (group, version) = api
                .group_version
                .rsplit_once('/')
                .unwrap_or(("", &api.group_version));
            assert!(
                !group.is_empty() && version.starts_with('v'),
                "{}",
                api.group_version
            );
            assert!(!api.kinds.is_empty(), "{}: no kinds", api.group_version);
            let minor = api
                .removed_in
                .strip_prefix("1.")
                .and_then(|m| m.parse::<u32>().ok());
            assert!(
                minor.is_some_and(|m| (16..=32).contains(&m)),
                "{}: removed_in {:?}",
                api.group_version,
                api.removed_in
            );
            assert!(
                api.replacement.is_some() || api.note.is_some(),
                "{}: neither replacement nor note",
                api.group_version
            );
            for kind in &api.kinds {
                let key = (api.group_version.as_str(), kind.as_str());
                assert!(!seen.contains(&key), "{key:?} listed twice");
                seen.push(key);
            }
        }
        assert_eq!(removed_apis(), table.as_slice());
    }

    #[test]
    fn messages_name_the_release_and_the_replacement() {
        let table = removed_apis();
        let message = |api_version: &str, kind: &str| {
            lookup(table, api_version, kind).map(|api| api.message(kind))
        };
        assert_eq!(
            message("extensions/v1beta1", "Ingress").as_deref(),
            Some("extensions/v1beta1 Ingress was removed in Kubernetes 1.22; use networking.k8s.io/v1")
        );
        assert_eq!(
            message("extensions/v1beta1", "Deployment").as_deref(),
            Some("extensions/v1beta1 Deployment was removed in Kubernetes 1.16; use apps/v1")
        );
        assert_eq!(
            message("policy/v1beta1", "PodSecurityPolicy").as_deref(),
            Some(
                "policy/v1beta1 PodSecurityPolicy was removed in Kubernetes 1.25; it has no \
replacement; use Pod Security Admission or a third-party admission webhook"
            )
        );
        assert!(message("storage.k8s.io/v1beta1", "CSIStorageCapacity")
            .is_some_and(|m| m.contains("1.27")));
        assert_eq!(message("apps/v1", "Deployment"), None);
        assert_eq!(message("policy/v1beta1", "Eviction"), None);
        assert_eq!(message("extensions/v1beta1", "Scale"), None);
    }

    #[test]
    fn invalid_tables_are_rejected() {
        let unknown_field = "apiVersion: v\nkind: RemovedApis\napis:\n  - group_version: a/v1\n    kinds: [A]\n    removed_in: \"1.20\"\n    removd: x\n";
        assert!(parse(unknown_field).is_err_and(|e| e.contains("removd")));
        let float_version = "apiVersion: v\nkind: RemovedApis\napis:\n  - group_version: a/v1\n    kinds: [A]\n    removed_in: 1.20\n";
        assert!(parse(float_version).is_err());
        assert!(parse("apiVersion: v\nkind: Other\napis: []\n").is_err());
        assert!(parse("apis: [\n").is_err());
    }
}
