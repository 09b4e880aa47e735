//! Name patterns for namespaces and object names.

/// Gatekeeper's namespace and name globbing, which kubegate's configuration uses too: an
/// asterisk at the start or the end (`kube-*`, `*-system`), or an exact name.
pub fn glob(pattern: &str, value: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix('*') {
        value.starts_with(prefix)
    } else if let Some(suffix) = pattern.strip_prefix('*') {
        value.ends_with(suffix)
    } else {
        pattern == value
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    /// (Moved with the function from the Gatekeeper module, whose test it was.)
    #[test]
    fn globs_match_at_either_end() {
        assert!(glob("kube-*", "kube-system"));
        assert!(glob("*-system", "gatekeeper-system"));
        assert!(glob("prod", "prod"));
        assert!(!glob("prod", "production"));
        assert!(!glob("kube-*", "my-kube-ns"));
        assert!(glob("*", "anything"));
    }
}
