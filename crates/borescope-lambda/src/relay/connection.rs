//! The developer's end of the relay: one MQTT-over-WebSocket connection (rumqttc), subscribed
//! to this attach's `up` topic, that opens sealed invocations and publishes sealed answers
//! (chunked when large). The connection re-opens by itself; a presigned IoT Core URL is signed
//! again for every connection.

use super::chunk::{Reassembler, split};
use super::messages::{Invoke, now_ms};
use super::presign::{is_iot_endpoint, presign};
use super::seal::{ReplayGuard, SealKeys, random_bytes};
use aws_credential_types::Credentials;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, Transport};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;

/// Where the relay is and this attach's secrets.
#[derive(Clone)]
pub struct RelayConfig {
    /// The broker's WebSocket URL (`wss://ENDPOINT/mqtt`, or `ws://127.0.0.1:PORT/mqtt`).
    pub url: String,
    /// The per-attach topic prefix.
    pub prefix: String,
    /// The per-attach secret (base64url).
    pub secret: String,
    /// Region and credentials that sign an IoT Core URL.
    pub signer: Option<(String, Credentials)>,
}

impl std::fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayConfig").field("url", &self.url).field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

/// Why the relay failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The secret is not usable.
    #[error(transparent)]
    Secret(#[from] super::seal::SealError),
    /// The URL is not a WebSocket URL.
    #[error("the relay URL `{0}` is not a ws:// or wss:// URL; pass --relay ws://HOST:PORT/mqtt or wss://ENDPOINT/mqtt")]
    BadUrl(String),
    /// An IoT Core URL without credentials to sign it.
    #[error("the relay {0} is AWS IoT Core, which needs signed URLs, but no AWS credentials were found")]
    NoSigner(String),
    /// The first connection failed.
    #[error("cannot reach the relay at {url}: {reason}; check --relay (or BORESCOPE_LAMBDA_RELAY) and that this machine can reach it")]
    Unreachable {
        /// The URL, without a signature.
        url: String,
        /// What the broker or network said.
        reason: String,
    },
    /// The connection's task ended.
    #[error("the relay connection closed")]
    Closed,
}

enum Inbound {
    Connected,
    Payload(Vec<u8>),
    Lost(String),
}

/// Counters of what the relay dropped.
#[derive(Debug, Default, Clone, Copy)]
pub struct RelayStats {
    /// Messages whose tag, clock or id was refused.
    pub refused: u64,
    /// Messages whose chunks never all came.
    pub incomplete: u64,
}

/// A connected relay.
pub struct Relay {
    client: AsyncClient,
    inbound: mpsc::Receiver<Inbound>,
    keys: SealKeys,
    prefix: String,
    guard: ReplayGuard,
    reassembler: Reassembler,
    refused: u64,
    url: String,
}

/// The topic invocations arrive on.
pub fn up_topic(prefix: &str) -> String {
    format!("borescope/{prefix}/up")
}

/// The topic answers for one execution environment go to.
pub fn down_topic(prefix: &str, worker: &str) -> String {
    format!("borescope/{prefix}/down/{worker}")
}

fn options(config: &RelayConfig) -> Result<MqttOptions, RelayError> {
    let url = config.url.clone();
    let transport = if url.starts_with("ws://") {
        Transport::Ws
    } else if url.starts_with("wss://") {
        Transport::wss_with_default_config()
    } else {
        return Err(RelayError::BadUrl(url));
    };
    let client_id = format!("borescope-{}-cli-{}", config.prefix, hex(&random_bytes::<4>()));
    let mut options = MqttOptions::new(client_id, url.clone(), 0);
    options.set_transport(transport);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_max_packet_size(256 * 1024, 256 * 1024);
    options.set_clean_session(true);
    if is_iot_endpoint(&url) {
        let (region, credentials) = config.signer.clone().ok_or_else(|| RelayError::NoSigner(url.clone()))?;
        options.set_request_modifier(move |mut request: http::Request<()>| {
            let signed = presign(&url, &region, &credentials, SystemTime::now());
            async move {
                match signed.map(|s| s.parse()) {
                    Ok(Ok(uri)) => *request.uri_mut() = uri,
                    Ok(Err(e)) => tracing::warn!("presigned relay URL does not parse: {e}"),
                    Err(e) => tracing::warn!("{e}"),
                }
                request
            }
        });
    }
    Ok(options)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Relay {
    /// Connects, subscribes, and waits (up to `timeout`) for the broker to accept.
    pub async fn connect(config: &RelayConfig, timeout: Duration) -> Result<Relay, RelayError> {
        let keys = SealKeys::from_b64(&config.secret)?;
        let options = options(config)?;
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        // An `ack` and its answer go out back to back: without TCP_NODELAY the answer waits
        // for the broker's delayed ACK of the first (40 ms a message, measured).
        let mut network = rumqttc::NetworkOptions::new();
        network.set_tcp_nodelay(true);
        eventloop.set_network_options(network);
        let (tx, mut inbound) = mpsc::channel(256);
        let up = up_topic(&config.prefix);
        let subscriber = client.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(200);
            loop {
                let sent = match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        backoff = Duration::from_millis(200);
                        let _ = subscriber.subscribe(up.clone(), QoS::AtMostOnce).await;
                        tx.send(Inbound::Connected).await
                    }
                    Ok(Event::Incoming(Packet::Publish(publish))) => tx.send(Inbound::Payload(publish.payload.to_vec())).await,
                    Ok(_) => Ok(()),
                    Err(e) => {
                        let sent = tx.send(Inbound::Lost(e.to_string())).await;
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        sent
                    }
                };
                if sent.is_err() {
                    break;
                }
            }
        });
        let unreachable = |reason: String| RelayError::Unreachable { url: config.url.split('?').next().unwrap_or_default().to_string(), reason };
        match tokio::time::timeout(timeout, inbound.recv()).await {
            Ok(Some(Inbound::Connected)) => {}
            Ok(Some(Inbound::Lost(reason))) => return Err(unreachable(reason)),
            Ok(Some(Inbound::Payload(_))) | Ok(None) => return Err(unreachable("the connection closed".into())),
            Err(_) => return Err(unreachable(format!("no answer within {} s", timeout.as_secs()))),
        }
        Ok(Relay {
            client,
            inbound,
            keys,
            prefix: config.prefix.clone(),
            guard: ReplayGuard::default(),
            reassembler: Reassembler::default(),
            refused: 0,
            url: config.url.split('?').next().unwrap_or_default().to_string(),
        })
    }

    /// The relay's URL without a signature.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What was dropped so far.
    pub fn stats(&self) -> RelayStats {
        RelayStats { refused: self.refused, incomplete: self.reassembler.dropped }
    }

    /// The next authentic invocation. Connection losses are logged and retried underneath.
    pub async fn next_invoke(&mut self) -> Result<Invoke, RelayError> {
        let topic = up_topic(&self.prefix);
        loop {
            match self.inbound.recv().await.ok_or(RelayError::Closed)? {
                Inbound::Connected => tracing::info!("relay connected again"),
                Inbound::Lost(reason) => tracing::warn!("relay connection lost: {reason}; reconnecting"),
                Inbound::Payload(payload) => {
                    let Some(sealed) = self.reassembler.push(&payload, Instant::now()) else { continue };
                    let Ok(plain) = self.keys.open(&topic, &sealed) else {
                        self.refused += 1;
                        tracing::warn!("dropped a relay message that does not verify");
                        continue;
                    };
                    match serde_json::from_slice::<Invoke>(&plain) {
                        Ok(invoke) if self.guard.accept(&invoke.t, &invoke.id, invoke.ts, now_ms()) => return Ok(invoke),
                        Ok(invoke) => {
                            // A shim publishes an invocation again when its `ack` did not come:
                            // it is running here already, so only the `ack` is repeated.
                            if (now_ms() - invoke.ts).abs() <= super::seal::CLOCK_WINDOW_MS {
                                let ack = super::messages::ack(&invoke.id);
                                if let Err(e) = self.publisher().send(&invoke.w, &ack).await {
                                    tracing::warn!("cannot acknowledge {} again: {e}", invoke.id);
                                }
                            } else {
                                self.refused += 1;
                                tracing::warn!("dropped a stale relay message");
                            }
                        }
                        Err(e) => {
                            self.refused += 1;
                            tracing::warn!("dropped a relay message that is not an invocation: {e}");
                        }
                    }
                }
            }
        }
    }

    /// A handle that publishes answers (cheap to clone, usable from other tasks).
    pub fn publisher(&self) -> Publisher {
        Publisher { client: self.client.clone(), keys: self.keys.clone(), prefix: self.prefix.clone() }
    }
}

/// Publishes sealed answers to execution environments.
#[derive(Clone)]
pub struct Publisher {
    client: AsyncClient,
    keys: SealKeys,
    prefix: String,
}

impl Publisher {
    /// Seals `message` for the worker's `down` topic and publishes it (in chunks when large).
    pub async fn send(&self, worker: &str, message: &serde_json::Value) -> Result<(), RelayError> {
        let topic = down_topic(&self.prefix, worker);
        let plain = serde_json::to_vec(message).map_err(|_| RelayError::Closed)?;
        let sealed = self.keys.seal(&topic, &plain);
        for payload in split(sealed, random_bytes()) {
            self.client.publish(topic.clone(), QoS::AtMostOnce, false, payload).await.map_err(|_| RelayError::Closed)?;
        }
        Ok(())
    }

    /// Seals and publishes a message on the `up` topic, as a shim would (tests and benchmarks
    /// play the Lambda side with it).
    pub async fn send_up(&self, message: &serde_json::Value) -> Result<(), RelayError> {
        let topic = up_topic(&self.prefix);
        let plain = serde_json::to_vec(message).map_err(|_| RelayError::Closed)?;
        for payload in split(self.keys.seal(&topic, &plain), random_bytes()) {
            self.client.publish(topic.clone(), QoS::AtMostOnce, false, payload).await.map_err(|_| RelayError::Closed)?;
        }
        Ok(())
    }
}
