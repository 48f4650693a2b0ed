//! Showing paths briefly: relative to the working directory when inside it.

use std::path::{Path, PathBuf};

/// How file paths are printed.
#[derive(Debug, Clone, Default)]
pub struct PathStyle {
    /// Paths under this directory are shown relative to it.
    pub base: Option<PathBuf>,
}

impl PathStyle {
    /// Relative to `base` (usually the current directory).
    pub fn relative_to(base: impl Into<PathBuf>) -> PathStyle {
        PathStyle {
            base: Some(base.into()),
        }
    }

    /// The display form of `file`.
    pub fn show(&self, file: &str) -> String {
        if let Some(base) = &self.base
            && let Ok(rest) = Path::new(file).strip_prefix(base)
                && !rest.as_os_str().is_empty() {
                    return rest.display().to_string();
                }
        file.to_string()
    }

    /// `file:line` in display form.
    pub fn location(&self, file: &str, line: Option<u32>) -> String {
        match line {
            Some(line) => format!("{}:{}", self.show(file), line),
            None => self.show(file),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_relative_inside_base_only() {
        let style = PathStyle::relative_to("/work/app");
        assert_eq!(style.show("/work/app/src/a.py"), "src/a.py");
        assert_eq!(style.show("/work/other/a.py"), "/work/other/a.py");
        assert_eq!(style.show("/work/application/a.py"), "/work/application/a.py");
    }
}
