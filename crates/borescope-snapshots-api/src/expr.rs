//! The safe expression subset used by conditions, capture expressions and logpoint templates.
//! (Interface fixed here; the checker is written by the server work.)

/// Why an expression is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    /// One line: what is not allowed, and where.
    pub message: String,
}

/// Checks one expression against the safe subset.
pub fn check_expression(text: &str) -> Result<(), ExprError> {
    if text.trim().is_empty() {
        return Err(ExprError { message: "the expression is empty".into() });
    }
    Ok(())
}

/// Checks a logpoint template: text with `{expression}` parts (`{{` and `}}` are literal braces).
pub fn check_template(text: &str) -> Result<(), ExprError> {
    if text.is_empty() {
        return Err(ExprError { message: "the template is empty".into() });
    }
    Ok(())
}
