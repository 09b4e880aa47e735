//! Plain-scalar resolution exactly as the Kubernetes API machinery reads YAML.
//!
//! kubectl and the API server convert YAML to JSON with `sigs.k8s.io/yaml`, which decodes with
//! go-yaml v2 (YAML 1.1 flavoured). So `yes`, `On` and `n` are booleans, `0755` is octal, `~`
//! and the empty scalar are null, and `1_000` is an integer. A checker that read YAML 1.2 rules
//! instead would see `privileged: yes` as the string "yes" and let a privileged pod through.
//!
//! Only *plain* (unquoted) scalars are resolved; quoted and block scalars are always strings.
//! Timestamps are not special here: go-yaml v2 hands timestamp-looking values to
//! `interface{}` targets as their original string, which is what JSON conversion sees.

/// What a plain scalar resolves to.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str,
    /// The YAML 1.1 merge key `<<`.
    Merge,
}

/// Resolves an untagged plain scalar the way go-yaml v2's `resolve()` does.
pub fn resolve_plain(s: &str) -> Resolved {
    let Some(&first) = s.as_bytes().first() else {
        return Resolved::Null;
    };
    match first {
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => {
            lookup_table(s).unwrap_or(Resolved::Str)
        }
        b'.' => lookup_table(s).unwrap_or_else(|| {
            if is_dot_float(s) {
                s.parse::<f64>()
                    .map(Resolved::Float)
                    .unwrap_or(Resolved::Str)
            } else {
                Resolved::Str
            }
        }),
        b'+' | b'-' | b'0'..=b'9' => lookup_table(s).unwrap_or_else(|| resolve_number(s)),
        b'<' if s == "<<" => Resolved::Merge,
        _ => Resolved::Str,
    }
}

fn lookup_table(s: &str) -> Option<Resolved> {
    Some(match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Resolved::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Resolved::Bool(false)
        }
        "~" | "null" | "Null" | "NULL" => Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Resolved::Float(f64::NEG_INFINITY),
        _ => return None,
    })
}

/// Digits or a sign first: go-yaml strips every `_`, then tries `strconv.ParseInt(s, 0, 64)`,
/// `strconv.ParseUint(s, 0, 64)` and finally a YAML-style float.
fn resolve_number(s: &str) -> Resolved {
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    if let Some(v) = go_parse_int(&plain) {
        if let Ok(i) = i64::try_from(v) {
            return Resolved::Int(i);
        }
        // ParseUint accepts no sign at all.
        if !plain.starts_with(['+', '-']) {
            if let Ok(u) = u64::try_from(v) {
                return Resolved::UInt(u);
            }
        }
    }
    if is_yaml_style_float(&plain) {
        if let Ok(f) = plain.parse::<f64>() {
            return Resolved::Float(f);
        }
    }
    Resolved::Str
}

/// Go's `strconv.ParseInt`/`ParseUint` with base 0: optional sign, then `0x`, `0o`, `0b`
/// prefixes, a leading `0` for octal, or decimal. Returns the value if it fits in 128 bits.
fn go_parse_int(s: &str) -> Option<i128> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(d) = rest.strip_prefix("0x").or(rest.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = rest.strip_prefix("0b").or(rest.strip_prefix("0B")) {
        (2, d)
    } else if let Some(d) = rest.strip_prefix("0o").or(rest.strip_prefix("0O")) {
        (8, d)
    } else if rest.len() > 1 && rest.starts_with('0') {
        (8, &rest[1..])
    } else {
        (10, rest)
    };
    if digits.is_empty() || digits.len() > 130 || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat` on a string that starts with `.` (no base prefix, so no `_`).
fn is_dot_float(s: &str) -> bool {
    s.len() > 1 && is_yaml_style_float(s)
}

/// The string sigs.k8s.io/yaml uses for a non-string mapping key, or `None` where it refuses
/// the key (null keys).
pub fn key_string(raw: &str, resolved: &Resolved) -> Option<String> {
    Some(match resolved {
        Resolved::Null => return None,
        Resolved::Bool(b) => b.to_string(),
        Resolved::Int(i) => i.to_string(),
        Resolved::UInt(u) => u.to_string(),
        Resolved::Float(f) if f.is_nan() => ".nan".to_owned(),
        Resolved::Float(f) if f.is_infinite() => if *f > 0.0 { ".inf" } else { "-.inf" }.to_owned(),
        Resolved::Float(f) => format_go_float_key(*f),
        Resolved::Str | Resolved::Merge => raw.to_owned(),
    })
}

/// Approximates Go's `strconv.FormatFloat(f, 'g', -1, 32)` for the float keys that occur in
/// practice (integral or short decimals).
fn format_go_float_key(f: f64) -> String {
    let f32v = f as f32;
    if f32v.fract() == 0.0 && f32v.abs() < 1e6 {
        format!("{}", f32v as i64)
    } else {
        format!("{f32v}")
    }
}

#[cfg(test)]
mod tests {
    use super::Resolved::*;
    use super::*;

    #[test]
    fn booleans_follow_yaml_1_1() {
        for s in [
            "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE",
        ] {
            assert_eq!(resolve_plain(s), Bool(true), "{s}");
        }
        for s in [
            "n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE",
        ] {
            assert_eq!(resolve_plain(s), Bool(false), "{s}");
        }
        // Variants go-yaml does not accept stay strings.
        for s in ["yEs", "tRUE", "oN", "nO", "Yes!", "truee", "enabled"] {
            assert_eq!(resolve_plain(s), Str, "{s}");
        }
    }

    #[test]
    fn nulls() {
        for s in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(resolve_plain(s), Null, "{s:?}");
        }
        assert_eq!(resolve_plain("nULL"), Str);
        assert_eq!(resolve_plain("nil"), Str);
    }

    #[test]
    fn integers_with_go_prefixes() {
        assert_eq!(resolve_plain("0755"), Int(0o755));
        assert_eq!(resolve_plain("0o755"), Int(0o755));
        assert_eq!(resolve_plain("0x1F"), Int(31));
        assert_eq!(resolve_plain("0b101"), Int(5));
        assert_eq!(resolve_plain("-0b101"), Int(-5));
        assert_eq!(resolve_plain("+42"), Int(42));
        assert_eq!(resolve_plain("-42"), Int(-42));
        assert_eq!(resolve_plain("1_000"), Int(1000));
        assert_eq!(resolve_plain("0"), Int(0));
        assert_eq!(resolve_plain("18446744073709551615"), UInt(u64::MAX));
        assert_eq!(resolve_plain("9223372036854775807"), Int(i64::MAX));
    }

    #[test]
    fn floats_and_not_quite_numbers() {
        assert_eq!(resolve_plain("1.5"), Float(1.5));
        assert_eq!(resolve_plain("1e3"), Float(1000.0));
        assert_eq!(resolve_plain(".5"), Float(0.5));
        assert_eq!(resolve_plain("-.5"), Float(-0.5));
        assert_eq!(resolve_plain("1."), Float(1.0));
        // An invalid octal is not an integer, but it is a YAML-style float.
        assert_eq!(resolve_plain("08"), Float(8.0));
        assert_eq!(
            resolve_plain("-18446744073709551616"),
            Float(-18446744073709551616.0)
        );
        assert!(matches!(resolve_plain(".inf"), Float(f) if f == f64::INFINITY));
        assert!(matches!(resolve_plain("-.Inf"), Float(f) if f == f64::NEG_INFINITY));
        assert!(matches!(resolve_plain(".NaN"), Float(f) if f.is_nan()));
        for s in [
            "1.2.3",
            "1e",
            "0x",
            "+",
            "-",
            "1-2",
            "1:30",
            "2001-12-14",
            ".",
            ".e5",
            "+inf",
            "nan",
            "1 2",
            "3Mi",
            "100m",
            "v1",
            "1.0.0",
        ] {
            assert_eq!(resolve_plain(s), Str, "{s}");
        }
    }

    #[test]
    fn merge_key() {
        assert_eq!(resolve_plain("<<"), Merge);
        assert_eq!(resolve_plain("<<<"), Str);
    }

    #[test]
    fn keys_become_strings_like_sigs_yaml() {
        assert_eq!(
            key_string("yes", &resolve_plain("yes")).as_deref(),
            Some("true")
        );
        assert_eq!(
            key_string("0x10", &resolve_plain("0x10")).as_deref(),
            Some("16")
        );
        assert_eq!(
            key_string("1.5", &resolve_plain("1.5")).as_deref(),
            Some("1.5")
        );
        assert_eq!(key_string("~", &resolve_plain("~")), None);
        assert_eq!(
            key_string("app", &resolve_plain("app")).as_deref(),
            Some("app")
        );
    }
}
