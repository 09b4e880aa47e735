use crate::model::workload::{pod_spec, Container};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// Secrets in environment variables leak wherever the environment goes.
    SecretInEnv {
        id: "KG402",
        name: "secret-in-env",
        title: "Containers should read Secrets from files, not environment variables",
        severity: Low,
        category: Secrets,
        scope: Object,
        since: "0.1.0",
        rationale: "Environment variables are inherited by every child process, printed by crash \
reports and debug endpoints, and visible in `/proc/<pid>/environ`; applications often log them \
at startup. They also never change while the container runs, so a rotated Secret needs a \
restart. A Secret mounted as a volume avoids all of this. CIS 5.4.1 prefers Secrets as files.",
        remediation: "Mount the Secret as a `secret` volume (or a projected volume) and have the \
application read the file, instead of `env[].valueFrom.secretKeyRef` or `envFrom[].secretRef`.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  containers:
    - name: api
      image: ghcr.io/example/api:2.4.1
      env:
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef:
              name: db
              key: password
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  containers:
    - name: api
      image: ghcr.io/example/api:2.4.1
      env:
        - name: DB_PASSWORD_FILE
          value: /etc/db/password
      volumeMounts:
        - name: db
          mountPath: /etc/db
          readOnly: true
  volumes:
    - name: db
      secret:
        secretName: db
"#,
    }
}

/// The entries of a container's list field (`env`, `envFrom`) with their indices.
fn list<'a>(c: &Container<'a>, field: &str) -> impl Iterator<Item = (usize, &'a Value)> + 'a {
    c.value
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    crate::model::position::lookup(value, pointer)
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>")
}

impl Rule for SecretInEnv {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        for c in spec.containers() {
            for (i, var) in list(&c, "env") {
                let Some(secret) = crate::model::position::lookup(var, "/valueFrom/secretKeyRef")
                else {
                    continue;
                };
                if secret.is_null() {
                    continue;
                }
                out.push(Violation {
                    pointer: c.pointer(&format!("env/{i}/valueFrom/secretKeyRef")),
                    message: format!(
                        "{} puts key {:?} of Secret {:?} into environment variable {:?}; \
mount the Secret as a file instead",
                        c.label(),
                        str_at(secret, "/key"),
                        str_at(secret, "/name"),
                        str_at(var, "/name"),
                    ),
                });
            }
            for (i, source) in list(&c, "envFrom") {
                let Some(secret) = source.get("secretRef") else {
                    continue;
                };
                if secret.is_null() {
                    continue;
                }
                out.push(Violation {
                    pointer: c.pointer(&format!("envFrom/{i}/secretRef")),
                    message: format!(
                        "{} puts every key of Secret {:?} into environment variables; mount \
the Secret as a file instead",
                        c.label(),
                        str_at(secret, "/name"),
                    ),
                });
            }
        }
    }
}
