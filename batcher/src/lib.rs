//! The batcher service (not built yet: see the open issues).
