//! Script URLs as V8 reports them (`file:///a%20b/app.js`, `node:internal/...`) and the paths
//! borescope uses, both ways.

/// The path of a `file://` URL (percent-decoded); other URLs are returned as they are.
pub fn url_to_path(url: &str) -> String {
    match url.strip_prefix("file://") {
        Some(rest) => percent_decode(rest),
        None => url.to_string(),
    }
}

/// A regex (JavaScript syntax) matching the URL V8 gives a script at `path`, whether it is
/// percent-encoded (`file:///a%20b.js`, ES modules and recent CommonJS) or not.
pub fn url_regex(path: &str) -> String {
    let encoded = escape_regex(&percent_encode(path));
    let raw = escape_regex(path);
    if encoded == raw {
        format!("^(file://)?{raw}$")
    } else {
        format!("^(file://)?({encoded}|{raw})$")
    }
}

fn escape_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\^$.|?*+()[]{}/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Percent-encodes a path the way `url.pathToFileURL` does (keeps `/` and unreserved chars).
fn percent_encode(path: &str) -> String {
    let mut out = String::new();
    for byte in path.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&byte);
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len()
            && let Ok(value) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(value);
                i += 3;
                continue;
            }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_spaces() {
        assert_eq!(url_to_path("file:///tmp/a%20b/app.js"), "/tmp/a b/app.js");
        assert_eq!(url_to_path("node:internal/main"), "node:internal/main");
        let regex = url_regex("/tmp/a b/app.js");
        assert_eq!(regex, "^(file://)?(\\/tmp\\/a%20b\\/app\\.js|\\/tmp\\/a b\\/app\\.js)$");
        assert_eq!(url_regex("/x/y.js"), "^(file://)?\\/x\\/y\\.js$");
    }
}
