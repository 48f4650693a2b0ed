//! Protocol objects (only the fields borescope reads; unknown fields are ignored).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A value in the inspected program.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteObject {
    /// `object`, `function`, `undefined`, `string`, `number`, `boolean`, `symbol`, `bigint`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// `array`, `null`, `map`, `set`, `error`, `promise`, ...
    #[serde(default)]
    pub subtype: Option<String>,
    /// Constructor name for objects.
    #[serde(default)]
    pub class_name: Option<String>,
    /// Primitive value.
    #[serde(default)]
    pub value: Option<Value>,
    /// `NaN`, `Infinity`, `-0`, bigint text.
    #[serde(default)]
    pub unserializable_value: Option<String>,
    /// Display text for objects and functions (errors: their stack).
    #[serde(default)]
    pub description: Option<String>,
    /// Handle for `Runtime.getProperties`.
    #[serde(default)]
    pub object_id: Option<String>,
    /// One level of properties.
    #[serde(default)]
    pub preview: Option<ObjectPreview>,
    /// Set by V8 on the exception in `Debugger.paused` data: whether nothing catches it.
    #[serde(default)]
    pub uncaught: Option<bool>,
}

/// A shallow preview of an object.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectPreview {
    /// Object type.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Subtype.
    #[serde(default)]
    pub subtype: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// More properties exist than listed.
    #[serde(default)]
    pub overflow: bool,
    /// Listed properties.
    #[serde(default)]
    pub properties: Vec<PropertyPreview>,
    /// Map/Set entries.
    #[serde(default)]
    pub entries: Vec<EntryPreview>,
}

/// One property in a preview.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyPreview {
    /// Name.
    pub name: String,
    /// Type.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Text value (strings unquoted).
    #[serde(default)]
    pub value: Option<String>,
    /// Subtype.
    #[serde(default)]
    pub subtype: Option<String>,
    /// A nested object's own preview (one more level).
    #[serde(default)]
    pub value_preview: Option<Box<ObjectPreview>>,
}

/// A Map/Set entry in a preview.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EntryPreview {
    /// Key (maps).
    #[serde(default)]
    pub key: Option<ObjectPreview>,
    /// Value.
    pub value: ObjectPreview,
}

/// A script position (0-based line and column).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptLocation {
    /// Script id.
    pub script_id: String,
    /// 0-based line.
    pub line_number: u32,
    /// 0-based column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_number: Option<u32>,
}

/// A scope of a paused frame.
#[derive(Debug, Clone, Deserialize)]
pub struct Scope {
    /// `global`, `local`, `with`, `closure`, `catch`, `block`, `script`, `eval`, `module`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The scope object (its properties are the variables).
    pub object: RemoteObject,
    /// Name (function name for closures).
    #[serde(default)]
    pub name: Option<String>,
}

/// A frame of a paused program.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallFrame {
    /// Handle for `evaluateOnCallFrame`.
    pub call_frame_id: String,
    /// Function name (empty for top-level code).
    pub function_name: String,
    /// Where it is.
    pub location: ScriptLocation,
    /// Script URL (`file:///...`, `node:internal/...`).
    #[serde(default)]
    pub url: String,
    /// Scopes, innermost first.
    #[serde(default)]
    pub scope_chain: Vec<Scope>,
}

/// A frame of an async stack trace (Runtime domain).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeCallFrame {
    /// Function name.
    pub function_name: String,
    /// Script URL.
    pub url: String,
    /// 0-based line.
    pub line_number: i64,
}

/// An async stack trace segment.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackTrace {
    /// `await`, `Promise.then`, ...
    #[serde(default)]
    pub description: Option<String>,
    /// Frames.
    pub call_frames: Vec<RuntimeCallFrame>,
    /// The next older segment.
    #[serde(default)]
    pub parent: Option<Box<StackTrace>>,
}

/// A property of an object.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyDescriptor {
    /// Name.
    pub name: String,
    /// Value (absent for accessors).
    #[serde(default)]
    pub value: Option<RemoteObject>,
    /// Getter.
    #[serde(default)]
    pub get: Option<RemoteObject>,
    /// Enumerable.
    #[serde(default)]
    pub enumerable: bool,
}

/// Details of an exception thrown by an evaluation.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionDetails {
    /// Short text.
    pub text: String,
    /// The exception.
    #[serde(default)]
    pub exception: Option<RemoteObject>,
}
