//! attribute (being written).
