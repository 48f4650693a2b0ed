//! Tool results: the rendered report as text plus the `--json` object as structured content,
//! together within the response budget, with an explicit notice when anything was cut.

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{json, Value};

/// Builds a successful result. `text` was rendered within half the budget; the structured
/// content gets the other half: long `value` strings are cut first, and if it is still too big
/// it is replaced by a notice (the text report always carries the essentials).
pub fn success(text: String, structured: Value, max_bytes: usize, max_value: usize) -> CallToolResult {
    let mut structured = structured;
    let share = max_bytes / 2;
    let mut cut = false;
    if size(&structured) > share {
        cut |= trim_values(&mut structured, max_value);
    }
    if size(&structured) > share {
        let schema = structured.get("schema").cloned().unwrap_or(Value::Null);
        structured = json!({
            "schema": schema,
            "truncated": true,
            "notice": format!(
                "structured content exceeded {share} bytes and was left out; the text report has the essentials. \
                 Raise the limit with `borescope mcp --max-response BYTES`, or ask for less (variables with a path, smaller max_vars)"
            ),
        });
    } else if cut && let Some(object) = structured.as_object_mut() {
        object.insert(
            "truncation".into(),
            json!(format!(
                "values longer than {} were cut (marked \"cut\": true)",
                borescope_model::wording::counted(max_value as u64, "character", "characters")
            )),
        );
    }
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    result
}

/// A tool error: one line saying what is wrong and how to fix it.
pub fn error(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

fn size(value: &Value) -> usize {
    serde_json::to_string(value).map(|s| s.len()).unwrap_or(usize::MAX)
}

/// Cuts every `"value"` string longer than `max` (marking its object `"cut": true`).
fn trim_values(value: &mut Value, max: usize) -> bool {
    let mut changed = false;
    match value {
        Value::Object(map) => {
            let long = map
                .get("value")
                .and_then(Value::as_str)
                .and_then(|s| s.char_indices().nth(max).map(|(end, _)| format!("{}...", &s[..end])));
            if let Some(short) = long {
                map.insert("value".into(), Value::String(short));
                map.insert("cut".into(), Value::Bool(true));
                changed = true;
            }
            for child in map.values_mut() {
                changed |= trim_values(child, max);
            }
        }
        Value::Array(items) => {
            for item in items {
                changed |= trim_values(item, max);
            }
        }
        _ => {}
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_then_dropped() {
        let big = json!({"schema": "s", "locals": [{"name": "x", "value": "y".repeat(5000)}]});
        let result = success("text".into(), big, 4000, 100);
        let structured = result.structured_content.unwrap();
        assert_eq!(structured["locals"][0]["cut"], true);
        assert!(structured["truncation"].is_string());
        let huge = json!({"schema": "s", "locals": (0..500).map(|i| json!({"name": i.to_string(), "value": "v"})).collect::<Vec<_>>()});
        let result = success("text".into(), huge, 4000, 100);
        assert_eq!(result.structured_content.unwrap()["truncated"], true);
    }
}
