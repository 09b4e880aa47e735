//! The API server's syntax checks for names, label keys and values, annotation keys and ports,
//! written from the apimachinery validation rules (`k8s.io/apimachinery/pkg/util/validation`)
//! with the same limits and the same wording, so a finding reads like the error `kubectl apply`
//! would print. Each function returns the reasons a value is invalid (empty: valid).

/// Longest DNS-1123 label and DNS-1035 label.
pub const DNS1123_LABEL_MAX: usize = 63;
/// Longest DNS-1123 subdomain.
pub const DNS1123_SUBDOMAIN_MAX: usize = 253;
/// Longest label value and qualified-name name part.
pub const LABEL_VALUE_MAX: usize = 63;
/// Total size of an object's annotations (keys and values), in bytes.
pub const TOTAL_ANNOTATION_SIZE_MAX: usize = 256 * 1024;

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";

fn too_long(max: usize) -> String {
    format!("must be no more than {max} characters")
}

fn lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn is_label_shape(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            lower_alnum(f) && lower_alnum(l) && b.iter().all(|&c| lower_alnum(c) || c == b'-')
        }
        _ => false,
    }
}

/// A DNS-1123 label (RFC 1123): namespace names, most names that become host names.
pub fn dns1123_label(s: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if s.len() > DNS1123_LABEL_MAX {
        errors.push(too_long(DNS1123_LABEL_MAX));
    }
    if !is_label_shape(s) && s.contains('.') && s.split('.').all(is_label_shape) {
        errors.push("must not contain dots".to_owned());
    } else if !is_label_shape(s) {
        errors.push(format!(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \
'-', and must start and end with an alphanumeric character (e.g. 'my-name' or '123-abc', \
regex used for validation is '{DNS1123_LABEL_FMT}')"
        ));
    }
    errors
}

/// A DNS-1123 subdomain: the name of most objects.
pub fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if s.len() > DNS1123_SUBDOMAIN_MAX {
        errors.push(too_long(DNS1123_SUBDOMAIN_MAX));
    }
    if !s.split('.').all(is_label_shape) {
        errors.push(format!(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \
'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex \
used for validation is '{DNS1123_SUBDOMAIN_FMT}')"
        ));
    }
    errors
}

/// A DNS-1035 label: like a DNS-1123 label but starting with a letter (Service names).
pub fn dns1035_label(s: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if s.len() > DNS1123_LABEL_MAX {
        errors.push(too_long(DNS1123_LABEL_MAX));
    }
    if !(is_label_shape(s) && s.as_bytes()[0].is_ascii_lowercase()) {
        errors.push(format!(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start \
with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name' or \
'abc-123', regex used for validation is '{DNS1035_LABEL_FMT}')"
        ));
    }
    errors
}

/// A name that can be one segment of a URL path: the weakest rule, which every object name
/// (RBAC objects, custom resources) must pass because it appears in the object's REST path.
pub fn path_segment(s: &str) -> Vec<String> {
    let mut errors = Vec::new();
    match s {
        "." => errors.push("may not be '.'".to_owned()),
        ".." => errors.push("may not be '..'".to_owned()),
        _ => {}
    }
    for bad in ['/', '%'] {
        if s.contains(bad) {
            errors.push(format!("may not contain '{bad}'"));
        }
    }
    errors
}

fn is_qualified_name_part(s: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            alnum(f)
                && alnum(l)
                && b.iter()
                    .all(|&c| alnum(c) || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// A qualified name (`example.com/MyName` or `MyName`): label and annotation keys.
pub fn qualified_name(s: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let parts: Vec<&str> = s.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errors.push("prefix part must be non-empty".to_owned());
            } else {
                errors.extend(
                    dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|e| format!("prefix part {e}")),
                );
            }
            *name
        }
        _ => {
            errors.push(format!(
                "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and \
must start and end with an alphanumeric character (e.g. 'MyName' or 'my.name' or \
'123-abc', regex used for validation is '{QUALIFIED_NAME_FMT}') with an optional DNS subdomain \
prefix and '/' (e.g. 'example.com/MyName')"
            ));
            return errors;
        }
    };
    if name.is_empty() {
        errors.push("name part must be non-empty".to_owned());
    } else if name.len() > LABEL_VALUE_MAX {
        errors.push(format!("name part {}", too_long(LABEL_VALUE_MAX)));
    }
    if !name.is_empty() && !is_qualified_name_part(name) {
        errors.push(format!(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start \
and end with an alphanumeric character (e.g. 'MyName' or 'my.name' or '123-abc', regex \
used for validation is '{QUALIFIED_NAME_FMT}')"
        ));
    }
    errors
}

/// A label value: empty, or up to 63 alphanumerics, `-`, `_`, `.`, alphanumeric at both ends.
pub fn label_value(s: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if s.len() > LABEL_VALUE_MAX {
        errors.push(too_long(LABEL_VALUE_MAX));
    }
    if !s.is_empty() && !is_qualified_name_part(s) {
        errors.push(format!(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', \
'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue' or \
'my_value' or '12345', regex used for validation is '{LABEL_VALUE_FMT}')"
        ));
    }
    errors
}

/// `generateName` is a prefix: the server appends five random characters, so a trailing `-`
/// is allowed. The API server checks the prefix with its end masked, and masks exactly as
/// apimachinery's `maskTrailingDash` does: the last two characters become one `a` (`abc-` is
/// checked as `aba`).
pub fn mask_trailing_dash(s: &str) -> String {
    if s.len() > 1 && s.ends_with('-') {
        let mut end = s.len() - 2;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}a", &s[..end])
    } else {
        s.to_owned()
    }
}

/// A port number, 1–65535.
pub fn port_number(n: i64) -> Vec<String> {
    if (1..=65535).contains(&n) {
        Vec::new()
    } else {
        vec!["must be between 1 and 65535, inclusive".to_owned()]
    }
}

/// A port name (IANA_SVC_NAME, RFC 6335): 1–15 lower-case alphanumerics or `-`, at least one
/// letter, no leading, trailing or doubled `-`.
pub fn port_name(s: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if s.len() > 15 {
        errors.push(too_long(15));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        errors.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_owned(),
        );
    }
    if s.contains("--") {
        errors.push("must not contain consecutive hyphens".to_owned());
    }
    if !s.bytes().any(|b| b.is_ascii_lowercase()) {
        errors.push("must contain at least one letter (a-z)".to_owned());
    }
    if s.starts_with('-') || s.ends_with('-') {
        errors.push("must not begin or end with a hyphen".to_owned());
    }
    errors
}

/// An environment variable name as the API server checked it before relaxed validation:
/// `[-._a-zA-Z][-._a-zA-Z0-9]*` (C identifier plus `-` and `.`).
pub fn env_var_name_strict(s: &str) -> Vec<String> {
    let first_ok = s
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'-' | b'.' | b'_'));
    let rest_ok = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    let mut errors = Vec::new();
    if !(first_ok && rest_ok) {
        errors.push(
            "a valid environment variable name must consist of alphabetic characters, digits, \
'_', '-', or '.', and must not start with a digit (e.g. 'my.env-name' or 'MY_ENV.NAME' or \
'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"
                .to_owned(),
        );
    }
    match s {
        "." => errors.push("must not be '.'".to_owned()),
        ".." => errors.push("must not be '..'".to_owned()),
        _ if s.starts_with("..") => errors.push("must not start with '..'".to_owned()),
        _ => {}
    }
    errors
}

/// An environment variable name under relaxed validation: printable ASCII except `=`.
pub fn env_var_name_relaxed(s: &str) -> Vec<String> {
    if s.is_empty() {
        return vec!["environment variable name must be non-empty".to_owned()];
    }
    if s.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b'=') {
        Vec::new()
    } else {
        vec![
            "a valid environment variable name must consist only of printable ASCII characters \
other than '='"
                .to_owned(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        for ok in ["a", "my-name", "123-abc", &"a".repeat(63)] {
            assert!(dns1123_label(ok).is_empty(), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a.b", "a_b", &"a".repeat(64)] {
            assert!(!dns1123_label(bad).is_empty(), "{bad}");
        }
        for ok in ["example.com", "a", "a.b-c.d", "0.0"] {
            assert!(dns1123_subdomain(ok).is_empty(), "{ok}");
        }
        for bad in ["", "a..b", ".a", "a.", "Web", "a_b", &"a".repeat(254)] {
            assert!(!dns1123_subdomain(bad).is_empty(), "{bad}");
        }
        assert_eq!(dns1123_subdomain(&"a".repeat(254)).len(), 1);
        assert!(dns1035_label("abc-123").is_empty());
        assert!(!dns1035_label("1abc").is_empty());
        assert_eq!(
            path_segment("a/b%c"),
            ["may not contain '/'", "may not contain '%'"]
        );
        assert!(path_segment("system:controller:x").is_empty());
    }

    #[test]
    fn qualified_names_and_label_values() {
        for ok in ["app", "app.kubernetes.io/name", "MyName", "a_b.c-d"] {
            assert!(qualified_name(ok).is_empty(), "{ok}");
        }
        assert_eq!(qualified_name("/x"), ["prefix part must be non-empty"]);
        assert_eq!(qualified_name("x/"), ["name part must be non-empty"]);
        assert_eq!(qualified_name("a/b/c").len(), 1);
        assert_eq!(
            qualified_name("Example.com/x"),
            [format!(
                "prefix part {}",
                dns1123_subdomain("Example.com")[0]
            )]
        );
        assert!(!qualified_name("-x").is_empty());
        assert!(label_value("").is_empty());
        assert!(label_value("v1.2_3-a").is_empty());
        assert!(!label_value("a b").is_empty());
        assert!(!label_value(&"a".repeat(64)).is_empty());
    }

    #[test]
    fn ports_and_env_names() {
        assert!(port_number(1).is_empty() && port_number(65535).is_empty());
        assert!(!port_number(0).is_empty() && !port_number(65536).is_empty());
        assert!(port_name("http").is_empty() && port_name("h2c-8080").is_empty());
        for bad in ["HTTP", "a--b", "-a", "8080", "a_b", "abcdefghijklmnop"] {
            assert!(!port_name(bad).is_empty(), "{bad}");
        }
        assert!(env_var_name_strict("MY_ENV.NAME").is_empty());
        assert!(!env_var_name_strict("1ABC").is_empty());
        assert!(!env_var_name_strict("A B").is_empty());
        assert!(!env_var_name_strict("..a").is_empty());
        assert!(env_var_name_relaxed("1 A:B").is_empty());
        assert!(!env_var_name_relaxed("A=B").is_empty());
        assert!(!env_var_name_relaxed("").is_empty());
        assert_eq!(mask_trailing_dash("web-"), "wea");
        assert_eq!(dns1123_label("a.b"), ["must not contain dots"]);
        assert_eq!(mask_trailing_dash("-"), "-");
    }
}
