//! Services and their exception-snapshot setting: `snap exceptions --service NAME [on|off]`.

use crate::client::REQUEST_TIMEOUT;
use crate::{Client, SnapError};
use borescope_snapshots_api::people::{ExceptionSwitch, ServiceInfo, ServiceList, SERVICE_SCHEMA};
use hyper::Method;

/// Every service the server knows (a key, an instance, a probe or a setting names it).
pub async fn list(client: &Client) -> Result<Vec<ServiceInfo>, SnapError> {
    let list: ServiceList = client.get("/services", REQUEST_TIMEOUT).await?;
    Ok(list.services.into_iter().map(with_schema).collect())
}

/// One service, with its setting; the server's "no service" when it knows none by that name.
pub async fn get(client: &Client, name: &str) -> Result<ServiceInfo, SnapError> {
    crate::input::check_name("--service", name)?;
    list(client).await?.into_iter().find(|s| s.name == name).ok_or_else(|| unknown(name))
}

/// Turns a service's exception snapshots on or off; its instances learn it at once.
pub async fn set_exceptions(client: &Client, name: &str, enabled: bool) -> Result<ServiceInfo, SnapError> {
    crate::input::check_name("--service", name)?;
    let info: ServiceInfo = client.send(Method::PUT, &format!("/services/{name}/exceptions"), &ExceptionSwitch { enabled }).await?;
    Ok(with_schema(info))
}

/// `on`/`off` (also `true`/`false`, `yes`/`no`, `1`/`0`) as typed after the service.
pub fn parse_switch(text: &str) -> Result<bool, SnapError> {
    match text.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(SnapError::input(format!(
            "`{text}` is neither on nor off: `borescope snap exceptions --service NAME on|off` (nothing after the name shows the setting)"
        ))),
    }
}

fn unknown(name: &str) -> SnapError {
    SnapError::Refused {
        status: 404,
        code: "not_found".into(),
        message: format!("no service `{name}`: a service is known once it has an agent key (`borescope snap key add --service {name}`)"),
    }
}

fn with_schema(mut info: ServiceInfo) -> ServiceInfo {
    info.schema = SERVICE_SCHEMA.into();
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_read_on_and_off_and_refuse_anything_else() {
        assert!(parse_switch("on").unwrap());
        assert!(parse_switch("ON").unwrap());
        assert!(!parse_switch("off").unwrap());
        let refused = parse_switch("maybe").unwrap_err();
        assert!(refused.is_input_error());
        assert!(refused.to_string().contains("`maybe` is neither on nor off"));
    }
}
