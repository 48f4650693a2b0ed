//! `borescope source` without a location: the source around the selected frame of a paused
//! Python session, read the way stop reports read it (through the target's root for a process
//! in a container).

use super::python::PythonSession;
use crate::source::listing;
use crate::DebuggerError;
use borescope_model::{Answer, Budget, Frame};

impl PythonSession {
    /// The `radius` lines on each side of the selected frame's line.
    pub async fn source(&self, radius: u32) -> Result<Answer, DebuggerError> {
        let current = self.current_stop(&Budget::default()).await?;
        let frame = selected_frame(&current.stop, current.selected)?;
        let (file, line) = frame_place(&frame)?;
        let (source, total_lines) = listing(&self.paths.readable(&file), &file, line, radius)?;
        Ok(Answer::Source { session: Some(self.core.name.clone()), frame: Some(frame), file, source, total_lines })
    }
}

/// The frame `selected` of a stop (a stop always has frames; one without is a protocol fault).
pub(crate) fn selected_frame(stop: &borescope_model::Stop, selected: usize) -> Result<Frame, DebuggerError> {
    stop.stack
        .get(selected)
        .cloned()
        .ok_or_else(|| DebuggerError::Protocol("the stopped program reported no frames".into()))
}

/// The file and line of a frame, or why it has none.
pub(crate) fn frame_place(frame: &Frame) -> Result<(String, u32), DebuggerError> {
    match (&frame.file, frame.line) {
        (Some(file), Some(line)) => Ok((file.clone(), line)),
        _ => Err(DebuggerError::BadCommand(format!(
            "frame #{} ({}) has no source file; `borescope frame N` selects another, or name one: `borescope source FILE:LINE`",
            frame.index, frame.function
        ))),
    }
}
