//! The `x-kubernetes-list-type` invariants of a CustomResourceDefinition's schema, enforced as
//! the API server enforces them on a custom resource (apiextensions-apiserver's list-type
//! validation, whose behaviour this follows; the code is kubegate's own):
//!
//! - a `set` list must not hold the same value twice (objects and lists compared by value);
//! - a `map` list holds objects (or nulls), and no two of them may have the same values of
//!   the `x-kubernetes-list-map-keys` fields; a key field an item leaves out counts as one
//!   more value, the same for every item that leaves it out;
//! - each repeated value or key is reported once, at the item that repeats it first
//!   (`spec.ports[2]: Duplicate value: {"name":"http"}`);
//! - the check runs on the defaulted object (a key field's `default` fills it in first), and
//!   does not stop the `x-kubernetes-validations` rules from running.
//!
//! The CRD itself is judged as the API server judges it on creation: a `map` list needs
//! `x-kubernetes-list-map-keys`, each key a property of the items that is required or has a
//! default.

use crate::model::position::{dotted, escape_token, unescape_token};
use crate::vocab::Violation;
use serde_json::Value;
use std::collections::HashMap;

/// What a list promises about its items.
#[derive(Debug)]
enum ListType {
    Set,
    /// A `map` list keyed by these fields.
    Map(Vec<String>),
}

/// The `set` and `map` lists of a schema, as a tree of just the paths that lead to them.
#[derive(Debug, Default)]
pub(crate) struct ListTypes {
    list: Option<ListType>,
    properties: Vec<(String, ListTypes)>,
    items: Option<Box<ListTypes>>,
    additional: Option<Box<ListTypes>>,
}

impl ListTypes {
    /// The list types of `schema` (an `openAPIV3Schema` at `pointer` inside the CRD), or `None`
    /// when it declares no `set` or `map` list. Problems the API server would refuse the CRD
    /// for go to `problems`.
    pub(crate) fn build(
        schema: &Value,
        pointer: &str,
        problems: &mut Vec<Violation>,
    ) -> Option<Self> {
        let schema = schema.as_object()?;
        let mut node = ListTypes::default();
        match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("set") => node.list = Some(ListType::Set),
            Some("map") => {
                let keys: Vec<String> = schema
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect();
                if keys.is_empty() {
                    problems.push(Violation {
                        pointer: format!("{pointer}/x-kubernetes-list-type"),
                        message: format!(
                            "{}.x-kubernetes-list-map-keys: Required value: must not be empty \
                             if x-kubernetes-list-type is map",
                            schema_path(pointer)
                        ),
                    });
                } else {
                    check_keys(schema.get("items"), &keys, pointer, problems);
                    node.list = Some(ListType::Map(keys));
                }
            }
            _ => {}
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                let at = format!("{pointer}/properties/{}", escape_token(name));
                if let Some(child) = Self::build(sub, &at, problems) {
                    node.properties.push((name.clone(), child));
                }
            }
        }
        if let Some(items) = schema.get("items") {
            node.items = Self::build(items, &format!("{pointer}/items"), problems).map(Box::new);
        }
        if let Some(extra) = schema.get("additionalProperties") {
            node.additional =
                Self::build(extra, &format!("{pointer}/additionalProperties"), problems)
                    .map(Box::new);
        }
        let empty = node.list.is_none()
            && node.properties.is_empty()
            && node.items.is_none()
            && node.additional.is_none();
        (!empty).then_some(node)
    }

    /// Reports the list-type violations of `value` (the part of the object at `pointer`).
    pub(crate) fn validate(&self, value: &Value, pointer: &str, out: &mut Vec<Violation>) {
        match value {
            Value::Object(map) => {
                for (name, child) in &self.properties {
                    if let Some(v) = map.get(name) {
                        child.validate(v, &format!("{pointer}/{}", escape_token(name)), out);
                    }
                }
                if let Some(child) = &self.additional {
                    for (key, v) in map {
                        child.validate(v, &format!("{pointer}/{}", escape_token(key)), out);
                    }
                }
            }
            Value::Array(items) => {
                match &self.list {
                    Some(ListType::Set) => set_duplicates(items, pointer, out),
                    Some(ListType::Map(keys)) => map_duplicates(items, keys, pointer, out),
                    None => {}
                }
                if let Some(child) = &self.items {
                    for (i, item) in items.iter().enumerate() {
                        child.validate(item, &format!("{pointer}/{i}"), out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The API server's rules for the key fields of a `map` list's items.
fn check_keys(items: Option<&Value>, keys: &[String], pointer: &str, out: &mut Vec<Violation>) {
    let Some(items) = items.filter(|i| i.is_object()) else {
        return;
    };
    let required: Vec<&str> = items
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for key in keys {
        let Some(property) = items.get("properties").and_then(|p| p.get(key)) else {
            out.push(Violation {
                pointer: format!("{pointer}/x-kubernetes-list-map-keys"),
                message: format!(
                    "{}.items.properties[{key}]: Required value: entries of \
                     x-kubernetes-list-map-keys must correspond to existing properties",
                    schema_path(pointer)
                ),
            });
            continue;
        };
        if property.get("default").is_none() && !required.contains(&key.as_str()) {
            out.push(Violation {
                pointer: format!("{pointer}/items/properties/{}", escape_token(key)),
                message: format!(
                    "{}.items.properties[{key}].default: Required value: this property is in \
                     x-kubernetes-list-map-keys, so it must have a default or be a required \
                     property",
                    schema_path(pointer)
                ),
            });
        }
    }
}

/// Repeated values of a `set` list, each reported once, at its first repetition.
fn set_duplicates(items: &[Value], pointer: &str, out: &mut Vec<Violation>) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let count = seen.entry(canonical(item)).or_default();
        *count += 1;
        if *count == 2 {
            out.push(duplicate(pointer, i, &canonical(item)));
        }
    }
}

/// Items of a `map` list with the keys of an earlier item, each key reported once, at its
/// first repetition. An item that is neither an object nor null makes the list invalid.
fn map_duplicates(items: &[Value], keys: &[String], pointer: &str, out: &mut Vec<Violation>) {
    if let Some((i, item)) = items
        .iter()
        .enumerate()
        .find(|(_, item)| !(item.is_object() || item.is_null()))
    {
        out.push(Violation {
            pointer: format!("{pointer}/{i}"),
            message: format!(
                "{}: Invalid value: {}: must be an object for an array of list-type map",
                dotted(&format!("{pointer}/{i}")),
                crate::rules::api::shorten(&canonical(item))
            ),
        });
        return;
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Object(map) = item else {
            continue;
        };
        // The key as text: each field's value, or a marker no JSON value has when absent.
        let key: Vec<String> = keys
            .iter()
            .map(|k| {
                map.get(k)
                    .map_or_else(|| "\u{0}absent".to_owned(), canonical)
            })
            .collect();
        let count = seen.entry(key.join("\u{0}")).or_default();
        *count += 1;
        if *count == 2 {
            let shown: Vec<String> = keys
                .iter()
                .filter_map(|k| {
                    map.get(k)
                        .map(|v| format!("{}:{}", canonical_str(k), canonical(v)))
                })
                .collect();
            out.push(duplicate(pointer, i, &format!("{{{}}}", shown.join(","))));
        }
    }
}

fn duplicate(pointer: &str, index: usize, shown: &str) -> Violation {
    let at = format!("{pointer}/{index}");
    Violation {
        message: format!(
            "{}: Duplicate value: {}",
            dotted(&at),
            crate::rules::api::shorten(shown)
        ),
        pointer: at,
    }
}

/// A value as JSON with object keys in order, so equal values give equal text.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", canonical_str(k), canonical(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", inner.join(","))
        }
        other => other.to_string(),
    }
}

fn canonical_str(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// A pointer into a CRD's schema as the API server's messages name it
/// (`spec.versions[0].schema.openAPIV3Schema.properties[spec]`).
fn schema_path(pointer: &str) -> String {
    // `properties/<name>` becomes the one token `properties[<name>]`; `dotted` does the rest.
    let mut joined = String::new();
    let mut tokens = pointer.split('/').skip(1);
    while let Some(token) = tokens.next() {
        joined.push('/');
        match (token, token == "properties") {
            (_, true) => {
                let name = tokens.next().map(unescape_token).unwrap_or_default();
                joined.push_str(&escape_token(&format!("properties[{name}]")));
            }
            (other, false) => joined.push_str(other),
        }
    }
    dotted(&joined)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(schema: Value, value: Value) -> (Vec<String>, Vec<String>) {
        let mut problems = Vec::new();
        let node = ListTypes::build(&schema, "", &mut problems);
        let mut out = Vec::new();
        if let Some(node) = node {
            node.validate(&value, "", &mut out);
        }
        (
            problems.into_iter().map(|v| v.message).collect(),
            out.into_iter()
                .map(|v| format!("{} {}", v.pointer, v.message))
                .collect(),
        )
    }

    #[test]
    fn sets_compare_values_and_report_each_repetition_once() {
        let schema = json!({"properties": {"tags": {"type": "array",
            "x-kubernetes-list-type": "set", "items": {}}}});
        let (_, out) = run(
            schema,
            json!({"tags": ["a", 1, "1", "a", "a", {"x": 1, "y": 2}, {"y": 2, "x": 1}, 1.0]}),
        );
        assert_eq!(
            out,
            [
                "/tags/3 tags[3]: Duplicate value: \"a\"",
                "/tags/6 tags[6]: Duplicate value: {\"x\":1,\"y\":2}",
            ]
        );
    }

    #[test]
    fn maps_compare_keys_absent_keys_collide_and_non_objects_are_invalid() {
        let schema = json!({"properties": {"ports": {"type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["port", "protocol"],
            "items": {"required": ["port", "protocol"],
                "properties": {"port": {}, "protocol": {}}}}}});
        let (problems, out) = run(
            schema.clone(),
            json!({"ports": [
                {"port": 80, "protocol": "TCP", "name": "a"},
                {"port": 80, "protocol": "UDP"},
                {"port": 80, "protocol": "TCP", "name": "b"},
                null,
                {"name": "no-keys"},
                {"name": "no-keys-either"}
            ]}),
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            out,
            [
                "/ports/2 ports[2]: Duplicate value: {\"port\":80,\"protocol\":\"TCP\"}",
                "/ports/5 ports[5]: Duplicate value: {}",
            ]
        );
        let (_, out) = run(
            schema,
            json!({"ports": [{"port": 1, "protocol": "TCP"}, "x"]}),
        );
        assert_eq!(
            out,
            ["/ports/1 ports[1]: Invalid value: \"x\": must be an object for an array of list-type map"]
        );
    }

    #[test]
    fn nested_lists_are_found_through_items_and_additional_properties() {
        let schema = json!({"additionalProperties": {"type": "array", "items": {
            "type": "array", "x-kubernetes-list-type": "set", "items": {}}}});
        let (_, out) = run(schema, json!({"grid": [[1, 2], [3, 3]]}));
        assert_eq!(out, ["/grid/1/1 grid[1][1]: Duplicate value: 3"]);
    }

    #[test]
    fn map_keys_must_exist_and_be_required_or_defaulted() {
        let schema = json!({"properties": {"spec": {"properties": {
            "a": {"type": "array", "x-kubernetes-list-type": "map"},
            "b": {"type": "array", "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name", "zone", "id"],
                "items": {"required": ["name"], "properties": {
                    "name": {}, "zone": {"default": "a"}, "extra": {}, "id": {}}}}}}}});
        let (problems, _) = run(schema, json!({}));
        assert_eq!(
            problems,
            [
                "properties[spec].properties[a].x-kubernetes-list-map-keys: Required value: must \
                 not be empty if x-kubernetes-list-type is map",
                "properties[spec].properties[b].items.properties[id].default: Required value: \
                 this property is in x-kubernetes-list-map-keys, so it must have a default or be \
                 a required property",
            ]
        );
    }
}
