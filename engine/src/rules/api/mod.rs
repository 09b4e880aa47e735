//! The always-on `api-server` pack: what the API server's own (Go) validation refuses although
//! the object passes schema validation. Each rule words its findings as the API server words
//! its errors (`field: Invalid value: "x": reason`), so the finding reads like the `kubectl
//! apply` failure it prevents.

pub(crate) mod quantity;
pub(crate) mod syntax;

rules! {
    autoscaler_spec::AutoscalerValidation,
    duplicate_list_key::DuplicateListKey,
    enum_value::EnumValue,
    immutable_field::ImmutableField,
    job_spec::JobValidation,
    object_metadata::ObjectMetadata,
    pod_spec::PodSpecValidation,
    service_spec::ServiceValidation,
    workload_selector::WorkloadSelector,
}

/// A value echoed into a message, cut to a readable length (a name can be kilobytes).
pub(crate) fn shorten(value: &str) -> std::borrow::Cow<'_, str> {
    const MAX: usize = 80;
    if value.len() <= MAX {
        return value.into();
    }
    let mut end = MAX;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &value[..end], value.len()).into()
}
