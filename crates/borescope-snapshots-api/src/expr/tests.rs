use super::*;

fn ok(text: &str) {
    if let Err(error) = check_expression(text) {
        panic!("`{text}` should be allowed, got: {error}");
    }
}

fn refused(text: &str) -> String {
    match check_expression(text) {
        Ok(()) => panic!("`{text}` should be refused"),
        Err(error) => {
            assert!(!error.message.contains('\n'), "one line: {}", error.message);
            error.message
        }
    }
}

#[test]
fn allows_names_attributes_subscripts_and_slices() {
    for text in [
        "x",
        "order.total",
        "order.items[0].price",
        "data['key']",
        "rows[1:]",
        "rows[:-1]",
        "rows[::2]",
        "rows[1:10:2]",
        "grid[1, 2]",
        "grid[1:2, ::3]",
        "m[...]",
        "_private",
        "obj._Cls__mangled",
        "naïve",
        "  x  ",
        "x # a comment",
    ] {
        ok(text);
    }
}

#[test]
fn allows_literals_and_displays() {
    for text in [
        "1",
        "1_000",
        "0x_ff",
        "0o17",
        "0b1010",
        "1.5",
        ".5",
        "1.",
        "1e10",
        "1.5E-3",
        "2j",
        "00",
        "'a'",
        "\"b\"",
        "r'\\d+'",
        "b'bytes'",
        "Rb'x'",
        "u'text'",
        "'''triple\nline'''",
        "'a' 'b'",
        "'\\x41\\u00e9\\N{BULLET}'",
        "True",
        "False",
        "None",
        "...",
        "[]",
        "[1, 2, 3,]",
        "()",
        "(1,)",
        "(1, 2)",
        "{}",
        "{'a': 1, 'b': [2]}",
        "{1, 2}",
        "1, 2",
        "[1,\n 2]",
    ] {
        ok(text);
    }
}

#[test]
fn allows_operators() {
    for text in [
        "a == b",
        "a != b",
        "0 < x <= 10",
        "a > b >= c",
        "x in items",
        "x not in items",
        "x is None",
        "x is not None",
        "a and b or not c",
        "not not x",
        "a + b - c * d / e // f % g ** h",
        "-x",
        "+x",
        "~x",
        "-x ** -y",
        "a if cond else b",
        "a if c1 else b if c2 else d",
        "(a + b) * c",
        "x \\\n + 1",
    ] {
        ok(text);
    }
}

#[test]
fn allows_the_six_calls() {
    for text in [
        "len(items) > 3",
        "str(x)",
        "int(s, 16)",
        "float(x)",
        "bool(x)",
        "isinstance(x, (int, float))",
        "len(x) == len(y)",
        "(len)(x)",
        "str(len(x),)",
    ] {
        ok(text);
    }
}

#[test]
fn refuses_other_calls_naming_them() {
    assert_eq!(refused("open('/etc/passwd')"), "calls are not allowed except len, str, int, float, bool, isinstance: open(...)");
    assert_eq!(
        refused("x.append(1)"),
        "calls are not allowed except len, str, int, float, bool, isinstance: x.append(...)"
    );
    assert!(refused("len(x)(y)").ends_with(": len(x)(...)"));
    assert!(refused("items[0]()").ends_with(": items[0](...)"));
    assert!(refused("len(print(1))").ends_with(": print(...)"));
    assert!(refused("(lambda: 1)()").starts_with("lambda is not allowed"));
    assert!(refused("len(*args)").starts_with("unpacking with `*` is not allowed"));
    assert!(refused("len(**kw)").starts_with("unpacking with `**` is not allowed"));
}

#[test]
fn refuses_dunders() {
    assert_eq!(refused("x.__class__"), "names starting with __ are not allowed: x.__class__");
    assert_eq!(refused("a.b.__dict__['k']"), "names starting with __ are not allowed: a.b.__dict__");
    assert_eq!(refused("__import__"), "names starting with __ are not allowed: __import__");
    assert_eq!(refused("__builtins__['open']"), "names starting with __ are not allowed: __builtins__");
    assert_eq!(refused("x.__private"), "names starting with __ are not allowed: x.__private");
    assert_eq!(refused("__secret > 1"), "names starting with __ are not allowed: __secret");
}

#[test]
fn refuses_keyword_arguments() {
    assert_eq!(refused("int(s, base=16)"), "keyword arguments are not allowed: base=");
}

#[test]
fn refuses_assignment_and_statements() {
    assert_eq!(refused("x = 1"), "assignment is not allowed: `=` at column 3 (compare with `==`)");
    assert_eq!(refused("x += 1"), "assignment is not allowed: `+=` at column 3");
    assert_eq!(refused("(y := 2)"), "assignment expressions are not allowed: `:=` at column 4");
    assert_eq!(refused("len(y := [])"), "assignment expressions are not allowed: `:=` at column 7");
    assert_eq!(refused("import os"), "statements are not allowed: `import` at column 1");
    assert_eq!(refused("del x"), "statements are not allowed: `del` at column 1");
    assert_eq!(refused("x; y"), "statements are not allowed: `;` at column 2");
    assert_eq!(refused("x\ny"), "only one expression is allowed: a second line starts at column 3");
    assert_eq!(refused("yield x"), "`yield` is not allowed at column 1");
    assert_eq!(refused("await x"), "`await` is not allowed at column 1");
    ok("x\n");
}

#[test]
fn refuses_lambda_comprehensions_and_fstrings() {
    assert_eq!(refused("lambda: 0"), "lambda is not allowed at column 1");
    assert_eq!(refused("[x for x in y]"), "comprehensions are not allowed: `for` at column 4");
    assert_eq!(refused("{k: v for k, v in d}"), "comprehensions are not allowed: `for` at column 7");
    assert_eq!(refused("{x for x in y}"), "comprehensions are not allowed: `for` at column 4");
    assert_eq!(refused("(x for x in y)"), "comprehensions are not allowed: `for` at column 4");
    assert_eq!(refused("len(x for x in y)"), "comprehensions are not allowed: `for` at column 7");
    assert_eq!(refused("f'{x}'"), "f-strings are not allowed: f'...'");
    assert_eq!(refused("RF\"{x}\""), "f-strings are not allowed: RF\"...\"");
    assert_eq!(refused("t'{x}'"), "template strings are not allowed: t'...'");
}

#[test]
fn refuses_operators_outside_the_subset() {
    assert_eq!(
        refused("a | b"),
        "the `|` operator is not allowed at column 3 (arithmetic allows + - * / // % **)"
    );
    for op in ["&", "^", "<<", ">>", "@"] {
        assert!(refused(&format!("a {op} b")).starts_with(&format!("the `{op}` operator is not allowed")));
    }
    assert!(refused("[*x]").starts_with("unpacking with `*`"));
    assert!(refused("{**d}").starts_with("unpacking with `**`"));
}

#[test]
fn reports_syntax_errors_with_a_column() {
    assert_eq!(refused(""), "the expression is empty");
    assert_eq!(refused("   "), "the expression is empty");
    assert_eq!(refused("a +"), "the expression ends too early: expected more at column 4");
    assert_eq!(refused("(a + b"), "`(` at column 1 is never closed");
    assert_eq!(refused("x[1"), "`[` at column 2 is never closed");
    assert_eq!(refused("a b"), "unexpected `b` at column 3");
    assert_eq!(refused("a)"), "unexpected `)` at column 2");
    assert_eq!(refused("'abc"), "unterminated string at column 1");
    assert_eq!(refused("'a\nb'"), "unterminated string at column 1");
    assert_eq!(refused("x $ y"), "unexpected character `$` at column 3");
    assert_eq!(refused("x!"), "unexpected character `!` at column 2");
    assert_eq!(refused("a if b"), "a conditional expression needs `else` at column 7");
    assert_eq!(refused("x."), "the expression ends too early: expected more at column 3");
    assert_eq!(refused("x.if"), "expected an attribute name after `.` at column 3");
    assert_eq!(refused("0123"), "leading zeros are not allowed in `0123` (write 0o123 for octal) at column 1");
    assert_eq!(refused("1abc"), "invalid number `1abc` at column 1");
    assert_eq!(refused("1__0"), "invalid number `1__0` at column 1");
    assert_eq!(refused("0x"), "invalid number `0x` at column 1");
    assert_eq!(refused("'\\x4'"), "truncated \\x escape at column 2");
    assert_eq!(refused("b'\\xe9' + b'é'"), "bytes literals can only contain ASCII characters at column 11");
    assert_eq!(refused("'a' b'b'"), "bytes and str literals cannot be joined at column 5");
    assert_eq!(refused("x else y"), "unexpected `else` at column 3");
    assert_eq!(refused("a not b"), "unexpected `not` at column 3");
    assert_eq!(refused("{1: 2, 3}"), "unexpected `}` at column 9");
    assert_eq!(refused("naïve = 1"), "assignment is not allowed: `=` at column 7 (compare with `==`)");
}

#[test]
fn bounds_length_and_nesting() {
    let long = format!("x + {}", "1 + ".repeat(300));
    assert_eq!(refused(&long), "the expression is longer than 1000 characters");
    let deep = format!("{}x{}", "(".repeat(60), ")".repeat(60));
    assert!(refused(&deep).starts_with("the expression nests more than 50 levels deep"));
    let negations = format!("{}x", "-".repeat(60));
    assert!(refused(&negations).starts_with("the expression nests more than 50 levels deep"));
    let nots = format!("{}x", "not ".repeat(60));
    assert!(refused(&nots).starts_with("the expression nests more than 50 levels deep"));
    let powers = vec!["2"; 60].join(" ** ");
    assert!(refused(&powers).starts_with("the expression nests more than 50 levels deep"));
    ok(&format!("{}x{}", "(".repeat(20), ")".repeat(20)));
}

#[test]
fn splits_templates() {
    assert_eq!(
        template_parts("order {order.id} costs {total * 2}").unwrap(),
        vec![
            TemplatePart::Text("order ".into()),
            TemplatePart::Expr("order.id".into()),
            TemplatePart::Text(" costs ".into()),
            TemplatePart::Expr("total * 2".into()),
        ]
    );
    assert_eq!(
        template_parts("{{literal}} {d['}']} {{x}}").unwrap(),
        vec![
            TemplatePart::Text("{literal} ".into()),
            TemplatePart::Expr("d['}']".into()),
            TemplatePart::Text(" {x}".into()),
        ]
    );
    assert_eq!(template_parts("{ {'a': 1}['a'] }").unwrap(), vec![TemplatePart::Expr("{'a': 1}['a']".into())]);
    assert_eq!(template_parts("plain text").unwrap(), vec![TemplatePart::Text("plain text".into())]);
}

#[test]
fn refuses_bad_templates() {
    let bad = |text: &str| check_template(text).unwrap_err().message;
    assert_eq!(bad(""), "the template is empty");
    assert_eq!(bad("a } b"), "a single `}` at column 3: write `}}` for a literal brace");
    assert_eq!(bad("a {x"), "a `{` is never closed: end each expression with `}`, or write `{{` for a literal brace at column 3");
    assert_eq!(bad("a {} b"), "`{}` at column 3 names no expression: write `{expression}`, or `{{` for a literal brace");
    assert_eq!(bad("a {  } b"), "`{}` at column 3 names no expression: write `{expression}`, or `{{` for a literal brace");
    assert_eq!(
        bad("v={open('x')}"),
        "calls are not allowed except len, str, int, float, bool, isinstance: open(...)"
    );
    assert_eq!(bad("id {x = 1}"), "assignment is not allowed: `=` at column 7 (compare with `==`)");
    assert_eq!(bad("{x:>10}"), "unexpected `:` at column 3");
    assert_eq!(bad("{x!r}"), "unexpected character `!` at column 3");
    assert_eq!(bad(&"{x}".repeat(400)), "the template is longer than 1000 characters");
}
