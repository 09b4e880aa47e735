//! Where text comes from: files and directories, standard input, git blobs (the index, another
//! revision) and the output of renderers (Helm, kustomize).

#[cfg(feature = "git")]
pub mod git;
pub mod render;
pub mod walk;
