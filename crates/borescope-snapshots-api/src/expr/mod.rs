//! The safe expression subset used by probe conditions, capture expressions and logpoint
//! templates, checked before a probe is stored (the agent checks again, with Python's `ast`,
//! under the same rules, before it compiles anything).
//!
//! Allowed: names, attributes, subscripts and slices, literals (numbers, strings and bytes
//! with `r`/`b`/`u` prefixes, `True`/`False`/`None`/`...`, list/tuple/dict/set displays),
//! comparisons (`== != < <= > >= in`, `not in`, `is`, `is not`, chained), `and`/`or`/`not`,
//! arithmetic (`+ - * / // % **`), unary `-`/`+`/`~`, the conditional `a if c else b`, and
//! calls to `len`, `str`, `int`, `float`, `bool` and `isinstance` only (keyword arguments
//! allowed, no `*`/`**` unpacking).
//!
//! Refused: every other call (methods included), assignment (`=`, `+=`, `:=`), `lambda`,
//! comprehensions and generator expressions, f-strings and t-strings, names and attributes
//! that start and end with `__`, bitwise binary operators and `@`, `yield`/`await`, and
//! statements. Each refusal is one line saying what and where:
//! `calls are not allowed except len, str, int, float, bool, isinstance: open(...)`.
//!
//! The check is syntactic: [`lexer`] turns text into tokens, [`parser`] walks Python's
//! expression grammar by precedence and refuses what is outside the subset. Nothing is
//! evaluated here.

mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use crate::limits::MAX_EXPRESSION_LEN;

/// The only functions an expression may call.
pub const ALLOWED_CALLS: &[&str] = &["len", "str", "int", "float", "bool", "isinstance"];

/// Why an expression is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    /// One line: what is not allowed, and where.
    pub message: String,
}

impl ExprError {
    pub(crate) fn new(message: impl Into<String>) -> ExprError {
        ExprError { message: message.into() }
    }
}

/// Checks one expression against the safe subset.
pub fn check_expression(text: &str) -> Result<(), ExprError> {
    if text.trim().is_empty() {
        return Err(ExprError::new("the expression is empty"));
    }
    check_length(text, "expression")?;
    let tokens = lexer::tokenize(text, 0, lexer::Mode::Expression)?.tokens;
    parser::check(text, &tokens)
}

/// One piece of a logpoint template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    /// Text shown as it is (`{{` and `}}` already turned into single braces).
    Text(String),
    /// The text of an `{expression}` part, without its braces.
    Expr(String),
}

/// Splits a logpoint template into text and `{expression}` parts and checks each expression.
/// `{{` and `}}` stand for literal braces; an expression may hold braces of its own (a dict
/// display, a string containing `}`), as in an f-string.
pub fn template_parts(text: &str) -> Result<Vec<TemplatePart>, ExprError> {
    if text.is_empty() {
        return Err(ExprError::new("the template is empty"));
    }
    check_length(text, "template")?;
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut at = 0;
    while let Some(ch) = text[at..].chars().next() {
        match ch {
            '{' if text[at + 1..].starts_with('{') => {
                literal.push('{');
                at += 2;
            }
            '}' if text[at + 1..].starts_with('}') => {
                literal.push('}');
                at += 2;
            }
            '}' => {
                return Err(ExprError::new(format!(
                    "a single `}}` at column {}: write `}}}}` for a literal brace",
                    column(text, at)
                )));
            }
            '{' => {
                let lexed = lexer::tokenize(text, at + 1, lexer::Mode::TemplatePart)?;
                let close = lexed.end;
                if lexed.tokens.is_empty() {
                    return Err(ExprError::new(format!(
                        "`{{}}` at column {} names no expression: write `{{expression}}`, or `{{{{` for a literal brace",
                        column(text, at)
                    )));
                }
                parser::check(text, &lexed.tokens)?;
                if !literal.is_empty() {
                    parts.push(TemplatePart::Text(std::mem::take(&mut literal)));
                }
                parts.push(TemplatePart::Expr(text[at + 1..close].trim().to_string()));
                at = close + 1;
            }
            _ => {
                literal.push(ch);
                at += ch.len_utf8();
            }
        }
    }
    if !literal.is_empty() {
        parts.push(TemplatePart::Text(literal));
    }
    Ok(parts)
}

/// Checks a logpoint template: text with `{expression}` parts (`{{` and `}}` are literal braces).
pub fn check_template(text: &str) -> Result<(), ExprError> {
    template_parts(text).map(|_| ())
}

fn check_length(text: &str, what: &str) -> Result<(), ExprError> {
    if text.chars().count() > MAX_EXPRESSION_LEN {
        return Err(ExprError::new(format!(
            "the {what} is longer than {MAX_EXPRESSION_LEN} characters"
        )));
    }
    Ok(())
}

/// The 1-based column (in characters) of a byte offset.
pub(crate) fn column(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(offset, |head| head.chars().count()) + 1
}
