//! Kubernetes label selectors (`matchLabels` and `matchExpressions`), read once and matched
//! against an object's labels. One reading for every user: Gatekeeper constraints' selectors and
//! the rules that follow a selector to its pods.

use serde_json::{Map, Value};

/// A parsed label selector. An empty selector matches every object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    labels: Vec<(String, String)>,
    expressions: Vec<Expression>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Expression {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl LabelSelector {
    /// Reads a selector as the API server does: `matchLabels` maps label keys to strings and
    /// every expression has a key, a known operator and string values. Anything else is an
    /// error naming the part that is wrong (the API server would reject the object).
    pub fn parse(selector: &Value) -> Result<Self, String> {
        let Value::Object(selector) = selector else {
            return Err("a label selector must be a mapping".into());
        };
        let mut labels = Vec::new();
        match selector.get("matchLabels") {
            None | Some(Value::Null) => {}
            Some(Value::Object(wanted)) => {
                for (key, value) in wanted {
                    let Value::String(value) = value else {
                        return Err(format!("matchLabels.{key} must be a string, found {value}"));
                    };
                    labels.push((key.clone(), value.clone()));
                }
            }
            Some(_) => return Err("matchLabels must be a mapping".into()),
        }
        let mut expressions = Vec::new();
        match selector.get("matchExpressions") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (i, e) in list.iter().enumerate() {
                    let at = format!("matchExpressions[{i}]");
                    let key = e
                        .get("key")
                        .and_then(Value::as_str)
                        .ok_or_else(|| format!("{at} has no key"))?;
                    let operator = match e.get("operator").and_then(Value::as_str) {
                        Some("In") => Operator::In,
                        Some("NotIn") => Operator::NotIn,
                        Some("Exists") => Operator::Exists,
                        Some("DoesNotExist") => Operator::DoesNotExist,
                        Some(other) => {
                            return Err(format!("unknown selector operator {other:?} in {at}"))
                        }
                        None => return Err(format!("{at} has no operator")),
                    };
                    let values = match e.get("values") {
                        None | Some(Value::Null) => Vec::new(),
                        Some(Value::Array(values)) => values
                            .iter()
                            .map(|v| v.as_str().map(str::to_owned))
                            .collect::<Option<Vec<_>>>()
                            .ok_or_else(|| format!("{at}.values must be strings"))?,
                        Some(_) => return Err(format!("{at}.values must be a sequence")),
                    };
                    expressions.push(Expression {
                        key: key.to_owned(),
                        operator,
                        values,
                    });
                }
            }
            Some(_) => return Err("matchExpressions must be a sequence".into()),
        }
        Ok(Self {
            labels,
            expressions,
        })
    }

    /// Whether the selector has no requirement at all (it selects everything).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.expressions.is_empty()
    }

    /// Whether an object with these labels (its `metadata.labels`; `None`: no labels) is
    /// selected.
    pub fn matches(&self, labels: Option<&Value>) -> bool {
        self.matches_labels(labels.and_then(Value::as_object))
    }

    /// [`LabelSelector::matches`] for labels already read as a mapping.
    pub fn matches_labels(&self, labels: Option<&Map<String, Value>>) -> bool {
        self.matches_with(|key| labels.and_then(|l| l.get(key)).and_then(Value::as_str))
    }

    /// Whether the Namespace `name` with these labels is selected. The API server sets
    /// [`NAMESPACE_NAME_LABEL`] to the name on every Namespace (1.21+), whatever the manifest
    /// says, so the selector sees it too.
    pub fn matches_namespace(&self, name: &str, labels: Option<&Value>) -> bool {
        let labels: Option<&Map<String, Value>> = labels.and_then(Value::as_object);
        self.matches_with(|key| {
            if key == NAMESPACE_NAME_LABEL {
                Some(name)
            } else {
                labels.and_then(|l| l.get(key)).and_then(Value::as_str)
            }
        })
    }

    /// Whether the selector reads no label but [`NAMESPACE_NAME_LABEL`]: then a namespace's
    /// name alone decides it, without its Namespace object.
    pub fn reads_only_namespace_name(&self) -> bool {
        self.labels.iter().all(|(k, _)| k == NAMESPACE_NAME_LABEL)
            && self
                .expressions
                .iter()
                .all(|e| e.key == NAMESPACE_NAME_LABEL)
    }

    fn matches_with<'a>(&self, label: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.labels
            .iter()
            .all(|(key, value)| label(key) == Some(value.as_str()))
            && self.expressions.iter().all(|e| {
                let listed = || label(&e.key).is_some_and(|l| e.values.iter().any(|v| v == l));
                match e.operator {
                    Operator::In => listed(),
                    Operator::NotIn => !listed(),
                    Operator::Exists => label(&e.key).is_some(),
                    Operator::DoesNotExist => label(&e.key).is_none(),
                }
            })
    }
}

/// The label the API server puts on every Namespace, set to its name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn matches(selector: Value, labels: Value) -> Result<bool, String> {
        Ok(LabelSelector::parse(&selector)?.matches(Some(&labels)))
    }

    /// The namespace-name label is the name, whatever the manifest says; a selector on it
    /// alone needs no Namespace object.
    #[test]
    fn namespaces_carry_their_name_label() {
        let by_name = LabelSelector::parse(&json!({"matchLabels": {NAMESPACE_NAME_LABEL: "prod"}}))
            .expect("selector");
        assert!(by_name.matches_namespace("prod", None));
        assert!(!by_name.matches_namespace("dev", Some(&json!({NAMESPACE_NAME_LABEL: "prod"}))));
        assert!(by_name.reads_only_namespace_name());
        let both = LabelSelector::parse(&json!({"matchLabels": {NAMESPACE_NAME_LABEL: "prod"},
            "matchExpressions": [{"key": "team", "operator": "Exists"}]}))
        .expect("selector");
        assert!(!both.reads_only_namespace_name());
        assert!(both.matches_namespace("prod", Some(&json!({"team": "a"}))));
        assert!(!both.matches_namespace("prod", None));
    }

    #[test]
    fn match_labels_and_expressions() {
        let labels = json!({"app": "web", "tier": "frontend"});
        assert_eq!(matches(json!({}), labels.clone()), Ok(true));
        assert_eq!(
            matches(json!({"matchLabels": {"app": "web"}}), labels.clone()),
            Ok(true)
        );
        assert_eq!(
            matches(
                json!({"matchLabels": {"app": "web", "tier": "db"}}),
                labels.clone()
            ),
            Ok(false)
        );
        let expr = |op: &str, values: Value| json!({"matchExpressions": [{"key": "tier", "operator": op, "values": values}]});
        assert_eq!(
            matches(expr("In", json!(["frontend", "edge"])), labels.clone()),
            Ok(true)
        );
        assert_eq!(
            matches(expr("NotIn", json!(["frontend"])), labels.clone()),
            Ok(false)
        );
        assert_eq!(
            matches(expr("NotIn", json!(["db"])), labels.clone()),
            Ok(true)
        );
        assert_eq!(matches(expr("Exists", json!([])), labels.clone()), Ok(true));
        assert_eq!(
            matches(expr("DoesNotExist", Value::Null), labels.clone()),
            Ok(false)
        );
        // No labels at all: only selectors without label requirements match.
        let s = LabelSelector::parse(&json!({"matchLabels": {"a": "1"}})).expect("selector");
        assert!(!s.matches(None));
        assert!(LabelSelector::default().matches(None));
    }

    /// The API server reads `matchLabels` as `map[string]string`: a number is not the string
    /// "3" (the Gatekeeper reading used to say it was, the PDB rule that it was malformed).
    #[test]
    fn malformed_selectors_are_errors() {
        let labels = json!({"app": "3"});
        for bad in [
            json!({"matchLabels": {"app": 3}}),
            json!({"matchLabels": ["app"]}),
            json!({"matchExpressions": [{"key": "a", "operator": "Near"}]}),
            json!({"matchExpressions": [{"operator": "Exists"}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "In", "values": [1]}]}),
            json!({"matchExpressions": {"key": "a"}}),
            json!("app=web"),
        ] {
            assert!(matches(bad.clone(), labels.clone()).is_err(), "{bad}");
        }
    }
}
