//! deliver (being written).
