//! The relay's URL for AWS IoT Core: `wss://ENDPOINT/mqtt` presigned with SigV4 (service
//! `iotdevicegateway`, the session token appended after signing, as IoT Core wants:
//! `SessionTokenMode::Exclude` leaves it out of the canonical request and adds it last), so the
//! CLI connects with the developer's own credentials and no certificate. A `ws://` or
//! `wss://` URL that is not an IoT endpoint (a local broker in tests) is used as it is.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SessionTokenMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4;
use std::time::{Duration, SystemTime};

/// Why a URL could not be signed.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign the relay URL {url}: {reason}")]
pub struct PresignError {
    url: String,
    reason: String,
}

/// Whether `url` names an AWS IoT Core data endpoint (and so needs a signature).
pub fn is_iot_endpoint(url: &str) -> bool {
    host_of(url).is_some_and(|host| host.contains(".iot.") && host.ends_with(".amazonaws.com"))
}

fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?']).next().unwrap_or(rest).split(':').next().unwrap_or(rest))
}

fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Presigns `url` (`wss://HOST/mqtt`) for `region` at `time`, valid for a day.
pub fn presign(url: &str, region: &str, credentials: &Credentials, time: SystemTime) -> Result<String, PresignError> {
    let fail = |reason: String| PresignError { url: url.to_string(), reason };
    let https = url.replacen("wss://", "https://", 1);
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(86_400));
    settings.session_token_mode = SessionTokenMode::Exclude;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("iotdevicegateway")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let request = SignableRequest::new("GET", https.clone(), std::iter::empty(), SignableBody::Bytes(b"")).map_err(|e| fail(e.to_string()))?;
    let (_, query) = sign(request, &params.into()).map_err(|e| fail(e.to_string()))?.into_parts().0.into_parts();
    let mut signed = url.to_string();
    for (i, (name, value)) in query.iter().enumerate() {
        signed.push(if i == 0 && !url.contains('?') { '?' } else { '&' });
        signed.push_str(name);
        signed.push('=');
        signed.push_str(&encode_query_value(value));
    }
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iot_endpoints_are_recognised() {
        assert!(is_iot_endpoint("wss://abc-ats.iot.eu-west-1.amazonaws.com/mqtt"));
        assert!(!is_iot_endpoint("ws://127.0.0.1:1883/mqtt"));
        assert!(!is_iot_endpoint("wss://broker.example.com/mqtt"));
    }

    #[test]
    fn presigned_url_shape() {
        let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", Some("tok/en+=".into()), None, "test");
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_460_800);
        let url = presign("wss://abc-ats.iot.eu-west-1.amazonaws.com/mqtt", "eu-west-1", &creds, time).expect("signs");
        // The same inputs give the same signature in python/tests (lambda_relay.presign_iot_url).
        insta::assert_snapshot!(url);
        // Computed by a separate, plain SigV4 implementation (canonical request by hand, hmac and
        // hashlib): the signature must not depend on the library.
        assert!(url.contains("&X-Amz-Signature=aa34db0d5f8d4093558dc7951146d31259dc44af3c4be87ce1d4492aaf3b0bab&"), "{url}");
        assert!(url.ends_with("&X-Amz-Security-Token=tok%2Fen%2B%3D"));
        assert_eq!(url.matches("X-Amz-Security-Token").count(), 1);
    }
}
