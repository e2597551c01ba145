use std::path::PathBuf;

/// Why the index could not do what was asked. Messages name the partition or file.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("index partition {path}: {source}")]
    Tantivy {
        path: PathBuf,
        #[source]
        source: tantivy::TantivyError,
    },
    #[error("index directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("index partition {path}: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("search: {0}")]
    Fetch(String),
    /// A request the index cannot answer as asked (named, with what it can do instead).
    #[error("search: {0}")]
    Unsupported(String),
}

impl IndexError {
    pub(crate) fn tantivy(
        path: &std::path::Path,
    ) -> impl FnOnce(tantivy::TantivyError) -> Self + '_ {
        move |source| IndexError::Tantivy {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
