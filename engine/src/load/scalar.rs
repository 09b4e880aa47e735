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
                go_parse_float(s).map_or(Resolved::Str, Resolved::Float)
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
        if let Some(f) = go_parse_float(&plain) {
            return Resolved::Float(f);
        }
    }
    Resolved::Str
}

/// Go's `strconv.ParseFloat(s, 64)` as go-yaml uses it: a literal too large for a float64
/// (`1e400`) is an error there (`ErrRange`), so go-yaml keeps the scalar as a string.
fn go_parse_float(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|f| f.is_finite())
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
/// The JSON key go-yaml v2 and `sigs.k8s.io/yaml` make of a plain scalar key. `None` for a null
/// key; `Err` with the Go type for a key `sigs.k8s.io/yaml` refuses ("Unsupported map key of
/// type: uint64": an integer above `i64::MAX`).
pub fn key_string(raw: &str, resolved: &Resolved) -> Option<Result<String, &'static str>> {
    Some(Ok(match resolved {
        Resolved::Null => return None,
        Resolved::Bool(b) => b.to_string(),
        Resolved::Int(i) => i.to_string(),
        Resolved::UInt(_) => return Some(Err("uint64")),
        Resolved::Float(f) => go_format_float32(*f),
        Resolved::Str | Resolved::Merge => raw.to_owned(),
    }))
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`, which `sigs.k8s.io/yaml` uses for float keys:
/// the shortest digits that round-trip through a float32, in `%e` form when the decimal
/// exponent is below -4 or at least 6 (two exponent digits at least, sign always), else fixed.
pub fn go_format_float32(f: f64) -> String {
    let v = f as f32;
    // sigs.k8s.io/yaml renames Go's `NaN`, `+Inf` and `-Inf` back to YAML's spellings; a
    // float64 beyond float32's range becomes an infinity there too.
    if v.is_nan() {
        return ".nan".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    // Rust's `{:e}` gives the shortest round-tripping digits too: `1.8446744e19`, `5e-1`.
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if v == 0.0 {
        return format!("{sign}0");
    }
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.abs());
    }
    // Fixed: the point goes after `exp + 1` digits.
    let point = exp + 1;
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{body}")
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
        let key = |s: &str| key_string(s, &resolve_plain(s));
        assert_eq!(key("yes"), Some(Ok("true".to_owned())));
        assert_eq!(key("0x10"), Some(Ok("16".to_owned())));
        assert_eq!(key("1.5"), Some(Ok("1.5".to_owned())));
        assert_eq!(key("~"), None);
        assert_eq!(key("app"), Some(Ok("app".to_owned())));
        // Above i64::MAX go-yaml gives a uint64, which sigs.k8s.io/yaml refuses as a key.
        assert_eq!(key("9223372036854775808"), Some(Err("uint64")));
        assert_eq!(key(".inf"), Some(Ok(".inf".to_owned())));
    }

    #[test]
    fn float_keys_are_formatted_as_go_formats_a_float32() {
        // Expected strings are Go's strconv.FormatFloat(f, 'g', -1, 32), as the differential
        // test against sigs.k8s.io/yaml shows them.
        for (f, go) in [
            (1.5, "1.5"),
            (1000.0, "1000"),
            (123456.0, "123456"),
            (1e6, "1e+06"),
            (18446744073709551616.0, "1.8446744e+19"),
            (1.2345678901234568e29, "1.2345679e+29"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (0.1, "0.1"),
            (-0.0, "-0"),
            (1e39, ".inf"),
        ] {
            assert_eq!(go_format_float32(f), go, "{f}");
        }
    }

    #[test]
    fn floats_beyond_float64_stay_strings_as_in_go() {
        assert_eq!(resolve_plain("1e400"), Str);
        assert_eq!(resolve_plain("-1e400"), Str);
        assert_eq!(resolve_plain(".5e400"), Str);
        assert_eq!(resolve_plain("1e308"), Float(1e308));
    }
}
