use crate::model::position::escape_token;
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

declare_rule! {
    /// Credentials written into a manifest: literal env values and ConfigMap data.
    PlaintextCredential {
        id: "KG223",
        name: "plaintext-credential",
        title: "Credentials should come from Secrets, not literal env values or ConfigMaps",
        severity: Medium,
        category: Secrets,
        scope: Object,
        since: "0.2.0",
        rationale: "A password or token written as a container's env `value`, or into a \
ConfigMap, is stored in plain text in the repository, in every rendered manifest and CI log, \
in etcd unencrypted, and readable by everyone who may read pods or ConfigMaps in the \
namespace: far more people than may read Secrets. kubegate reports, without ever repeating \
the value: (1) a literal env `value` or a ConfigMap `data` entry whose name reads as a \
credential (its words include password, passwd, pwd, pass, secret, token, credential(s), \
apikey/api key, private key, access key or client secret) unless the name ends in a word that \
makes it a setting about the credential (file, path, dir, url, name, user, username, id, \
enabled, ttl, timeout, length, type, header, mode, ref, policy, ...); (2) `key=value` or \
`key: value` lines with such keys inside a ConfigMap's file-like data; (3) anywhere in those \
values, text that is a credential by its form: a PEM private key, an AWS access key id, a \
GitHub or Slack token, a JSON Web Token, or a URL with a password (`scheme://user:pass@`). \
Values that cannot be a secret are left alone: empty, `$(VAR)` references, `${VAR}` and \
`{{ }}` placeholders, `<...>` placeholders, absolute paths, numbers and booleans. A value that \
only looks like a credential can be exempted with the reason.",
        remediation: "Put the value in a Secret (created outside the repository, or encrypted: \
SealedSecrets, SOPS, External Secrets) and refer to it with `valueFrom.secretKeyRef` or a \
`secret` volume; rotate any credential that was committed.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  containers:
    - name: api
      image: registry.example.com/api:2.1.0
      env:
        - name: DB_PASSWORD
          value: hunter2-but-longer
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  containers:
    - name: api
      image: registry.example.com/api:2.1.0
      env:
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef: {name: db, key: password}
        - name: DB_PASSWORD_FILE
          value: /etc/db/password
"#,
    }
}

/// Words that make a name a credential's.
const SECRET_WORDS: [&str; 9] = [
    "password",
    "passwd",
    "pwd",
    "pass",
    "passphrase",
    "secret",
    "token",
    "credential",
    "credentials",
];

/// Pairs of adjacent words that do (`API_KEY`, `PRIVATE_KEY`).
const SECRET_PAIRS: [(&str, &str); 5] = [
    ("api", "key"),
    ("private", "key"),
    ("access", "key"),
    ("secret", "key"),
    ("client", "secret"),
];

/// Single words that do.
const SECRET_JOINED: [&str; 3] = ["apikey", "privatekey", "accesskey"];

/// Last words that make the name a setting about a credential, not the credential.
const SETTING_WORDS: [&str; 24] = [
    "file", "path", "dir", "url", "uri", "endpoint", "name", "user", "username", "id",
    "enabled", "enable", "ttl", "timeout", "length", "type", "header", "mode", "ref",
    "policy", "expiry", "expiration", "lifetime", "required",
];

/// The words of a name: split at `_`, `-`, `.` and lower-to-upper case changes, lowercased.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && previous_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The credential word of a name (`password` for `DB_PASSWORD`), if the name is a
/// credential's.
fn credential_word(name: &str) -> Option<String> {
    let words = words(name);
    let last = words.last()?;
    if SETTING_WORDS.contains(&last.as_str()) {
        return None;
    }
    if let Some(w) = words
        .iter()
        .find(|w| SECRET_WORDS.contains(&w.as_str()) || SECRET_JOINED.contains(&w.as_str()))
    {
        return Some(w.clone());
    }
    words.windows(2).find_map(|pair| {
        SECRET_PAIRS
            .iter()
            .any(|(a, b)| pair[0] == *a && pair[1] == *b)
            .then(|| format!("{} {}", pair[0], pair[1]))
    })
}

/// Whether a value cannot be a secret: empty or very short, a reference, a placeholder, a
/// path, a number or a boolean.
fn cannot_be_secret(value: &str) -> bool {
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'');
    v.chars().count() < 4
        || v.starts_with("$(")
        || v.starts_with("${")
        || v.contains("{{")
        || (v.starts_with('<') && v.ends_with('>'))
        || v.starts_with('/')
        || v.parse::<f64>().is_ok()
        || matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "none" | "null"
        )
}

/// Credentials recognisable by their form, with what to call them.
static FORMS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"-----BEGIN [A-Z ]*PRIVATE KEY-----", "a PEM private key"),
        (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", "an AWS access key id"),
        (r"\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{22,}", "a GitHub token"),
        (r"\bxox[abprs]-[A-Za-z0-9-]{10,}", "a Slack token"),
        (r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", "a JSON Web Token"),
        (r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:([^/\s@$\{<]+)@", "a URL with a password"),
    ]
    .into_iter()
    .filter_map(|(pattern, what)| Regex::new(pattern).ok().map(|r| (r, what)))
    .collect()
});

/// What credential `value` holds by its form, if any.
fn credential_form(value: &str) -> Option<&'static str> {
    FORMS
        .iter()
        .find(|(regex, _)| regex.is_match(value))
        .map(|(_, what)| *what)
}

/// `key=value` / `key: value` lines of file-like data whose key is a credential's: the key
/// and the line number within the value (1-based).
fn credential_lines(text: &str) -> Option<(String, usize)> {
    static LINE: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"^\s*(?:export\s+)?([A-Za-z0-9_.\-]+)\s*[:=]\s*(\S.*?)\s*$").ok()
    });
    let line = LINE.as_ref()?;
    text.lines().enumerate().find_map(|(i, l)| {
        let captures = line.captures(l)?;
        let key = captures.get(1)?.as_str();
        let value = captures.get(2)?.as_str();
        (credential_word(key).is_some() && !cannot_be_secret(value))
            .then(|| (key.to_owned(), i + 1))
    })
}

impl Rule for PlaintextCredential {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let object = &manifest.object;
        if object.api_version == "v1" && object.kind == "ConfigMap" {
            let Some(Value::Object(data)) = manifest.value.get("data") else {
                return;
            };
            let name = object.name.as_deref().unwrap_or("<unnamed>");
            for (key, value) in data {
                let Some(text) = value.as_str() else {
                    continue;
                };
                let pointer = format!("/data/{}", escape_token(key));
                let why = if let Some(word) =
                    credential_word(key).filter(|_| !text.contains('\n') && !cannot_be_secret(text))
                {
                    format!("key {key:?} reads as a credential ({word})")
                } else if let Some(form) = credential_form(text) {
                    format!("the value of key {key:?} holds {form}")
                } else if let Some((line_key, line)) =
                    credential_lines(text).filter(|_| text.contains('\n'))
                {
                    format!("line {line} of key {key:?} sets {line_key:?}, which reads as a credential")
                } else {
                    continue;
                };
                out.push(Violation {
                    pointer,
                    message: format!(
                        "ConfigMap {name:?}: {why}; ConfigMaps are stored and shown in plain \
                         text, so keep credentials in a Secret"
                    ),
                });
            }
            return;
        }
        let Some(spec) = pod_spec(manifest) else {
            return;
        };
        for container in spec.containers() {
            let env = container.value.get("env").and_then(Value::as_array);
            for (i, entry) in env.into_iter().flatten().enumerate() {
                let (Some(name), Some(value)) = (
                    entry.get("name").and_then(Value::as_str),
                    entry.get("value").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let why = if let Some(word) =
                    credential_word(name).filter(|_| !cannot_be_secret(value))
                {
                    format!("its name reads as a credential ({word})")
                } else if let Some(form) = credential_form(value) {
                    format!("the value holds {form}")
                } else {
                    continue;
                };
                out.push(Violation {
                    pointer: container.pointer(&format!("env/{i}/value")),
                    message: format!(
                        "env var {name:?} of {} has a literal value and {why}; use \
                         valueFrom.secretKeyRef so the credential stays in a Secret",
                        container.label()
                    ),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_word_by_word() {
        assert_eq!(words("dbPassword_FILE"), ["db", "password", "file"]);
        for name in [
            "DB_PASSWORD", "password", "redisPass", "API_KEY", "apiKey", "STRIPE_SECRET_KEY",
            "GITHUB_TOKEN", "aws.secret.access.key", "OAUTH_CLIENT_SECRET", "credentials",
        ] {
            assert!(credential_word(name).is_some(), "{name}");
        }
        for name in [
            "DB_PASSWORD_FILE", "TOKEN_URL", "SECRET_NAME", "PASSWORD_MIN_LENGTH", "PASSPORT",
            "AWS_ACCESS_KEY_ID", "BYPASS_CACHE", "KEY", "TOKENIZER_MODEL", "DB_USER",
        ] {
            assert!(credential_word(name).is_none(), "{name}");
        }
    }

    #[test]
    fn placeholders_and_references_cannot_be_secrets() {
        for value in ["", "$(DB_PASSWORD)", "${PASSWORD}", "{{ .Values.pw }}", "<password>", "/run/secrets/pw", "3600", "true", "abc"] {
            assert!(cannot_be_secret(value), "{value:?}");
        }
        assert!(!cannot_be_secret("hunter22"));
    }

    #[test]
    fn credentials_are_recognised_by_their_form() {
        let cases = [
            ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...", Some("a PEM private key")),
            ("AKIAIOSFODNN7EXAMPLE", Some("an AWS access key id")),
            ("ghp_0123456789abcdefghijABCDEFGHIJ012345", Some("a GitHub token")),
            ("postgres://app:s3cret@db:5432/app", Some("a URL with a password")),
            ("postgres://app:${DB_PASSWORD}@db:5432/app", None),
            ("https://example.com/path", None),
            ("-----BEGIN CERTIFICATE-----", None),
        ];
        for (value, expected) in cases {
            assert_eq!(credential_form(value), expected, "{value}");
        }
        assert_eq!(
            credential_lines("url=jdbc:x\nspring.datasource.password=hunter22\n"),
            Some(("spring.datasource.password".to_owned(), 2))
        );
        assert_eq!(credential_lines("password=${DB_PASSWORD}\npassword_file=/x\n"), None);
    }
}
