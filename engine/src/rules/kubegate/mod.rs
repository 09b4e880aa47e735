//! The always-on pack: problems with kubegate's own inputs (malformed workloads, schemas,
//! unknown kinds, exemption annotations).

rules! {
    custom_resource_schema::CustomResourceSchema,
    invalid_exemption::InvalidExemption,
    kubernetes_schema::KubernetesSchema,
    unknown_kind::UnknownKind,
    unused_exemption::UnusedExemption,
    workload_structure::WorkloadStructure,
}
