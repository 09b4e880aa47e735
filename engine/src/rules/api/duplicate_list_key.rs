use crate::model::position::dotted;
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;
use std::collections::BTreeMap;

declare_rule! {
    /// Entries of the lists the API treats as maps, given twice under the same key.
    DuplicateListKey {
        id: "KG015",
        name: "duplicate-list-key",
        title: "Lists the API treats as maps must not repeat a key",
        severity: Low,
        category: ApiServer,
        scope: Object,
        since: "0.2.0",
        rationale: "Several pod spec lists are maps keyed by a field in the API's schema \
(`x-kubernetes-list-type: map`): `env` by `name`, container `ports` by `containerPort` and \
`protocol`, `imagePullSecrets` by `name`. The API server accepts a repeated key on create \
with a warning (\"hides \
previous definition of ..., which may be dropped when using apply\", \"duplicate port \
definition\"), but server-side apply refuses the object (\"duplicate entries for key\"), and \
client-side apply's merge keeps only one of the entries, so which value a container sees \
depends on how the manifest is applied. (Duplicate container, volume and Service port names, \
which the API server refuses outright, are KG012's and KG013's.)",
        remediation: "Keep one entry per key: remove the earlier definition, or rename one of \
the two.",
        failing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.4.0
          env:
            - name: LOG_LEVEL
              value: info
            - name: LOG_LEVEL
              value: debug
"#,
        passing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.4.0
          env:
            - name: LOG_LEVEL
              value: debug
"#,
    }
}

/// Reports every entry of `list` (at `pointer`) whose key was seen on an earlier entry. `key`
/// gives an entry's key as text, `None` for entries it cannot judge.
fn duplicates(
    out: &mut Vec<Violation>,
    list: Option<&Value>,
    pointer: &str,
    key: impl Fn(&Value) -> Option<String>,
    consequence: &str,
) {
    let Some(list) = list.and_then(Value::as_array) else {
        return;
    };
    let mut first: BTreeMap<String, usize> = BTreeMap::new();
    for (i, entry) in list.iter().enumerate() {
        let Some(k) = key(entry) else { continue };
        match first.get(&k) {
            Some(&earlier) => {
                let at = format!("{pointer}/{i}");
                out.push(Violation {
                    message: format!(
                        "{}: {k} repeats {}[{earlier}]: {consequence}",
                        dotted(&at),
                        dotted(pointer)
                    ),
                    pointer: at,
                });
            }
            None => {
                first.insert(k, i);
            }
        }
    }
}

fn str_key(entry: &Value, field: &str) -> Option<String> {
    entry.get(field).and_then(Value::as_str).map(|s| format!("{field} {s:?}"))
}

impl Rule for DuplicateListKey {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        for c in spec.containers() {
            duplicates(
                out,
                c.value.get("env"),
                &c.pointer("env"),
                |e| str_key(e, "name"),
                "the later definition hides the earlier one, server-side apply refuses the \
object, and client-side apply may drop one of them",
            );
            duplicates(
                out,
                c.value.get("ports"),
                &c.pointer("ports"),
                |p| {
                    let port = p.get("containerPort")?.as_i64()?;
                    let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                    Some(format!("containerPort {port}/{protocol}"))
                },
                "a duplicate port definition, which server-side apply refuses",
            );
        }
        duplicates(
            out,
            spec.spec.get("imagePullSecrets"),
            &spec.field_pointer("imagePullSecrets"),
            |s| str_key(s, "name"),
            "server-side apply refuses the duplicate entry",
        );
    }
}
