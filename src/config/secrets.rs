//! librdkafka pass-through properties: held so that their values are never
//! printed, and checked against librdkafka itself at load.
//!
//! # What is shown
//!
//! A property's value is shown (by `check-config`, `Debug`, any error) only
//! when its name is on [`SHOWN`], a list of well-known properties that never
//! carry a credential (protocol and mechanism names, file *locations*,
//! timeouts, sizes). Every other value is `<redacted>`.
//!
//! An allow-list rather than a list of secret-sounding words, because the
//! word rule fails open: it missed the misspelled `sasl.pasword` (librdkafka
//! would refuse it, but only after it was printed), `sasl.oauthbearer.config`
//! (`principal=… clientSecret=…`), `sasl.oauthbearer.extensions`, a token
//! endpoint URL with `user:password@`, and whatever property the next
//! librdkafka adds. The allow-list fails closed: an unknown, misspelled or
//! new key is hidden, and the only cost is a redacted value the operator can
//! read in their own file.
//!
//! librdkafka's own error text can quote a value (`Invalid value "…" for
//! configuration property "…"`, `Unsupported SASL mechanism: …`), so errors
//! are rebuilt from the error kind and the key, and any librdkafka text is
//! passed through [`redact_text`], which removes every property value.

use std::collections::BTreeMap;
use std::fmt;

use rdkafka::ClientConfig;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaConfRes;
use serde::{Deserialize, Serialize, Serializer};

/// What a redacted value is printed as.
pub const REDACTED: &str = "<redacted>";

/// librdkafka properties whose values are shown; every other value is
/// redacted (see the module docs for why an allow-list).
pub const SHOWN: &[&str] = &[
    // security: names and file locations, never key material
    "security.protocol",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.username",
    "sasl.kerberos.service.name",
    "sasl.kerberos.principal",
    "sasl.kerberos.keytab",
    "sasl.kerberos.min.time.before.relogin",
    "sasl.oauthbearer.method",
    "sasl.oauthbearer.client.id",
    "sasl.oauthbearer.scope",
    "ssl.ca.location",
    "ssl.certificate.location",
    "ssl.key.location",
    "ssl.keystore.location",
    "ssl.crl.location",
    "ssl.endpoint.identification.algorithm",
    "enable.ssl.certificate.verification",
    "ssl.cipher.suites",
    "ssl.curves.list",
    "ssl.sigalgs.list",
    // connection and consumer tuning
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "max.poll.interval.ms",
    "group.instance.id",
    "group.protocol",
    "partition.assignment.strategy",
    "auto.offset.reset",
    "isolation.level",
    "client.rack",
    "socket.timeout.ms",
    "socket.keepalive.enable",
    "socket.connection.setup.timeout.ms",
    "socket.nagle.disable",
    "socket.send.buffer.bytes",
    "socket.receive.buffer.bytes",
    "connections.max.idle.ms",
    "metadata.max.age.ms",
    "topic.metadata.refresh.interval.ms",
    "topic.metadata.refresh.fast.interval.ms",
    "reconnect.backoff.ms",
    "reconnect.backoff.max.ms",
    "retry.backoff.ms",
    "retry.backoff.max.ms",
    "request.timeout.ms",
    "fetch.wait.max.ms",
    "fetch.min.bytes",
    "fetch.max.bytes",
    "fetch.message.max.bytes",
    "max.partition.fetch.bytes",
    "fetch.error.backoff.ms",
    "fetch.queue.backoff.ms",
    "queued.min.messages",
    "queued.max.messages.kbytes",
    "message.max.bytes",
    "receive.message.max.bytes",
    "check.crcs",
    "broker.address.family",
    "client.dns.lookup",
    "api.version.request",
    "allow.auto.create.topics",
    "debug",
    "log.connection.close",
    // producer (valuepulse emit)
    "acks",
    "enable.idempotence",
    "message.timeout.ms",
    "linger.ms",
    "batch.size",
    "compression.type",
];

/// Whether the value of property `key` may be printed.
pub fn is_shown(key: &str) -> bool {
    SHOWN.contains(&key)
}

/// The `[kafka.properties]` table: librdkafka properties passed through.
///
/// Its `Debug` and `Serialize` print only the values of [`SHOWN`]
/// properties, so neither a log line of the config nor `check-config` can
/// leak a secret; [`KafkaProperties::iter`] gives the real values to the
/// client builders.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct KafkaProperties(BTreeMap<String, String>);

impl KafkaProperties {
    /// `(name, value)` pairs, real values: only for building a client.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }

    /// The names.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.keys()
    }

    /// The real value of one property.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Sets one property.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.insert(key.into(), value.into());
    }

    /// Whether none is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Name → value as it may be printed.
    fn shown(&self) -> BTreeMap<&str, &str> {
        self.0
            .iter()
            .map(|(k, v)| {
                let v = if is_shown(k) { v.as_str() } else { REDACTED };
                (k.as_str(), v)
            })
            .collect()
    }
}

impl<'a> IntoIterator for &'a KafkaProperties {
    type Item = (&'a String, &'a String);
    type IntoIter = std::collections::btree_map::Iter<'a, String, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for KafkaProperties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl fmt::Debug for KafkaProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.shown()).finish()
    }
}

impl Serialize for KafkaProperties {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.shown())
    }
}

/// Rewrites librdkafka (or any) text about `properties` so that it cannot
/// carry a secret: every property value becomes `<redacted>` (all of them,
/// [`SHOWN`] or not: a password pasted into the wrong property is still a
/// password, and the error names the key anyway), and so does every
/// double-quoted word that is not a property name (librdkafka quotes the
/// values it complains about).
pub fn redact_text(text: &str, properties: &KafkaProperties) -> String {
    let mut out = text.to_owned();
    let mut values: Vec<&String> = properties.iter().map(|(_, v)| v).collect();
    // Longest first, so a value that contains another is replaced whole.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for v in values {
        if !v.is_empty() {
            out = out.replace(v.as_str(), REDACTED);
        }
    }
    let mut result = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(open) = rest.find('"') {
        result.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        match after.find('"') {
            Some(close) => {
                let quoted = &after[..close];
                let is_name = is_shown(quoted)
                    || properties.keys().any(|k| k == quoted)
                    || quoted == REDACTED;
                result.push_str(if is_name { quoted } else { REDACTED });
                result.push('"');
                rest = &after[close + 1..];
            }
            None => {
                rest = after;
            }
        }
    }
    result.push_str(rest);
    result
}

/// Why librdkafka refused the properties: the key (or `kafka.properties`)
/// and a message that never holds a value.
pub fn describe_client_error(e: &KafkaError, properties: &KafkaProperties) -> (String, String) {
    match e {
        KafkaError::ClientConfig(code, description, key, _value) => {
            let what = match code {
                RDKafkaConfRes::RD_KAFKA_CONF_UNKNOWN => {
                    "is not a librdkafka property (misspelled?)".to_owned()
                }
                RDKafkaConfRes::RD_KAFKA_CONF_INVALID => format!(
                    "librdkafka refuses its value (not shown): {}",
                    redact_text(description, properties)
                ),
                RDKafkaConfRes::RD_KAFKA_CONF_OK => format!(
                    "librdkafka refuses it: {}",
                    redact_text(description, properties)
                ),
            };
            (format!("kafka.properties.{key}"), what)
        }
        other => (
            "kafka.properties".to_owned(),
            format!(
                "librdkafka cannot create a client with these properties: {}",
                redact_text(&other.to_string(), properties)
            ),
        ),
    }
}

/// Creates (without connecting) a consumer with `properties` and the ones
/// valuepulse sets, so an unknown or malformed property is refused at load,
/// naming its key, before anything starts.
pub fn check_librdkafka(
    properties: &KafkaProperties,
    brokers: &str,
    group_id: &str,
) -> Result<(), (String, String)> {
    let mut c = ClientConfig::new();
    for (k, v) in properties {
        c.set(k, v);
    }
    c.set("bootstrap.servers", brokers)
        .set("group.id", group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set_log_level(RDKafkaLogLevel::Emerg);
    c.create::<rdkafka::consumer::BaseConsumer>()
        .map(drop)
        .map_err(|e| describe_client_error(&e, properties))
}

#[cfg(test)]
mod tests;
