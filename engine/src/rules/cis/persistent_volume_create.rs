use crate::rules::cis::rbac_match::{report_grants, Access, Verbs, CORE_GROUP};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// A PersistentVolume can expose any node directory, and Pod Security admission never sees it.
    PersistentVolumeCreate {
        id: "KG309",
        name: "persistent-volume-create",
        title: "Roles should not grant creating PersistentVolumes",
        severity: Medium,
        category: Rbac,
        scope: Object,
        since: "0.1.0",
        rationale: "A PersistentVolume can be a `hostPath` volume. Whoever creates one and claims it \
mounts that node directory into a pod, and Pod Security admission, which forbids hostPath in pod \
specs, does not check PersistentVolumes. CIS 5.1.9 asks to minimize this access.",
        remediation: "Let applications request storage through PersistentVolumeClaims and a \
StorageClass; keep `create` on `persistentvolumes` to the storage provisioner.",
        failing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: storage-self-service
rules:
  - apiGroups: [""]
    resources: [persistentvolumes]
    verbs: [get, list, create]
"#,
        passing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: storage-self-service
rules:
  - apiGroups: [""]
    resources: [persistentvolumes]
    verbs: [get, list]
  - apiGroups: [""]
    resources: [persistentvolumeclaims]
    verbs: [get, list, create]
"#,
    }
}

const ACCESS: Access = Access {
    verbs: Verbs::OneOf(&["create"]),
    group: CORE_GROUP,
    resources: &["persistentvolumes"],
};

impl Rule for PersistentVolumeCreate {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        report_grants(
            cx.manifest,
            &ACCESS,
            "a PersistentVolume can mount any node directory (hostPath), which Pod Security admission does not check",
            out,
        );
    }
}
