//! Every object of a run, indexed, so rules can look across objects (a namespace's
//! NetworkPolicies, a pod's ServiceAccount) while still reporting on one object.

use crate::model::manifest::Manifest;
use std::collections::HashMap;

/// `(group, kind, namespace, name)` of an object.
type Key<'a> = (&'a str, &'a str, Option<&'a str>, &'a str);

/// A read-only index over the objects of one run.
#[derive(Debug, Default)]
pub struct Inventory<'a> {
    objects: &'a [Manifest],
    by_identity: HashMap<Key<'a>, usize>,
    /// `(group, kind, namespace)` → indices of objects, in input order.
    by_namespace: HashMap<(&'a str, &'a str, Option<&'a str>), Vec<usize>>,
    /// namespace → index of the first pod-creating object (a workload) in it, in input order.
    first_workload_in_namespace: HashMap<&'a str, usize>,
}

impl<'a> Inventory<'a> {
    pub fn new(objects: &'a [Manifest]) -> Self {
        let mut by_identity = HashMap::with_capacity(objects.len());
        let mut by_namespace: HashMap<_, Vec<usize>> = HashMap::new();
        let mut first_workload_in_namespace = HashMap::new();
        for (i, m) in objects.iter().enumerate() {
            let o = &m.object;
            let ns = o.namespace.as_deref();
            if let Some(name) = o.name.as_deref() {
                by_identity
                    .entry((o.group(), o.kind.as_str(), ns, name))
                    .or_insert(i);
            }
            by_namespace
                .entry((o.group(), o.kind.as_str(), ns))
                .or_default()
                .push(i);
            if let Some(ns) = ns {
                if crate::model::workload::creates_pods(o) {
                    first_workload_in_namespace.entry(ns).or_insert(i);
                }
            }
        }
        Self {
            objects,
            by_identity,
            by_namespace,
            first_workload_in_namespace,
        }
    }

    /// An inventory of one object only (the webhook's view of a single request).
    pub fn single(object: &'a Manifest) -> Self {
        Self::new(std::slice::from_ref(object))
    }

    /// The object with this identity, if the run has it.
    pub fn find(
        &self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<&'a Manifest> {
        self.by_identity
            .get(&(group, kind, namespace, name))
            .map(|&i| &self.objects[i])
    }

    /// Objects of one kind in one namespace (`None`: cluster-scoped or unset), in input order.
    pub fn in_namespace(
        &self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Vec<&'a Manifest> {
        let objects = self.objects;
        self.by_namespace
            .get(&(group, kind, namespace))
            .map(|indices| indices.iter().map(|&i| &objects[i]).collect())
            .unwrap_or_default()
    }

    /// Whether `manifest` is the first object (in input order) that names `namespace`.
    /// Whether `manifest` is the first workload (pod-creating object) of `namespace` in the
    /// input: file, document, list item order.
    pub fn is_first_workload_in_namespace(&self, manifest: &Manifest, namespace: &str) -> bool {
        self.first_workload_in_namespace
            .get(namespace)
            .is_some_and(|&i| same_object(&self.objects[i], manifest))
    }

    /// Every object of the run, in input order.
    pub fn all(&self) -> &'a [Manifest] {
        self.objects
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

/// Whether two manifests are the same object of the input: the same document (and `List`
/// item) of the same source. (Not pointer identity: a parked object is judged through a copy
/// read back from its parked form.)
fn same_object(a: &Manifest, b: &Manifest) -> bool {
    std::sync::Arc::ptr_eq(&a.source, &b.source)
        && a.document_index == b.document_index
        && a.item_index == b.item_index
        && a.object == b.object
}
