//! Python expression text into tokens: names (keywords included), numbers, string and bytes
//! literals, operators, and line breaks outside brackets. f-strings and t-strings are refused
//! here, since their parts would be code the parser never sees.

use super::{column, ExprError};

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    /// An identifier or keyword.
    Name(String),
    /// A number literal.
    Number,
    /// A string (`bytes: false`) or bytes literal.
    Str { bytes: bool },
    /// An operator or delimiter.
    Op(&'static str),
    /// A line break outside brackets (a second logical line follows).
    Newline,
}

/// One token and where it is (byte offsets into the whole text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// Where tokenizing stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// At the end of the text.
    Expression,
    /// At the `}` that closes a template's `{expression}` part.
    TemplatePart,
}

/// The tokens, and the offset where tokenizing stopped (the text's end, or the closing `}`).
pub(super) struct Lexed {
    pub tokens: Vec<Token>,
    pub end: usize,
}

/// Operators, longest first so `**=` wins over `**` and `*`.
const OPERATORS: &[&str] = &[
    "**=", "//=", ">>=", "<<=", "...", "**", "//", "<<", ">>", "<=", ">=", "==", "!=", ":=", "->", "+=", "-=",
    "*=", "/=", "%=", "&=", "|=", "^=", "@=", "+", "-", "*", "/", "%", "@", "&", "|", "^", "~", "<", ">", "(",
    ")", "[", "]", "{", "}", ",", ":", ".", ";", "=",
];

/// Tokenizes `text` from byte offset `from`.
pub(super) fn tokenize(text: &str, from: usize, mode: Mode) -> Result<Lexed, ExprError> {
    Lexer { text, at: from, tokens: Vec::new(), open: Vec::new() }.run(mode)
}

struct Lexer<'a> {
    text: &'a str,
    at: usize,
    tokens: Vec<Token>,
    /// Open brackets, with their offsets.
    open: Vec<(char, usize)>,
}

impl Lexer<'_> {
    fn run(mut self, mode: Mode) -> Result<Lexed, ExprError> {
        loop {
            let Some(ch) = self.peek(0) else {
                if mode == Mode::TemplatePart {
                    let start = self.tokens.first().map_or(self.at, |t| t.start);
                    return Err(self.error_at(
                        start.saturating_sub(1),
                        "a `{` is never closed: end each expression with `}`, or write `{{` for a literal brace",
                    ));
                }
                self.trim_trailing_newlines();
                return Ok(Lexed { tokens: self.tokens, end: self.at });
            };
            let start = self.at;
            match ch {
                ' ' | '\t' | '\x0c' | '\r' => self.at += 1,
                '\\' if matches!(self.peek(1), Some('\n')) => self.at += 2,
                '\\' if self.text[self.at..].starts_with("\\\r\n") => self.at += 3,
                '#' => {
                    while let Some(c) = self.peek(0) {
                        if c == '\n' {
                            break;
                        }
                        self.at += c.len_utf8();
                    }
                }
                '\n' => {
                    self.at += 1;
                    let last_is_break = matches!(self.tokens.last(), None | Some(Token { kind: Kind::Newline, .. }));
                    if self.open.is_empty() && !last_is_break {
                        self.push(Kind::Newline, start);
                    }
                }
                '}' if mode == Mode::TemplatePart && self.open.is_empty() => {
                    self.trim_trailing_newlines();
                    return Ok(Lexed { tokens: self.tokens, end: self.at });
                }
                '0'..='9' => self.number()?,
                '.' if matches!(self.peek(1), Some('0'..='9')) => self.number()?,
                '\'' | '"' => self.string(start, "")?,
                c if c == '_' || c.is_alphabetic() => self.name()?,
                _ => self.operator()?,
            }
        }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.text[self.at..].chars().nth(ahead)
    }

    fn push(&mut self, kind: Kind, start: usize) {
        self.tokens.push(Token { kind, start, end: self.at });
    }

    fn trim_trailing_newlines(&mut self) {
        while matches!(self.tokens.last(), Some(Token { kind: Kind::Newline, .. })) {
            self.tokens.pop();
        }
    }

    fn error_at(&self, offset: usize, what: &str) -> ExprError {
        ExprError::new(format!("{what} at column {}", column(self.text, offset)))
    }

    fn name(&mut self) -> Result<(), ExprError> {
        let start = self.at;
        while let Some(c) = self.peek(0) {
            if c == '_' || c.is_alphanumeric() {
                self.at += c.len_utf8();
            } else {
                break;
            }
        }
        let word = &self.text[start..self.at];
        if matches!(self.peek(0), Some('\'' | '"')) && is_string_prefix(word) {
            return self.string(start, word);
        }
        self.push(Kind::Name(word.to_string()), start);
        Ok(())
    }

    fn operator(&mut self) -> Result<(), ExprError> {
        let start = self.at;
        let rest = &self.text[self.at..];
        let Some(op) = OPERATORS.iter().find(|op| rest.starts_with(**op)) else {
            let ch = rest.chars().next().unwrap_or(' ');
            return Err(self.error_at(start, &format!("unexpected character `{ch}`")));
        };
        self.at += op.len();
        match *op {
            "(" | "[" | "{" => self.open.push((op.chars().next().unwrap_or('('), start)),
            ")" | "]" | "}" => {
                self.open.pop();
            }
            _ => {}
        }
        self.push(Kind::Op(op), start);
        Ok(())
    }

    /// A number: decimal, hex, octal or binary integer, float, or imaginary.
    fn number(&mut self) -> Result<(), ExprError> {
        let start = self.at;
        let bad = |lexer: &Lexer<'_>| {
            let mut end = lexer.at;
            while let Some(c) = lexer.text[end..].chars().next() {
                if c == '_' || c == '.' || c.is_alphanumeric() {
                    end += c.len_utf8();
                } else {
                    break;
                }
            }
            lexer.error_at(start, &format!("invalid number `{}`", &lexer.text[start..end]))
        };
        let radix = match (self.peek(0), self.peek(1)) {
            (Some('0'), Some('x' | 'X')) => Some(16),
            (Some('0'), Some('o' | 'O')) => Some(8),
            (Some('0'), Some('b' | 'B')) => Some(2),
            _ => None,
        };
        if let Some(radix) = radix {
            self.at += 2;
            if self.peek(0) == Some('_') {
                self.at += 1;
            }
            if !self.digits(radix) {
                return Err(bad(self));
            }
        } else {
            let int_start = self.at;
            let has_int = self.digits(10);
            let int_part = &self.text[int_start..self.at];
            let mut is_float = false;
            if self.peek(0) == Some('.') {
                self.at += 1;
                is_float = true;
                if matches!(self.peek(0), Some('0'..='9')) && !self.digits(10) {
                    return Err(bad(self));
                }
            }
            if !has_int && !is_float {
                return Err(bad(self));
            }
            if matches!(self.peek(0), Some('e' | 'E')) {
                self.at += 1;
                if matches!(self.peek(0), Some('+' | '-')) {
                    self.at += 1;
                }
                if !self.digits(10) {
                    return Err(bad(self));
                }
                is_float = true;
            }
            let imaginary = matches!(self.peek(0), Some('j' | 'J'));
            if imaginary {
                self.at += 1;
            }
            let leading_zero = int_part.len() > 1
                && int_part.starts_with('0')
                && int_part.chars().any(|c| c.is_ascii_digit() && c != '0');
            if leading_zero && !is_float && !imaginary {
                return Err(self.error_at(
                    start,
                    &format!("leading zeros are not allowed in `{int_part}` (write 0o{} for octal)", int_part.trim_start_matches('0')),
                ));
            }
        }
        if matches!(self.peek(0), Some(c) if c == '_' || c == '.' || c.is_alphanumeric()) {
            return Err(bad(self));
        }
        self.push(Kind::Number, start);
        Ok(())
    }

    /// Digits of a radix with single underscores between them; false when there are none or
    /// an underscore is misplaced.
    fn digits(&mut self, radix: u32) -> bool {
        let mut count = 0;
        let mut last_underscore = false;
        while let Some(c) = self.peek(0) {
            if c.is_digit(radix) {
                count += 1;
                last_underscore = false;
            } else if c == '_' && count > 0 && !last_underscore {
                last_underscore = true;
            } else {
                break;
            }
            self.at += 1;
        }
        count > 0 && !last_underscore
    }

    /// A string or bytes literal starting at `start`, whose prefix (already read) is `prefix`.
    fn string(&mut self, start: usize, prefix: &str) -> Result<(), ExprError> {
        let lower = prefix.to_ascii_lowercase();
        let quote = self.peek(0).unwrap_or('"');
        let triple = self.text[self.at..].starts_with(&quote.to_string().repeat(3));
        if lower.contains('f') {
            return Err(ExprError::new(format!("f-strings are not allowed: {prefix}{quote}...{quote}")));
        }
        if lower.contains('t') {
            return Err(ExprError::new(format!("template strings are not allowed: {prefix}{quote}...{quote}")));
        }
        let raw = lower.contains('r');
        let bytes = lower.contains('b');
        let delimiter = if triple { quote.to_string().repeat(3) } else { quote.to_string() };
        self.at += delimiter.len();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(self.error_at(start, "unterminated string"));
            };
            if self.text[self.at..].starts_with(&delimiter) {
                self.at += delimiter.len();
                break;
            }
            if c == '\n' && !triple {
                return Err(self.error_at(start, "unterminated string"));
            }
            if bytes && !c.is_ascii() {
                return Err(self.error_at(start, "bytes literals can only contain ASCII characters"));
            }
            if c == '\\' {
                self.at += 1;
                let Some(next) = self.peek(0) else {
                    return Err(self.error_at(start, "unterminated string"));
                };
                if !raw {
                    self.escape(next, bytes)?;
                } else {
                    self.at += next.len_utf8();
                }
                continue;
            }
            self.at += c.len_utf8();
        }
        self.push(Kind::Str { bytes }, start);
        Ok(())
    }

    /// The escape after a backslash (non-raw literals): `\x` and friends need their digits.
    fn escape(&mut self, letter: char, bytes: bool) -> Result<(), ExprError> {
        let escape_start = self.at - 1;
        self.at += letter.len_utf8();
        let wanted = match letter {
            'x' => 2,
            'u' if !bytes => 4,
            'U' if !bytes => 8,
            'N' if !bytes => {
                let rest = &self.text[self.at..];
                let closed = rest.starts_with('{') && rest.find('}').is_some_and(|end| end > 1 && !rest[..end].contains(['\n', '\'', '"']));
                if !closed {
                    return Err(self.error_at(escape_start, "malformed \\N{...} escape"));
                }
                self.at += rest.find('}').unwrap_or(0) + 1;
                return Ok(());
            }
            _ => return Ok(()),
        };
        for _ in 0..wanted {
            match self.peek(0) {
                Some(c) if c.is_ascii_hexdigit() => self.at += 1,
                _ => return Err(self.error_at(escape_start, &format!("truncated \\{letter} escape"))),
            }
        }
        Ok(())
    }
}

/// Prefixes Python accepts before a quote (checked case-insensitively).
fn is_string_prefix(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "r" | "u" | "b" | "br" | "rb" | "f" | "fr" | "rf" | "t" | "tr" | "rt"
    )
}
