//! The Backchannel browser UI (placeholder; see issue 2).
