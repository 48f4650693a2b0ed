//! What the agents reported during a probe (hellos, engines, summaries at exit), and saying from
//! it why a probe's lines were not reached.

use crate::agent::{ConnectionId, Hello, Summary};
use borescope_model::wording::{counted, ordinal};
use borescope_model::{Location, Notice};
use std::collections::HashMap;

/// What the agents told us during the run.
#[derive(Debug, Default)]
pub(crate) struct Observations {
    pub hellos: Vec<Hello>,
    pub summaries: Vec<Summary>,
    /// The engine each process watches with now (its hello's, or the one it fell back to).
    pub engines: HashMap<ConnectionId, String>,
    /// The process that said hello first, and the one that sent the first stop.
    pub first_hello: Option<ConnectionId>,
    pub first_stop: Option<ConnectionId>,
}

impl Observations {
    /// Records a process's hello.
    pub fn hello(&mut self, from: ConnectionId, hello: Hello) {
        if let Some(engine) = &hello.engine {
            self.engines.insert(from, engine.clone());
        }
        self.first_hello.get_or_insert(from);
        self.hellos.push(hello);
    }

    /// Records that a process captured a stop.
    pub fn stop(&mut self, from: ConnectionId) {
        self.first_stop.get_or_insert(from);
    }

    /// The engine that ran: the one that captured the first stop, else the first process's.
    pub fn engine(&self) -> Option<String> {
        self.first_stop
            .or(self.first_hello)
            .and_then(|from| self.engines.get(&from).cloned())
    }
}

/// Notices explaining an unreached location (one or more per location).
pub(crate) fn not_reached(
    obs: &Observations,
    locations: &[Location],
    condition: Option<&str>,
    hit: Option<u32>,
    show: &dyn Fn(&Location) -> String,
) -> Vec<Notice> {
    let mut notices = Vec::new();
    if obs.hellos.is_empty() {
        notices.push(Notice::with_hint(
            "borescope's Python agent never started in this program, so nothing was watched",
            "the command must run Python without -I/-E (they ignore PYTHONPATH); try `-- python3 FILE`",
        ));
        return notices;
    }
    if obs.summaries.is_empty() {
        notices.push(Notice::plain(
            "the program did not exit through the interpreter's normal shutdown (killed, os._exit or a crash), \
             so borescope cannot say which code ran",
        ));
        return notices;
    }
    for location in locations {
        let place = show(location);
        let file_name = show(&Location {
            file: location.file.clone(),
            line: 0,
        });
        let file_name = file_name.trim_end_matches(":0");
        let loaded = obs
            .summaries
            .iter()
            .any(|s| s.loaded.contains(&location.file));
        let count = |lists: fn(&Summary) -> &Vec<crate::agent::LineCount>| -> u64 {
            obs.summaries
                .iter()
                .flat_map(|s| lists(s).iter())
                .filter(|c| c.file == location.file && c.line == location.line)
                .map(|c| c.count)
                .sum()
        };
        let ran = count(|s| &s.ran);
        let matched = count(|s| &s.matched);
        if !loaded {
            notices.push(Notice::with_hint(
                format!("`{file_name}` was never loaded: no code from it ran"),
                "check that the command imports or runs this file",
            ));
        } else if ran == 0 {
            notices.push(Notice::plain(format!(
                "`{file_name}` was loaded, but line {} never ran",
                location.line
            )));
        } else if let Some(condition) = condition.filter(|_| matched == 0) {
            notices.push(Notice::plain(format!(
                "{place} ran {}; --if `{condition}` was never true",
                counted(ran, "time", "times")
            )));
        } else if let Some(hit) = hit {
            notices.push(Notice::plain(format!(
                "{place} ran {} ({matched} with the condition true); --hit {hit} waits for the {}",
                counted(ran, "time", "times"),
                ordinal(u64::from(hit))
            )));
        }
    }
    let mut errors: Vec<(String, u64)> = Vec::new();
    for summary in &obs.summaries {
        for e in &summary.condition_errors {
            match errors.iter_mut().find(|(text, _)| *text == e.error) {
                Some(entry) => entry.1 += e.count,
                None => errors.push((e.error.clone(), e.count)),
            }
        }
    }
    for (error, count) in errors {
        notices.push(Notice::with_hint(
            format!("the --if condition raised {error} ({}); those runs counted as false", counted(count, "time", "times")),
            "fix the expression; it runs in the frame of the line",
        ));
    }
    notices
}

/// The note for a probe that ran without a command and did not reach its line: borescope ran
/// the location's file itself, which only defines the functions of a file that another program
/// imports. Says what ran and how to give the program's own command (`example`, such as
/// `python3 MAIN.py`).
pub(crate) fn ran_the_file_itself(ran: &[String], location: &str, example: &str) -> Notice {
    Notice::with_hint(
        format!("no command was given, so borescope ran `{}`, the file itself", ran.join(" ")),
        format!(
            "if another program imports this file, give the command that runs that program: `borescope probe {location} -- {example}`"
        ),
    )
}
