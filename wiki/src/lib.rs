//! The reference wiki host (placeholder).
