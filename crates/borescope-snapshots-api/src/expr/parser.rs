//! A recursive-descent walk over Python's expression grammar, lowest precedence first
//! (conditional, `or`, `and`, `not`, comparisons, bitwise, `+ -`, `* / // %`, unary, `**`,
//! primaries), refusing what is outside the safe subset. It builds no tree: each rule returns
//! the span it covered and whether it was a bare name (the only thing that may be called).

use super::lexer::{Kind, Token};
use super::{column, ExprError, ALLOWED_CALLS};

/// Deeper nesting (brackets, unary operators, `**` chains, conditionals) is refused, so a
/// hostile expression cannot exhaust the stack.
const MAX_DEPTH: usize = 50;

/// Keywords that begin statements.
const STATEMENT_KEYWORDS: &[&str] = &[
    "import", "from", "def", "class", "del", "pass", "return", "raise", "global", "nonlocal", "assert", "while",
    "with", "try", "except", "finally", "break", "continue", "elif", "async", "match", "case", "type",
];

/// Every hard keyword (never a name).
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// Checks that `tokens` (from `text`) form one expression of the safe subset.
pub(super) fn check(text: &str, tokens: &[Token]) -> Result<(), ExprError> {
    let mut parser = Parser { text, tokens, pos: 0, depth: 0 };
    parser.expression_list()?;
    match parser.peek() {
        None => Ok(()),
        Some(_) => Err(parser.unexpected()),
    }
}

/// What a rule covered: its byte span, and the name when it was a bare name.
struct Node {
    start: usize,
    end: usize,
    name: Option<String>,
}

impl Node {
    fn other(start: usize, end: usize) -> Node {
        Node { start, end, name: None }
    }
}

struct Parser<'a> {
    text: &'a str,
    tokens: &'a [Token],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Token> {
        self.tokens.get(self.pos + ahead)
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Token { kind: Kind::Op(o), .. }) if *o == op)
    }

    fn is_keyword(&self, word: &str) -> bool {
        is_keyword_token(self.peek(), word)
    }

    fn bump(&mut self) -> Option<&Token> {
        let token = self.tokens.get(self.pos);
        self.pos += 1;
        token
    }

    /// The end of the last token read.
    fn last_end(&self) -> usize {
        self.pos.checked_sub(1).and_then(|i| self.tokens.get(i)).map_or(0, |t| t.end)
    }

    fn col(&self, offset: usize) -> usize {
        column(self.text, offset)
    }

    fn snippet(&self, start: usize, end: usize) -> String {
        let text = self.text.get(start..end).unwrap_or_default().trim();
        let short: String = text.chars().take(60).collect();
        if short.len() < text.len() { format!("{short}...") } else { short }
    }

    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let at = self.peek().map_or(self.text.len(), |t| t.start);
            return Err(ExprError::new(format!(
                "the expression nests more than {MAX_DEPTH} levels deep at column {}",
                self.col(at)
            )));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// The error for the token at hand, which no rule wanted.
    fn unexpected(&self) -> ExprError {
        let Some(token) = self.peek() else {
            return ExprError::new(format!(
                "the expression ends too early: expected more at column {}",
                self.col(self.text.len())
            ));
        };
        let col = self.col(token.start);
        let text = self.snippet(token.start, token.end);
        let message = match &token.kind {
            Kind::Op("=") => format!("assignment is not allowed: `=` at column {col} (compare with `==`)"),
            Kind::Op(":=") => format!("assignment expressions are not allowed: `:=` at column {col}"),
            Kind::Op(op) if op.len() >= 2 && op.ends_with('=') && !matches!(*op, "==" | "!=" | "<=" | ">=") => {
                format!("assignment is not allowed: `{op}` at column {col}")
            }
            Kind::Op(";") => format!("statements are not allowed: `;` at column {col}"),
            Kind::Op(op @ ("*" | "**")) => {
                format!("unpacking with `{op}` is not allowed at column {col}")
            }
            Kind::Newline => format!("only one expression is allowed: a second line starts at column {}", self.col(token.end)),
            Kind::Name(word) if word == "for" || word == "async" => {
                format!("comprehensions are not allowed: `{word}` at column {col}")
            }
            Kind::Name(word) if word == "lambda" => format!("lambda is not allowed at column {col}"),
            Kind::Name(word) if word == "yield" || word == "await" => format!("`{word}` is not allowed at column {col}"),
            Kind::Name(word) if STATEMENT_KEYWORDS.contains(&word.as_str()) && KEYWORDS.contains(&word.as_str()) => {
                format!("statements are not allowed: `{word}` at column {col}")
            }
            _ => format!("unexpected `{text}` at column {col}"),
        };
        ExprError::new(message)
    }

    fn expect_op(&mut self, op: &str, opened: Option<(&str, usize)>) -> Result<(), ExprError> {
        if self.is_op(op) {
            self.bump();
            return Ok(());
        }
        match (self.peek(), opened) {
            (None, Some((bracket, at))) => Err(ExprError::new(format!(
                "`{bracket}` at column {} is never closed",
                self.col(at)
            ))),
            _ => Err(self.unexpected()),
        }
    }

    /// `test (',' test)* [',']`: one expression, or a tuple without parentheses.
    fn expression_list(&mut self) -> Result<Node, ExprError> {
        let first = self.test()?;
        if !self.is_op(",") {
            return Ok(first);
        }
        while self.is_op(",") {
            self.bump();
            if self.starts_expression() {
                self.test()?;
            } else {
                break;
            }
        }
        Ok(Node::other(first.start, self.last_end()))
    }

    /// Whether the token at hand can begin an expression.
    fn starts_expression(&self) -> bool {
        match self.peek() {
            None | Some(Token { kind: Kind::Newline, .. }) => false,
            Some(Token { kind: Kind::Op(op), .. }) => matches!(*op, "(" | "[" | "{" | "-" | "+" | "~" | "..."),
            Some(Token { kind: Kind::Name(word), .. }) => {
                !KEYWORDS.contains(&word.as_str()) || matches!(word.as_str(), "True" | "False" | "None" | "not")
            }
            Some(_) => true,
        }
    }

    /// `or_test ['if' or_test 'else' test]`.
    fn test(&mut self) -> Result<Node, ExprError> {
        self.enter()?;
        let node = self.or_test()?;
        let node = if self.is_keyword("if") {
            self.bump();
            self.or_test()?;
            if !self.is_keyword("else") {
                let at = self.peek().map_or(self.text.len(), |t| t.start);
                self.leave();
                return Err(ExprError::new(format!(
                    "a conditional expression needs `else` at column {}",
                    self.col(at)
                )));
            }
            self.bump();
            self.test()?;
            Node::other(node.start, self.last_end())
        } else {
            node
        };
        self.leave();
        Ok(node)
    }

    fn or_test(&mut self) -> Result<Node, ExprError> {
        let first = self.and_test()?;
        if !self.is_keyword("or") {
            return Ok(first);
        }
        while self.is_keyword("or") {
            self.bump();
            self.and_test()?;
        }
        Ok(Node::other(first.start, self.last_end()))
    }

    fn and_test(&mut self) -> Result<Node, ExprError> {
        let first = self.not_test()?;
        if !self.is_keyword("and") {
            return Ok(first);
        }
        while self.is_keyword("and") {
            self.bump();
            self.not_test()?;
        }
        Ok(Node::other(first.start, self.last_end()))
    }

    fn not_test(&mut self) -> Result<Node, ExprError> {
        if !self.is_keyword("not") {
            return self.comparison();
        }
        let start = self.peek().map_or(0, |t| t.start);
        self.bump();
        self.enter()?;
        self.not_test()?;
        self.leave();
        Ok(Node::other(start, self.last_end()))
    }

    /// `bitwise (comp_op bitwise)*`, chains included.
    fn comparison(&mut self) -> Result<Node, ExprError> {
        let first = self.bitwise()?;
        let mut compared = false;
        loop {
            let is_comparison = ["<", ">", "==", ">=", "<=", "!="].iter().any(|op| self.is_op(op))
                || self.is_keyword("in")
                || self.is_keyword("is");
            if is_comparison {
                let is = self.is_keyword("is");
                self.bump();
                if is && self.is_keyword("not") {
                    self.bump();
                }
            } else if self.is_keyword("not") && is_keyword_token(self.peek_at(1), "in") {
                self.bump();
                self.bump();
            } else {
                break;
            }
            self.bitwise()?;
            compared = true;
        }
        Ok(if compared { Node::other(first.start, self.last_end()) } else { first })
    }

    /// Bitwise binary operators are outside the subset.
    fn bitwise(&mut self) -> Result<Node, ExprError> {
        let node = self.arith()?;
        if let Some(Token { kind: Kind::Op(op @ ("|" | "^" | "&" | "<<" | ">>")), start, .. }) = self.peek() {
            return Err(ExprError::new(format!(
                "the `{op}` operator is not allowed at column {} (arithmetic allows + - * / // % **)",
                self.col(*start)
            )));
        }
        Ok(node)
    }

    fn arith(&mut self) -> Result<Node, ExprError> {
        let first = self.term()?;
        let mut more = false;
        while self.is_op("+") || self.is_op("-") {
            self.bump();
            self.term()?;
            more = true;
        }
        Ok(if more { Node::other(first.start, self.last_end()) } else { first })
    }

    fn term(&mut self) -> Result<Node, ExprError> {
        let first = self.factor()?;
        let mut more = false;
        loop {
            if ["*", "/", "//", "%"].iter().any(|op| self.is_op(op)) {
                self.bump();
                self.factor()?;
                more = true;
            } else if let Some(Token { kind: Kind::Op("@"), start, .. }) = self.peek() {
                return Err(ExprError::new(format!(
                    "the `@` operator is not allowed at column {} (arithmetic allows + - * / // % **)",
                    self.col(*start)
                )));
            } else {
                break;
            }
        }
        Ok(if more { Node::other(first.start, self.last_end()) } else { first })
    }

    /// Unary `+ - ~`, else a power.
    fn factor(&mut self) -> Result<Node, ExprError> {
        if self.is_op("+") || self.is_op("-") || self.is_op("~") {
            let start = self.peek().map_or(0, |t| t.start);
            self.bump();
            self.enter()?;
            self.factor()?;
            self.leave();
            return Ok(Node::other(start, self.last_end()));
        }
        let base = self.primary()?;
        if !self.is_op("**") {
            return Ok(base);
        }
        self.bump();
        self.enter()?;
        self.factor()?;
        self.leave();
        Ok(Node::other(base.start, self.last_end()))
    }

    /// An atom followed by calls, subscripts and attributes.
    fn primary(&mut self) -> Result<Node, ExprError> {
        let mut node = self.atom()?;
        loop {
            if self.is_op("(") {
                let callee_ok = node.name.as_deref().is_some_and(|name| ALLOWED_CALLS.contains(&name));
                if !callee_ok {
                    return Err(ExprError::new(format!(
                        "calls are not allowed except {}: {}(...)",
                        ALLOWED_CALLS.join(", "),
                        self.snippet(node.start, node.end)
                    )));
                }
                let open = self.peek().map_or(0, |t| t.start);
                self.bump();
                self.arguments(open)?;
            } else if self.is_op("[") {
                let open = self.peek().map_or(0, |t| t.start);
                self.bump();
                self.enter()?;
                self.subscripts(open)?;
                self.leave();
            } else if self.is_op(".") {
                self.bump();
                match self.peek().cloned() {
                    Some(Token { kind: Kind::Name(attr), end, .. }) if !KEYWORDS.contains(&attr.as_str()) => {
                        self.bump();
                        if is_dunder(&attr) {
                            return Err(ExprError::new(format!(
                                "names starting with __ are not allowed: {}",
                                self.snippet(node.start, end)
                            )));
                        }
                    }
                    Some(Token { start, .. }) => {
                        return Err(ExprError::new(format!(
                            "expected an attribute name after `.` at column {}",
                            self.col(start)
                        )));
                    }
                    None => return Err(self.unexpected()),
                }
            } else {
                return Ok(node);
            }
            node = Node::other(node.start, self.last_end());
        }
    }

    /// A call's arguments after `(`: positional and `name=value`, no unpacking.
    fn arguments(&mut self, open: usize) -> Result<(), ExprError> {
        self.enter()?;
        while !self.is_op(")") {
            if self.peek().is_none() {
                break;
            }
            if let (Some(Token { kind: Kind::Name(_), start, .. }), Some(Token { kind: Kind::Op("="), end, .. })) =
                (self.peek().cloned(), self.peek_at(1).cloned())
            {
                // The agent refuses them too: the six allowed calls need none.
                return Err(ExprError::new(format!("keyword arguments are not allowed: {}", self.snippet(start, end))));
            }
            self.test()?;
            self.no_comprehension()?;
            if !self.is_op(",") {
                break;
            }
            self.bump();
        }
        self.expect_op(")", Some(("(", open)))?;
        self.leave();
        Ok(())
    }

    /// Subscripts after `[`: expressions and slices, comma-separated.
    fn subscripts(&mut self, open: usize) -> Result<(), ExprError> {
        loop {
            if self.is_op("]") {
                break;
            }
            if !self.is_op(":") {
                self.test()?;
            }
            for _ in 0..2 {
                if !self.is_op(":") {
                    break;
                }
                self.bump();
                if !self.is_op(":") && !self.is_op("]") && !self.is_op(",") {
                    self.test()?;
                }
            }
            if !self.is_op(",") {
                break;
            }
            self.bump();
        }
        self.expect_op("]", Some(("[", open)))
    }

    fn no_comprehension(&self) -> Result<(), ExprError> {
        if self.is_keyword("for") || self.is_keyword("async") {
            return Err(self.unexpected());
        }
        Ok(())
    }

    fn atom(&mut self) -> Result<Node, ExprError> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.unexpected());
        };
        match &token.kind {
            Kind::Name(word) => {
                if matches!(word.as_str(), "True" | "False" | "None") {
                    self.bump();
                    return Ok(Node::other(token.start, token.end));
                }
                if KEYWORDS.contains(&word.as_str()) {
                    return Err(self.unexpected());
                }
                if is_dunder(word) {
                    return Err(ExprError::new(format!("names starting with __ are not allowed: {word}")));
                }
                self.bump();
                Ok(Node { start: token.start, end: token.end, name: Some(word.clone()) })
            }
            Kind::Number => {
                self.bump();
                Ok(Node::other(token.start, token.end))
            }
            Kind::Str { bytes } => {
                let bytes = *bytes;
                self.bump();
                while let Some(Token { kind: Kind::Str { bytes: next }, start, .. }) = self.peek() {
                    if *next != bytes {
                        return Err(ExprError::new(format!(
                            "bytes and str literals cannot be joined at column {}",
                            self.col(*start)
                        )));
                    }
                    self.bump();
                }
                Ok(Node::other(token.start, self.last_end()))
            }
            Kind::Op("...") => {
                self.bump();
                Ok(Node::other(token.start, token.end))
            }
            Kind::Op("(") => self.parenthesized(token.start),
            Kind::Op("[") => {
                self.bump();
                self.enter()?;
                self.display_items("]")?;
                self.expect_op("]", Some(("[", token.start)))?;
                self.leave();
                Ok(Node::other(token.start, self.last_end()))
            }
            Kind::Op("{") => {
                self.bump();
                self.enter()?;
                self.braces(token.start)?;
                self.leave();
                Ok(Node::other(token.start, self.last_end()))
            }
            _ => Err(self.unexpected()),
        }
    }

    /// `( )`, `(expr)` (which keeps the inner expression's shape, so `(len)(x)` is a call of
    /// `len` as in Python), or a tuple.
    fn parenthesized(&mut self, open: usize) -> Result<Node, ExprError> {
        self.bump();
        self.enter()?;
        if self.is_op(")") {
            self.bump();
            self.leave();
            return Ok(Node::other(open, self.last_end()));
        }
        let inner = self.test()?;
        self.no_comprehension()?;
        let tuple = self.is_op(",");
        if tuple {
            self.bump();
            self.display_items(")")?;
        }
        self.expect_op(")", Some(("(", open)))?;
        self.leave();
        Ok(Node { start: open, end: self.last_end(), name: if tuple { None } else { inner.name } })
    }

    /// Comma-separated expressions up to `close` (not consumed), no comprehension.
    fn display_items(&mut self, close: &str) -> Result<(), ExprError> {
        while !self.is_op(close) && self.peek().is_some() {
            self.test()?;
            self.no_comprehension()?;
            if !self.is_op(",") {
                break;
            }
            self.bump();
        }
        Ok(())
    }

    /// After `{`: an empty dict, a dict display or a set display.
    fn braces(&mut self, open: usize) -> Result<(), ExprError> {
        if self.is_op("}") {
            self.bump();
            return Ok(());
        }
        self.test()?;
        if self.is_op(":") {
            self.bump();
            self.test()?;
            self.no_comprehension()?;
            while self.is_op(",") {
                self.bump();
                if self.is_op("}") {
                    break;
                }
                self.test()?;
                self.expect_op(":", None)?;
                self.test()?;
            }
        } else {
            self.no_comprehension()?;
            if self.is_op(",") {
                self.bump();
                self.display_items("}")?;
            }
        }
        self.expect_op("}", Some(("{", open)))
    }
}

fn is_keyword_token(token: Option<&Token>, word: &str) -> bool {
    matches!(token, Some(Token { kind: Kind::Name(w), .. }) if w == word)
}

/// `__class__`, `__import__`: special names that reach the interpreter's internals.
/// Names and attributes starting with `__` (dunders and private names alike; the agent keeps
/// its own guards under such names).
fn is_dunder(name: &str) -> bool {
    name.starts_with("__")
}
