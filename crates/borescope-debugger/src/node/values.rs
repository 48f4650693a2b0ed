//! Showing V8 values: `RemoteObject`s and their previews as display text and model variables,
//! the way Node's own inspector formats them (`'text'`, `[1, 2]`, `Order {qty: 3}`).

use crate::redact::{is_secret_name, redact_text};
use borescope_cdp::types::{ObjectPreview, PropertyPreview, RemoteObject};
use borescope_model::{Budget, Variable};

/// Display text of a value.
pub fn display(object: &RemoteObject) -> String {
    match object.kind.as_str() {
        "undefined" => "undefined".into(),
        "string" => quote(object.value.as_ref().and_then(|v| v.as_str()).unwrap_or_default()),
        "number" | "boolean" => match (&object.unserializable_value, &object.value) {
            (Some(text), _) => text.clone(),
            (None, Some(value)) => value.to_string(),
            (None, None) => object.description.clone().unwrap_or_default(),
        },
        "bigint" => object
            .unserializable_value
            .clone()
            .or_else(|| object.description.clone())
            .unwrap_or_default(),
        "symbol" => object.description.clone().unwrap_or_else(|| "Symbol()".into()),
        "function" => {
            let name = object
                .description
                .as_deref()
                .and_then(function_name)
                .unwrap_or_default();
            if name.is_empty() {
                "[Function (anonymous)]".into()
            } else {
                format!("[Function: {name}]")
            }
        }
        _ => object_text(object),
    }
}

/// A short type name: the class for objects, the JavaScript type otherwise.
pub fn type_name(object: &RemoteObject) -> String {
    match (object.kind.as_str(), object.subtype.as_deref()) {
        ("object", Some("null")) => "null".into(),
        ("object", _) => object.class_name.clone().unwrap_or_else(|| "Object".into()),
        (kind, _) => kind.to_string(),
    }
}

/// A model variable for `name = object`.
pub fn variable(name: &str, object: &RemoteObject, budget: &Budget) -> Variable {
    let redacted = budget.redact && is_secret_name(name);
    let text = if redacted {
        String::new()
    } else if budget.redact {
        redact_text(&display(object)).into_owned()
    } else {
        display(object)
    };
    Variable {
        name: name.to_string(),
        type_name: Some(type_name(object)),
        value: text,
        full_length: None,
        cut: false,
        redacted,
        expandable: object.object_id.is_some() && object.kind == "object" && object.subtype.as_deref() != Some("null"),
        children: Vec::new(),
    }
}

/// Display text of an object one level deeper than its preview: `children` are its own
/// properties, each with its own preview (so `[{a: 1}, {a: 2}]` instead of `[Object, Object]`).
pub fn display_expanded(object: &RemoteObject, children: &[(String, RemoteObject)], overflow: bool) -> String {
    let more = if overflow { ", ..." } else { "" };
    let items: Vec<(String, String)> = children
        .iter()
        .map(|(name, value)| {
            let text = if is_secret_name(name) { "<redacted>".to_string() } else { display(value) };
            (name.clone(), text)
        })
        .collect();
    if object.subtype.as_deref() == Some("array") {
        let values: Vec<String> = items.into_iter().filter(|(n, _)| n != "length").map(|(_, v)| v).collect();
        return format!("[{}{more}]", values.join(", "));
    }
    let prefix = match object.class_name.as_deref() {
        Some("Object") | None => String::new(),
        Some(other) => format!("{other} "),
    };
    let pairs: Vec<String> = items.into_iter().map(|(n, v)| format!("{n}: {v}")).collect();
    format!("{prefix}{{{}{more}}}", pairs.join(", "))
}

/// True when a value's preview hides nested objects that one more level would show.
pub fn wants_expansion(object: &RemoteObject) -> bool {
    let plain = matches!(object.subtype.as_deref(), None | Some("array"));
    plain
        && object.kind == "object"
        && object.object_id.is_some()
        && object
            .preview
            .as_ref()
            .is_some_and(|p| p.properties.iter().any(|prop| prop.kind == "object" && prop.value_preview.is_none() && prop.subtype.as_deref() != Some("null")))
}

fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out.push('\'');
    out
}

fn function_name(description: &str) -> Option<String> {
    let head = description.lines().next()?.trim();
    let head = head.strip_prefix("async ").unwrap_or(head);
    let rest = head
        .strip_prefix("function*")
        .or_else(|| head.strip_prefix("function"))
        .or_else(|| head.strip_prefix("class"))?;
    let name: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
        .collect();
    Some(name)
}

fn object_text(object: &RemoteObject) -> String {
    match object.subtype.as_deref() {
        Some("null") => return "null".into(),
        Some("error") | Some("regexp") | Some("date") => {
            return object
                .description
                .as_deref()
                .and_then(|d| d.lines().next())
                .unwrap_or_default()
                .to_string();
        }
        _ => {}
    }
    match &object.preview {
        Some(preview) => preview_text(preview, object.class_name.as_deref()),
        None => object.description.clone().unwrap_or_else(|| "Object".into()),
    }
}

fn preview_text(preview: &ObjectPreview, class: Option<&str>) -> String {
    let more = if preview.overflow { ", ..." } else { "" };
    match preview.subtype.as_deref() {
        Some("array") | Some("typedarray") => {
            let items: Vec<String> = preview.properties.iter().map(property_value).collect();
            let prefix = match class {
                Some("Array") | None => String::new(),
                Some(other) => format!("{other} "),
            };
            format!("{prefix}[{}{more}]", items.join(", "))
        }
        Some("map") | Some("set") => {
            let items: Vec<String> = preview
                .entries
                .iter()
                .map(|e| match &e.key {
                    Some(key) => format!("{} => {}", nested(key), nested(&e.value)),
                    None => nested(&e.value),
                })
                .collect();
            format!(
                "{} {{{}{more}}}",
                preview.description.as_deref().unwrap_or("Map"),
                items.join(", ")
            )
        }
        _ => {
            let items: Vec<String> = preview
                .properties
                .iter()
                .map(|p| {
                    let value = if is_secret_name(&p.name) {
                        "<redacted>".to_string()
                    } else {
                        property_value(p)
                    };
                    format!("{}: {value}", p.name)
                })
                .collect();
            let prefix = match class {
                Some("Object") | None => String::new(),
                Some(other) => format!("{other} "),
            };
            format!("{prefix}{{{}{more}}}", items.join(", "))
        }
    }
}

fn nested(preview: &ObjectPreview) -> String {
    if preview.kind == "string" {
        return quote(preview.description.as_deref().unwrap_or_default());
    }
    preview.description.clone().unwrap_or_default()
}

fn property_value(property: &PropertyPreview) -> String {
    if let Some(nested) = &property.value_preview {
        let class = nested.description.as_deref();
        return preview_text(nested, class);
    }
    let value = property.value.clone().unwrap_or_default();
    match property.kind.as_str() {
        "string" => quote(&value),
        "object" if property.subtype.as_deref() == Some("null") => "null".into(),
        "object" if value.is_empty() => "{...}".into(),
        "function" => "[Function]".into(),
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(json: serde_json::Value) -> RemoteObject {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn primitives_and_objects() {
        assert_eq!(display(&object(serde_json::json!({"type": "string", "value": "it's"}))), "'it\\'s'");
        assert_eq!(display(&object(serde_json::json!({"type": "number", "value": 3}))), "3");
        assert_eq!(display(&object(serde_json::json!({"type": "number", "unserializableValue": "NaN"}))), "NaN");
        assert_eq!(display(&object(serde_json::json!({"type": "object", "subtype": "null", "value": null}))), "null");
        let order = object(serde_json::json!({
            "type": "object", "className": "Order", "objectId": "1",
            "preview": {"type": "object", "overflow": false, "properties": [
                {"name": "item", "type": "string", "value": "widget"},
                {"name": "qty", "type": "number", "value": "3"},
                {"name": "token", "type": "string", "value": "t0k"}]}
        }));
        assert_eq!(display(&order), "Order {item: 'widget', qty: 3, token: <redacted>}");
        let list = object(serde_json::json!({
            "type": "object", "subtype": "array", "className": "Array", "objectId": "2",
            "preview": {"type": "object", "subtype": "array", "overflow": true, "properties": [
                {"name": "0", "type": "number", "value": "1"}, {"name": "1", "type": "object", "value": "Object"}]}
        }));
        assert_eq!(display(&list), "[1, Object, ...]");
        let function = object(serde_json::json!({"type": "function", "description": "async function fetchAll(a) {}"}));
        assert_eq!(display(&function), "[Function: fetchAll]");
    }
}
