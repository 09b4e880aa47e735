use super::shorten;
use crate::model::position::{dotted, lookup};
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::OnceLock;

declare_rule! {
    /// Enum-like fields with a value the API server does not accept.
    EnumValue {
        id: "KG016",
        name: "invalid-enum-value",
        title: "Enum-like fields must hold a value the target Kubernetes version accepts",
        severity: High,
        category: ApiServer,
        scope: Object,
        since: "0.2.0",
        rationale: "Many fields take one of a fixed set of values that the API server checks \
(`imagePullPolicy: always` is refused: the values are case-sensitive), but the OpenAPI \
documents the bundled schemas come from carry no `enum` for them, so schema validation (KG005) \
passes them. This rule checks them against the values each field's documentation lists for the \
target `--kube-version` (the table is data, generated per version into \
`policies/api-enums.yaml` by `policies/schemas/enums.py`): container `imagePullPolicy` and \
`terminationMessagePolicy`, pod `dnsPolicy` and `preemptionPolicy`, container and Service port \
`protocol`, toleration `operator` (`Lt`/`Gt` from 1.35) and `effect`, Service \
`internalTrafficPolicy` and `ipFamilyPolicy`, Deployment `strategy.type`, StatefulSet \
`podManagementPolicy`, `seccompProfile.type`, and node affinity operators. An empty string is \
left alone (the API server defaults it).",
        remediation: "Use one of the values the message lists, spelt exactly.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
    - name: web
      image: registry.example.com/web:1.4.0
      imagePullPolicy: always
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
    - name: web
      image: registry.example.com/web:1.4.0
      imagePullPolicy: Always
"#,
    }
}

const API_ENUMS_YAML: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../policies/api-enums.yaml"
));

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnumsFile {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    kind: String,
    fields: Vec<EnumField>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnumField {
    definition: String,
    field: String,
    values: Vec<VersionValues>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionValues {
    /// `1.25-1.34`: the bundled minor versions these values hold for.
    versions: String,
    accepted: Vec<String>,
}

/// One field's accepted values, by minor version range.
#[derive(Debug)]
struct Table {
    definition: String,
    field: String,
    ranges: Vec<(u32, u32, Vec<String>)>,
}

fn minor(text: &str) -> Result<u32, String> {
    text.strip_prefix("1.")
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| format!("bad version {text:?}"))
}

fn parse(text: &str) -> Result<Vec<Table>, String> {
    let stream = crate::load::yaml::parse_stream(text, &crate::load::yaml::Limits::default());
    if let Some(e) = stream.error {
        return Err(format!("{}: {e}", e.position));
    }
    let doc = stream.documents.into_iter().next().ok_or("empty")?;
    let file: EnumsFile = serde_json::from_value(doc.value).map_err(|e| e.to_string())?;
    if file.kind != "ApiEnums" {
        return Err(format!("unexpected kind {:?}", file.kind));
    }
    file.fields
        .into_iter()
        .map(|f| {
            let ranges = f
                .values
                .into_iter()
                .map(|v| {
                    let (a, b) = v.versions.split_once('-').ok_or("a range is first-last")?;
                    Ok((minor(a)?, minor(b)?, v.accepted))
                })
                .collect::<Result<_, String>>()?;
            Ok(Table {
                definition: f.definition,
                field: f.field,
                ranges,
            })
        })
        .collect()
}

/// The embedded table, parsed once. A unit test parses it, so an error here is a build defect:
/// logged, and the rule then reports nothing rather than panicking.
fn tables() -> &'static [Table] {
    static TABLES: OnceLock<Vec<Table>> = OnceLock::new();
    TABLES.get_or_init(|| {
        parse(API_ENUMS_YAML).unwrap_or_else(|e| {
            tracing::error!("policies/api-enums.yaml is invalid: {e}");
            Vec::new()
        })
    })
}

/// Where the objects of each definition are, in a manifest: `(definition, pointer, mapping)`.
fn instances<'a>(cx: &Context<'a>) -> Vec<(&'static str, String, &'a Map<String, Value>)> {
    let manifest = cx.manifest;
    let object = &manifest.object;
    let mut found = Vec::new();
    let mut at = |definition: &'static str, pointer: String, value: Option<&'a Value>| {
        if let Some(map) = value.and_then(Value::as_object) {
            found.push((definition, pointer, map));
        }
    };
    let each = |value: Option<&'a Value>| value.and_then(Value::as_array).into_iter().flatten();
    if let Some(spec) = pod_spec(manifest) {
        let pod = lookup(&manifest.value, spec.pointer);
        at("io.k8s.api.core.v1.PodSpec", spec.pointer.to_owned(), pod);
        let sc = format!("{}/securityContext/seccompProfile", spec.pointer);
        at("io.k8s.api.core.v1.SeccompProfile", sc.clone(), lookup(&manifest.value, &sc));
        for (i, t) in each(spec.spec.get("tolerations")).enumerate() {
            at("io.k8s.api.core.v1.Toleration", spec.field_pointer(&format!("tolerations/{i}")), Some(t));
        }
        let node = format!("{}/affinity/nodeAffinity", spec.pointer);
        let required = format!("{node}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms");
        let mut terms: Vec<(String, &Value)> = each(lookup(&manifest.value, &required))
            .enumerate()
            .map(|(i, t)| (format!("{required}/{i}"), t))
            .collect();
        let preferred = format!("{node}/preferredDuringSchedulingIgnoredDuringExecution");
        for (i, p) in each(lookup(&manifest.value, &preferred)).enumerate() {
            if let Some(term) = p.get("preference") {
                terms.push((format!("{preferred}/{i}/preference"), term));
            }
        }
        for (pointer, term) in terms {
            for list in ["matchExpressions", "matchFields"] {
                for (i, r) in each(term.get(list)).enumerate() {
                    at(
                        "io.k8s.api.core.v1.NodeSelectorRequirement",
                        format!("{pointer}/{list}/{i}"),
                        Some(r),
                    );
                }
            }
        }
        for c in spec.containers() {
            at(
                "io.k8s.api.core.v1.Container",
                c.pointer(""),
                lookup(&manifest.value, &c.pointer("")),
            );
            at(
                "io.k8s.api.core.v1.SeccompProfile",
                c.pointer("securityContext/seccompProfile"),
                c.get(&["securityContext", "seccompProfile"]),
            );
            for (i, p) in each(c.value.get("ports")).enumerate() {
                at("io.k8s.api.core.v1.ContainerPort", c.pointer(&format!("ports/{i}")), Some(p));
            }
        }
    }
    let spec = manifest.value.get("spec");
    match (object.api_version.as_str(), object.kind.as_str()) {
        ("v1", "Service") => {
            at("io.k8s.api.core.v1.ServiceSpec", "/spec".to_owned(), spec);
            for (i, p) in each(spec.and_then(|s| s.get("ports"))).enumerate() {
                at("io.k8s.api.core.v1.ServicePort", format!("/spec/ports/{i}"), Some(p));
            }
        }
        ("apps/v1", "Deployment") => at(
            "io.k8s.api.apps.v1.DeploymentStrategy",
            "/spec/strategy".to_owned(),
            spec.and_then(|s| s.get("strategy")),
        ),
        ("apps/v1", "StatefulSet") => at("io.k8s.api.apps.v1.StatefulSetSpec", "/spec".to_owned(), spec),
        _ => {}
    }
    found
}

impl Rule for EnumValue {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let found = instances(cx);
        if found.is_empty() {
            return;
        }
        // The newest bundled version when none is set (the schema bundle's newest: 1.37).
        let version = cx
            .schema
            .version()
            .or_else(|| crate::schema::builtin::newest().ok())
            .map(|v| v.minor);
        for (definition, pointer, map) in found {
            for table in tables().iter().filter(|t| t.definition == definition) {
                let Some(Value::String(value)) = map.get(&table.field) else {
                    continue; // unset, or a wrong type (KG005's)
                };
                if value.is_empty() {
                    continue;
                }
                let accepted = match version {
                    Some(v) => table.ranges.iter().find(|(a, b, _)| (*a..=*b).contains(&v)),
                    None => table.ranges.last(),
                }
                .or(table.ranges.last());
                let Some((_, _, accepted)) = accepted else { continue };
                if accepted.iter().any(|a| a == value) {
                    continue;
                }
                let field_pointer = format!("{pointer}/{}", table.field);
                let listed = accepted
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let case = accepted
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(value))
                    .map(|a| format!(" (values are case-sensitive: write {a:?})"))
                    .unwrap_or_default();
                out.push(Violation {
                    message: format!(
                        "{}: Unsupported value: {:?}: supported values: {listed}{case}",
                        dotted(&field_pointer),
                        shorten(value)
                    ),
                    pointer: field_pointer,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_parses_and_covers_every_bundled_version() {
        let tables = parse(API_ENUMS_YAML).expect("policies/api-enums.yaml");
        assert!(tables.len() >= 14);
        let versions = crate::schema::builtin::bundled_versions().expect("bundle");
        for t in &tables {
            for v in &versions {
                assert_eq!(
                    t.ranges.iter().filter(|(a, b, _)| (*a..=*b).contains(&v.minor)).count(),
                    1,
                    "{}.{} at {v}",
                    t.definition,
                    t.field
                );
            }
        }
        let operator = tables
            .iter()
            .find(|t| t.definition.ends_with(".Toleration") && t.field == "operator")
            .expect("toleration operator");
        let at = |minor: u32| {
            operator
                .ranges
                .iter()
                .find(|(a, b, _)| (*a..=*b).contains(&minor))
                .map(|(_, _, v)| v.join(","))
        };
        assert_eq!(at(34).as_deref(), Some("Exists,Equal"));
        assert_eq!(at(35).as_deref(), Some("Exists,Equal,Lt,Gt"));
    }
}
