//! `attach HOST:PORT`: a session on a debug server that is already listening (debugpy started
//! by the user, Node with `--inspect`). Nothing is started in the program, so `stop` only
//! disconnects.

use crate::handlers::{failure, valid_name, Context};
use borescope_debugger::session::{Address, ConnectSpec, PathMappings, Session};
use borescope_ipc::{ConnectRequest, ErrorKind, Response};
use borescope_model::Answer;

/// Connects a new session `name` to the server in `spec`.
pub async fn connect(ctx: &Context, name: &str, spec: ConnectRequest) -> Response {
    if let Err(response) = valid_name(name) {
        return response;
    }
    let address = match Address::parse(&spec.address) {
        Ok(address) => address,
        Err(message) => return Response::error(ErrorKind::Input, message),
    };
    if let Err(message) = ctx.registry.lock().await.reserve(name) {
        return Response::error(ErrorKind::Input, message);
    }
    let connect = ConnectSpec {
        address,
        paths: PathMappings::new(spec.path_maps),
        breakpoints: spec.breakpoints,
        location_base: spec.client_cwd,
        exceptions: spec.exceptions,
        budget: spec.budget,
    };
    let result = Session::connect(name, connect).await;
    let mut registry = ctx.registry.lock().await;
    match result {
        Ok((session, report)) => {
            // An ended predecessor of the same name is replaced.
            if let Some(old) = registry.remove(name) {
                old.stop().await;
            }
            registry.insert(name, session, true);
            Response::ok(Answer::Report(report))
        }
        Err(error) => {
            registry.release(name);
            failure(error)
        }
    }
}
