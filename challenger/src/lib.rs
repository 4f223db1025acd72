//! The challenger service (not built yet: see the open issues).
