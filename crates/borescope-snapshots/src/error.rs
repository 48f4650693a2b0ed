//! What can go wrong talking to a borescope server, as typed errors whose `Display` is the one
//! line a person reads (the binary adds `error: `). [`SnapError::is_input_error`] tells bad
//! input (exit code 2) from a failure (exit code 1).

use borescope_static::EnvVars;

/// Why a live-snapshot operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SnapError {
    /// Something the user typed is wrong; checked before any request is sent.
    #[error("{0}")]
    Input(String),
    /// The server URL is not one this client can use.
    #[error("{0}")]
    BadUrl(String),
    /// Nothing listens at the server's address.
    #[error(
        "no borescope server at {url} (start one with `borescope server`, or pass --server URL / set {var})",
        var = EnvVars::BORESCOPE_SERVER
    )]
    NoServer {
        /// The server URL.
        url: String,
    },
    /// The address could not be reached (name resolution, timeout, network).
    #[error("cannot reach the borescope server at {url}: {why}")]
    Unreachable {
        /// The server URL.
        url: String,
        /// What the operating system said.
        why: String,
    },
    /// The server wants an admin token and none (or a wrong one) was given.
    #[error("{}", unauthorized(url, *had_token))]
    Unauthorized {
        /// The server URL.
        url: String,
        /// Whether a token was sent.
        had_token: bool,
    },
    /// The server refused the request with its own message (`ApiErrorBody`).
    #[error("{message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's error code (`bad_request`, `not_found`, ...).
        code: String,
        /// The server's one-line message.
        message: String,
    },
    /// The server answered with something that is not the API (a proxy's page, a server error
    /// without a body, another program on the port).
    #[error("the borescope server at {url} answered {status}: {detail}")]
    Server {
        /// The server URL.
        url: String,
        /// HTTP status line, e.g. `502 Bad Gateway`.
        status: String,
        /// The first line of what it sent, or what could not be read.
        detail: String,
    },
    /// The connection broke or timed out during a request.
    #[error("the request to the borescope server at {url} failed: {why}")]
    Transport {
        /// The server URL.
        url: String,
        /// Why.
        why: String,
    },
}

fn unauthorized(url: &str, had_token: bool) -> String {
    let var = EnvVars::BORESCOPE_TOKEN;
    if had_token {
        format!(
            "the borescope server at {url} refused the admin token: pass the one it printed at first start with --token, or set {var}"
        )
    } else {
        format!(
            "the borescope server at {url} needs its admin token: pass --token TOKEN or set {var} (`borescope server` printed it at first start)"
        )
    }
}

impl SnapError {
    /// True for bad input (exit code 2): what was typed, a bad URL, or a request the server
    /// refused as such (400, 403, 404, 409, 413). Everything else is a failure (exit code 1),
    /// a missing or wrong token included (the command was fine; the setting is not).
    pub fn is_input_error(&self) -> bool {
        match self {
            SnapError::Input(_) | SnapError::BadUrl(_) => true,
            SnapError::Refused { status, .. } => (400..500).contains(status),
            SnapError::Unauthorized { .. }
            | SnapError::NoServer { .. }
            | SnapError::Unreachable { .. }
            | SnapError::Server { .. }
            | SnapError::Transport { .. } => false,
        }
    }

    /// A bad-input error.
    pub fn input(message: impl Into<String>) -> SnapError {
        SnapError::Input(message.into())
    }
}
