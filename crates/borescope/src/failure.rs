//! What the binary prints when a command fails: `error: ...` plus `hint: ...` lines on stderr,
//! and the exit code (2 for bad input, 1 otherwise).

use std::process::ExitCode;

/// A failed command, ready to print.
#[derive(Debug)]
pub struct Failure {
    /// The message (may contain `hint:` lines).
    pub message: String,
    /// Exit code.
    pub code: u8,
}

impl Failure {
    /// Bad input or usage (exit code 2).
    pub fn input(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: 2,
        }
    }

    /// The command ran but failed (exit code 1).
    pub fn failed(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: 1,
        }
    }

    /// Prints the failure and returns its exit code.
    #[expect(clippy::print_stderr, reason = "the binary reports errors on stderr")]
    pub fn report(self) -> ExitCode {
        let mut lines = self.message.lines();
        if let Some(first) = lines.next() {
            eprintln!("error: {first}");
        }
        for line in lines {
            if line.starts_with("hint:") || line.starts_with("  ") {
                eprintln!("{line}");
            } else {
                eprintln!("error: {line}");
            }
        }
        ExitCode::from(self.code)
    }
}

impl From<borescope_debugger::DebuggerError> for Failure {
    fn from(error: borescope_debugger::DebuggerError) -> Failure {
        let message = error.to_string();
        if error.is_input_error() {
            Failure::input(message)
        } else {
            Failure::failed(message)
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        Failure::failed(format!("{error:#}"))
    }
}

impl From<borescope_attach::AttachError> for Failure {
    fn from(error: borescope_attach::AttachError) -> Failure {
        let message = error.to_string();
        if error.is_input_error() {
            Failure::input(message)
        } else {
            Failure::failed(message)
        }
    }
}

impl From<borescope_kube::KubeError> for Failure {
    fn from(error: borescope_kube::KubeError) -> Failure {
        if error.is_input_error() {
            Failure::input(error.to_string())
        } else {
            Failure::failed(error.to_string())
        }
    }
}

impl From<borescope_snapshots::SnapError> for Failure {
    fn from(error: borescope_snapshots::SnapError) -> Failure {
        let message = error.to_string();
        if error.is_input_error() {
            Failure::input(message)
        } else {
            Failure::failed(message)
        }
    }
}

impl From<borescope_lambda::template::TemplateError> for Failure {
    fn from(error: borescope_lambda::template::TemplateError) -> Failure {
        Failure::input(error.to_string())
    }
}

impl From<borescope_lambda::worker::WorkerError> for Failure {
    fn from(error: borescope_lambda::worker::WorkerError) -> Failure {
        Failure::failed(error.to_string())
    }
}

impl From<borescope_lambda::relay::RelayError> for Failure {
    fn from(error: borescope_lambda::relay::RelayError) -> Failure {
        match error {
            borescope_lambda::relay::RelayError::BadUrl(_) => Failure::input(error.to_string()),
            _ => Failure::failed(error.to_string()),
        }
    }
}

impl From<borescope_lambda::aws::AwsError> for Failure {
    fn from(error: borescope_lambda::aws::AwsError) -> Failure {
        if error.is_input_error() {
            Failure::input(error.to_string())
        } else {
            Failure::failed(error.to_string())
        }
    }
}
