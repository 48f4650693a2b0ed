//! `borescope source` without a location for Node: the source around the selected frame, read
//! from the file or, when this machine does not have it (a program reached by address, Node's
//! own modules), from V8.

use super::session::NodeSession;
use crate::session::{frame_place, selected_frame};
use crate::source::{listing, listing_from_text};
use crate::DebuggerError;
use borescope_cdp::commands as cdp;
use borescope_model::{Answer, Budget};

impl NodeSession {
    /// The `radius` lines on each side of the selected frame's line.
    pub async fn source(&self, radius: u32) -> Result<Answer, DebuggerError> {
        let current = self.current_stop(&Budget::default()).await?;
        let frame = selected_frame(&current.stop, current.selected)?;
        let (file, line) = frame_place(&frame)?;
        let (source, total_lines) = match listing(std::path::Path::new(&file), &file, line, radius) {
            Ok(found) => found,
            Err(local) => {
                // Async caller frames have no script id; only frames V8 paused in can be asked for.
                let script_id = self.pause()?.event.call_frames.get(current.selected).map(|f| f.location.script_id.clone());
                let Some(script_id) = script_id else { return Err(local) };
                let text = self.client.call::<cdp::GetScriptSource>(cdp::ScriptId { script_id }).await?.script_source;
                listing_from_text(&text, &file, line, radius)?
            }
        };
        Ok(Answer::Source { session: Some(self.core.name.clone()), frame: Some(frame), file, source, total_lines })
    }
}
