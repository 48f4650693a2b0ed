//! Which variable names look secret. The same rule as the Python agent's
//! (`python/borescope_agent/capture.py`): the name, lowercased with `_`, `-` and a leading `.`
//! removed, is one of a fixed set or ends with a secret-looking word.

const NAMES: &[&str] = &[
    "password", "passwd", "passphrase", "pwd", "secret", "secretkey", "clientsecret", "token",
    "accesstoken", "refreshtoken", "idtoken", "authtoken", "apikey", "apitoken", "accesskey",
    "secretaccesskey", "privatekey", "authorization", "auth", "cookie", "setcookie", "sessionid",
    "sessiontoken", "csrftoken", "xsrftoken", "credential", "credentials", "creditcard",
    "cardnumber", "cvv", "cvc", "ssn", "jwt", "bearer", "signature", "connectionstring", "dsn",
];

const SUFFIXES: &[&str] = &[
    "password", "passwd", "secret", "token", "apikey", "privatekey", "accesskey", "credentials",
];

/// True when a variable called `name` should have its value hidden.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.trim_matches(|c| c == '\'' || c == '"');
    let normal: String = name
        .trim_start_matches('.')
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    NAMES.contains(&normal.as_str()) || SUFFIXES.iter().any(|s| normal.ends_with(s))
}

/// True when an expression reads a secret-looking name: a plain name or attribute path whose
/// last step is one (`password`, `self.api_token`), or a subscript by a quoted secret key
/// (`cfg['api_key']`). The same rule as the agent's `capture.secret_expression`.
pub fn is_secret_expression(expression: &str) -> bool {
    let text = expression.trim();
    if let Some(inner) = text.strip_suffix(']') {
        let Some(open) = inner.rfind('[') else { return false };
        let key = inner[open + 1..].trim();
        let quoted = key.len() >= 2
            && ((key.starts_with('\'') && key.ends_with('\'')) || (key.starts_with('"') && key.ends_with('"')));
        return quoted && is_secret_name(&key[1..key.len() - 1]);
    }
    let last = text.rsplit('.').next().unwrap_or(text);
    !last.is_empty() && last.chars().all(|c| c.is_alphanumeric() || c == '_') && is_secret_name(last)
}

/// Hides secret-looking entries inside a value's display text, as debuggers print it:
/// `'password': 'x'` (dict items) and `token='x'` (keyword-style object reprs). Best effort:
/// text formats vary, so names are the primary protection.
pub fn redact_text(text: &str) -> std::borrow::Cow<'_, str> {
    static PATTERN: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let Some(pattern) = PATTERN
        .get_or_init(|| {
            regex::Regex::new(
                r#"(?P<key>['"]?(?P<name>[A-Za-z_][A-Za-z0-9_-]*)['"]?\s*(?::|=)\s*)(?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|b'(?:[^'\\]|\\.)*')"#,
            )
            .ok()
        })
        .as_ref()
    else {
        return std::borrow::Cow::Borrowed(text);
    };
    pattern.replace_all(text, |caps: &regex::Captures<'_>| {
        if is_secret_name(&caps["name"]) {
            format!("{}<redacted>", &caps["key"])
        } else {
            caps[0].to_string()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_expressions_are_told_by_their_last_step() {
        for secret in ["api_token", "self.api_token", "config['api_key']", "obj[\"password\"]", " settings.SECRET_KEY ", " token "] {
            assert!(is_secret_expression(secret), "{secret}");
        }
        for plain in ["token_count", "len(password)", "x = 5", "items[0]", "get_token()", "user.name", "cfg[key]", "password + 'x'"] {
            assert!(!is_secret_expression(plain), "{plain}");
        }
    }

    #[test]
    fn redacts_inside_display_text() {
        assert_eq!(
            redact_text("{'a': 1, 'password': 'hunter2', 'user': 'bob'}"),
            "{'a': 1, 'password': <redacted>, 'user': 'bob'}"
        );
        assert_eq!(redact_text("Cfg(api_key=\"k-1\", n=2)"), "Cfg(api_key=<redacted>, n=2)");
        assert_eq!(redact_text("tokens = 'abc'"), "tokens = 'abc'");
    }

    #[test]
    fn secret_names() {
        for yes in ["password", "DB_PASSWORD", "github_token", "apiKey", "'api-key'", "Authorization"] {
            assert!(is_secret_name(yes), "{yes}");
        }
        for no in ["tokens", "author", "user", "tokenizer", "passed"] {
            assert!(!is_secret_name(no), "{no}");
        }
    }
}
