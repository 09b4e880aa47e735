//! Resource quantities (`500m`, `1.5Gi`, `2e3`) as the API server reads them
//! (`k8s.io/apimachinery/pkg/api/resource`), exactly enough to compare a request with its
//! limit: the value in nano-units, rounded up as the API server rounds below its precision.

use serde_json::Value;

/// The serialization format a quantity must have.
pub const FORMAT_MESSAGE: &str = "quantities must match the regular expression \
'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// A parsed quantity in units of 10^-9, saturating far beyond any real resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(i128);

impl Quantity {
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// The value in units of 10^-9.
    pub fn nanos(self) -> i128 {
        self.0
    }

    /// The quantity of `nanos` units of 10^-9.
    pub fn from_nanos(nanos: i128) -> Self {
        Self(nanos)
    }
}

/// Reads a quantity given as a YAML string or number; `None` when the API server would refuse
/// it.
pub fn parse(value: &Value) -> Option<Quantity> {
    match value {
        Value::String(s) => parse_str(s),
        Value::Number(n) => parse_str(&n.to_string()),
        _ => None,
    }
}

/// Reads a quantity's serialized form; `None` when the API server would refuse it.
pub fn parse_str(s: &str) -> Option<Quantity> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let number_end = rest
        .bytes()
        .position(|b| !(b.is_ascii_digit() || b == b'.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return None;
    }
    // Value = digits × 10^exp10 × 2^exp2, with digits the mantissa without its point.
    let mut exp10: i32 = -(fraction.len() as i32);
    let mut exp2: u32 = 0;
    match suffix {
        "" => {}
        "Ki" => exp2 = 10,
        "Mi" => exp2 = 20,
        "Gi" => exp2 = 30,
        "Ti" => exp2 = 40,
        "Pi" => exp2 = 50,
        "Ei" => exp2 = 60,
        "n" => exp10 -= 9,
        "u" => exp10 -= 6,
        "m" => exp10 -= 3,
        "k" => exp10 += 3,
        "M" => exp10 += 6,
        "G" => exp10 += 9,
        "T" => exp10 += 12,
        "P" => exp10 += 15,
        "E" => exp10 += 18,
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E'])?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let e: i32 = exponent.parse().ok()?;
            exp10 = exp10.checked_add(e)?;
        }
    }
    // Nano-units: shift by 9, then scale, rounding a remainder up.
    exp10 += 9;
    let mut mantissa: i128 = 0;
    for b in whole.bytes().chain(fraction.bytes()) {
        mantissa = mantissa
            .saturating_mul(10)
            .saturating_add(i128::from(b - b'0'));
    }
    let mut value = mantissa;
    if exp10 >= 0 {
        for _ in 0..exp10.min(40) {
            value = value.saturating_mul(10);
        }
    } else {
        let mut divisor: i128 = 1;
        for _ in 0..(-exp10).min(38) {
            divisor = divisor.saturating_mul(10);
        }
        let rounded_up = value % divisor != 0;
        value = value / divisor + i128::from(rounded_up);
    }
    value = value.saturating_mul(1i128 << exp2);
    Some(Quantity(if negative { -value } else { value }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(s: &str) -> Option<Quantity> {
        parse(&json!(s))
    }

    #[test]
    fn forms_and_comparisons() {
        assert_eq!(q("100m"), q("0.1"));
        assert_eq!(q("1Gi"), q("1073741824"));
        assert_eq!(q("1k"), q("1e3"));
        assert_eq!(q("1.5Gi"), q("1536Mi"));
        assert_eq!(parse(&json!(2)), q("2000m"));
        assert_eq!(parse(&json!(0.5)), q("500m"));
        assert!(q("2") > q("1500m"));
        assert!(q("135M") > q("128Mi") && q("134M") < q("128Mi"));
        assert!(q("-1").is_some_and(Quantity::is_negative));
        assert_eq!(q("1n"), q("0.000000001"));
        assert_eq!(q("0.0000000001"), q("1n"), "below precision rounds up");
        for bad in [
            "", "abc", "1.2.3", "1Kb", "1e", "1e+", "m", ".", "1 Gi", "1ki",
        ] {
            assert_eq!(q(bad), None, "{bad}");
        }
        assert!(q("1E").is_some() && q("1e3") < q("1E"));
        assert_eq!(parse(&json!(true)), None);
    }
}
