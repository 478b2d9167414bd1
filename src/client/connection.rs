//! One Kafka connection over a blocking TCP socket; frames, headers and bodies go through
//! kafka-protocol's codecs. It splits into a writing half and a reading half so a producer keeps several
//! requests in flight while another thread reads the answers (a broker answers in request order).
//!
//! Each API is spoken at one fixed version (`VERSIONS`); at connect the broker's ApiVersions answer is
//! kept, and a request whose version the broker does not offer fails with `Unsupported` before it is
//! sent (`require` checks a whole set up front, `supports` asks without failing).

use super::error::ClientError;
use super::transport::{self, ReadHalf, WriteHalf};
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use rustls::ClientConfig;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

/// The version spoken for each API: one that both shardlog and Apache Kafka 4.x answer, with topic
/// *names* (Produce v13 and Fetch v13+ switch to topic ids; OffsetFetch/OffsetCommit v10 too).
pub const VERSIONS: &[(ApiKey, i16)] = &[
    (ApiKey::Produce, 12),
    (ApiKey::Fetch, 12),
    (ApiKey::ListOffsets, 6),
    (ApiKey::Metadata, 12),
    (ApiKey::ApiVersions, 3),
    (ApiKey::CreateTopics, 7),
    (ApiKey::DeleteTopics, 4),
    (ApiKey::CreatePartitions, 3),
    (ApiKey::DescribeConfigs, 4),
    (ApiKey::IncrementalAlterConfigs, 1),
    (ApiKey::DescribeCluster, 1),
    (ApiKey::DescribeLogDirs, 4),
    (ApiKey::FindCoordinator, 4),
    (ApiKey::OffsetCommit, 8),
    (ApiKey::OffsetFetch, 8),
    (ApiKey::ListGroups, 4),
    (ApiKey::DescribeGroups, 5),
    (ApiKey::DeleteGroups, 2),
    (ApiKey::DescribeUserScramCredentials, 0),
    (ApiKey::AlterUserScramCredentials, 0),
    (ApiKey::CreateAcls, 3),
    (ApiKey::DescribeAcls, 3),
    (ApiKey::DeleteAcls, 3),
    (ApiKey::SaslHandshake, 1),
    (ApiKey::SaslAuthenticate, 2),
];

/// How long connecting may take before the broker counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Fetch answers are at most `fetch.max.bytes` plus one batch, requests at most `max.request.size`;
/// anything bigger is a broken stream.
const MAX_FRAME_BYTES: i32 = 256 << 20;

/// The version spoken for API `key` (every key a client here sends is in `VERSIONS`).
pub fn version_of(key: ApiKey) -> i16 {
    VERSIONS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(0, |&(_, v)| v)
}

fn api_key<R: Request>() -> ApiKey {
    // Every Request type's KEY is a valid ApiKey; the fallback is never taken.
    ApiKey::try_from(R::KEY).unwrap_or(ApiKey::ApiVersions)
}

/// The API versions a broker offers: (key, min, max).
#[derive(Clone, Default)]
pub struct Offered(Vec<(i16, i16, i16)>);

impl Offered {
    /// Whether the broker speaks `key` at the version in `VERSIONS`.
    pub fn supports(&self, key: ApiKey) -> bool {
        let version = version_of(key);
        self.0
            .iter()
            .any(|&(k, min, max)| k == key as i16 && (min..=max).contains(&version))
    }

    fn check(&self, key: ApiKey) -> Result<(), ClientError> {
        match self.supports(key) || key == ApiKey::ApiVersions {
            true => Ok(()),
            false => Err(ClientError::Unsupported {
                api: key,
                version: version_of(key),
            }),
        }
    }
}

pub struct Connection {
    writer: RequestWriter,
    reader: ResponseReader,
}

impl Connection {
    /// Connects (trying each address `addr` resolves to) with Nagle off — requests are whole frames
    /// written at once —, runs the TLS handshake when `tls` is given, and asks which API versions the
    /// broker speaks. `client_id` names us in every request header.
    pub fn connect(
        addr: &str,
        client_id: &'static str,
        tls: Option<&Arc<ClientConfig>>,
    ) -> Result<Connection, ClientError> {
        let connect_error = |source| ClientError::Connect {
            addr: addr.to_string(),
            source,
        };
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address resolved");
        let mut connected = None;
        for a in addr.to_socket_addrs().map_err(connect_error)? {
            match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
                Ok(s) => {
                    connected = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let stream = connected.ok_or_else(|| connect_error(last))?;
        stream.set_nodelay(true)?;
        let (reader, writer) = transport::open(stream, addr, tls, CONNECT_TIMEOUT)?;
        let mut conn = Connection {
            reader: ResponseReader {
                stream: reader,
                buf: BytesMut::new(),
            },
            writer: RequestWriter {
                stream: writer,
                client_id,
                offered: Offered::default(),
                next_correlation_id: 0,
                frame: BytesMut::new(),
            },
        };
        // A broker that refuses our TLS client certificate says so after the handshake, in an alert
        // read here: that is a TLS failure, not a broken stream.
        conn.writer.offered = conn.api_versions().map_err(|e| match e {
            ClientError::Io(io)
                if tls.is_some() && io.kind() == std::io::ErrorKind::InvalidData =>
            {
                ClientError::Tls {
                    addr: addr.to_string(),
                    detail: io.to_string(),
                }
            }
            e => e,
        })?;
        Ok(conn)
    }

    fn api_versions(&mut self) -> Result<Offered, ClientError> {
        let mut req = ApiVersionsRequest::default();
        req.client_software_name = StrBytes::from_static_str(self.writer.client_id);
        req.client_software_version = StrBytes::from_static_str(env!("CARGO_PKG_VERSION"));
        let resp = self.call(&req)?;
        ClientError::check(resp.error_code, || "ApiVersions".into())?;
        Ok(Offered(
            resp.api_keys
                .iter()
                .map(|k| (k.api_key, k.min_version, k.max_version))
                .collect(),
        ))
    }

    /// Fails with `Unsupported` unless the broker speaks every API in `keys` at our version.
    pub fn require(&self, keys: &[ApiKey]) -> Result<(), ClientError> {
        keys.iter().try_for_each(|&k| self.writer.offered.check(k))
    }

    /// Whether the broker speaks `key` at our version.
    pub fn supports(&self, key: ApiKey) -> bool {
        self.writer.offered.supports(key)
    }

    /// One request, one answer.
    pub fn call<R: Request>(&mut self, req: &R) -> Result<R::Response, ClientError> {
        let id = self.writer.send(req)?;
        self.reader.receive::<R>(id)
    }

    /// One request that gets no answer (a produce request with acks=0).
    pub fn send<R: Request>(&mut self, req: &R) -> Result<(), ClientError> {
        self.writer.send(req).map(drop)
    }

    /// Gives up on a read after `timeout` (`None`: waits as long as it takes).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<(), ClientError> {
        Ok(self.reader.stream.socket().set_read_timeout(timeout)?)
    }

    pub fn split(self) -> (RequestWriter, ResponseReader) {
        (self.writer, self.reader)
    }
}

pub struct RequestWriter {
    stream: WriteHalf,
    client_id: &'static str,
    offered: Offered,
    next_correlation_id: i32,
    /// Reused between requests: a produce request is encoded here whole, then written with one call.
    frame: BytesMut,
}

impl RequestWriter {
    /// Writes one request; returns its correlation id, which the answer must carry.
    pub fn send<R: Request>(&mut self, req: &R) -> Result<i32, ClientError> {
        let key = api_key::<R>();
        self.offered.check(key)?;
        let version = version_of(key);
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let mut header = RequestHeader::default();
        header.request_api_key = R::KEY;
        header.request_api_version = version;
        header.correlation_id = self.next_correlation_id;
        header.client_id = Some(StrBytes::from_static_str(self.client_id));
        encode_frame(
            &mut self.frame,
            (&header, R::header_version(version)),
            (req, version),
        )?;
        self.stream.write_all(&self.frame)?;
        Ok(self.next_correlation_id)
    }
}

/// Encodes one frame into `frame` (cleared first): the 4-byte length, then the header and the body, each
/// at its version.
pub fn encode_frame<H: Encodable, B: Encodable>(
    frame: &mut BytesMut,
    (header, header_version): (&H, i16),
    (body, version): (&B, i16),
) -> Result<(), ClientError> {
    frame.clear();
    frame.put_i32(0);
    header
        .encode(frame, header_version)
        .map_err(|e| ClientError::encode("a frame header", e))?;
    body.encode(frame, version)
        .map_err(|e| ClientError::encode("a frame body", e))?;
    let len =
        i32::try_from(frame.len() - 4).map_err(|e| ClientError::encode("a frame length", e))?;
    frame[..4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Reads one frame (without its length prefix) into `buf`. The buffer is reused: once every `Bytes` of
/// the previous frame has been dropped, the next frame lands in the same memory. A fresh allocation per
/// response (tens of MiB for a catch-up fetch) costs more in page faults than reading the socket does.
pub fn read_frame(stream: &mut impl Read, buf: &mut BytesMut) -> Result<Bytes, ClientError> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let len = i32::from_be_bytes(len);
    if !(0..=MAX_FRAME_BYTES).contains(&len) {
        return Err(ClientError::FrameSize(len));
    }
    buf.clear();
    buf.resize(len as usize, 0);
    stream.read_exact(buf)?;
    Ok(buf.split().freeze())
}

pub struct ResponseReader {
    stream: ReadHalf,
    /// Where responses are read; see `read_frame`.
    buf: BytesMut,
}

impl ResponseReader {
    /// Reads the next answer, which must be the one to request `correlation_id` of type `R`.
    pub fn receive<R: Request>(&mut self, correlation_id: i32) -> Result<R::Response, ClientError> {
        let key = api_key::<R>();
        let version = version_of(key);
        let mut frame = read_frame(&mut self.stream, &mut self.buf)?;
        let header_version = <R::Response as HeaderVersion>::header_version(version);
        let header = ResponseHeader::decode(&mut frame, header_version)
            .map_err(|e| ClientError::decode("a response header", e))?;
        if header.correlation_id != correlation_id {
            return Err(ClientError::Correlation {
                got: header.correlation_id,
                expected: correlation_id,
            });
        }
        R::Response::decode(&mut frame, version)
            .map_err(|e| ClientError::decode(format!("{key:?} response"), e))
    }
}
