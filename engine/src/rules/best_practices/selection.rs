//! What the cross-object rules share: following a label selector to the workloads of the input
//! whose pods it selects.

use crate::model::manifest::Manifest;
use crate::model::selector::LabelSelector;
use crate::model::workload::{pod_labels, POD_CREATING_KINDS};
use crate::rules::Context;
use serde_json::Value;

/// The pod-creating objects of the input in `namespace` (every pod-creating kind), in input
/// order by kind.
pub(crate) fn workloads_in<'a, 'c>(
    cx: &'c Context<'a>,
    namespace: Option<&'c str>,
) -> impl Iterator<Item = &'a Manifest> + 'c {
    POD_CREATING_KINDS.iter().flat_map(move |(group, kind)| {
        cx.inventory
            .in_namespace(group, kind, namespace)
            .into_iter()
    })
}

/// Whether the workload's pods carry labels the selector selects.
pub(crate) fn selects_pods_of(selector: &LabelSelector, workload: &Manifest) -> bool {
    selector.matches_labels(pod_labels(workload))
}

/// The label selector at `pointer` of `value`: `Ok(None)` when there is none, `Err` when it
/// is not one the API server would accept (then the schema and KG011 report it; the
/// cross-object rules stay silent rather than guess).
pub(crate) fn selector_at(value: &Value, pointer: &str) -> Result<Option<LabelSelector>, ()> {
    match crate::model::position::lookup(value, pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(selector) => LabelSelector::parse(selector).map(Some).map_err(|_| ()),
    }
}

/// `namespace "x"` or `the cluster scope`, for messages.
pub(crate) fn namespace_phrase(namespace: Option<&str>) -> String {
    namespace.map_or_else(
        || "the cluster scope".to_owned(),
        |ns| format!("namespace {ns:?}"),
    )
}

/// `Kind/name` of an object, for messages.
pub(crate) fn kind_name(manifest: &Manifest) -> String {
    format!(
        "{}/{}",
        manifest.object.kind,
        manifest.object.name.as_deref().unwrap_or("<unnamed>")
    )
}

/// Whether any workload of the input in `namespace` runs pods the selector selects.
pub(crate) fn selects_any_workload(
    cx: &Context<'_>,
    namespace: Option<&str>,
    selector: &LabelSelector,
) -> bool {
    workloads_in(cx, namespace).any(|w| selects_pods_of(selector, w))
}
