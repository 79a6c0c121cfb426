//! Deep clustering.
