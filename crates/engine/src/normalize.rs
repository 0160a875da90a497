//! Text normalization (placeholder until the real module lands).

/// Returns the text unchanged.
pub fn normalize(text: &str) -> String {
    text.to_string()
}
