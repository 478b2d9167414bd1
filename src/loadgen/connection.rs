//! One Kafka connection over a blocking TCP socket; frames, headers and bodies go through
//! kafka-protocol's codecs. It splits into a writing half and a reading half so a producer keeps several
//! requests in flight while another thread reads the answers (a broker answers in request order).

use super::error::BenchError;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use std::io::{Read, Write};
use std::net::TcpStream;

/// The version spoken for each API: the newest that both shardlog and Apache Kafka 4.x answer with topic
/// *names* (Produce v13 and Fetch v13+ switch to topic ids). Checked against ApiVersions at connect.
pub const VERSIONS: &[(ApiKey, i16)] = &[
    (ApiKey::Produce, 12),
    (ApiKey::Fetch, 12),
    (ApiKey::ListOffsets, 6),
    (ApiKey::Metadata, 12),
    (ApiKey::ApiVersions, 3),
    (ApiKey::CreateTopics, 7),
    (ApiKey::DeleteTopics, 4),
];

/// Fetch answers are at most `fetch.max.bytes` plus one batch, requests at most `max.request.size`;
/// anything bigger is a broken stream.
const MAX_FRAME_BYTES: i32 = 256 << 20;

const CLIENT_ID: &str = "shardlog-bench";

/// The version spoken for API `key` (every key the load generator sends is in `VERSIONS`).
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

pub struct Connection {
    writer: RequestWriter,
    reader: ResponseReader,
}

impl Connection {
    /// Connects with Nagle off (requests are whole frames written at once) and checks that the broker
    /// speaks every version in `VERSIONS`.
    pub fn connect(addr: &str) -> Result<Connection, BenchError> {
        let stream = TcpStream::connect(addr).map_err(|source| BenchError::Connect {
            addr: addr.to_string(),
            source,
        })?;
        stream.set_nodelay(true)?;
        let mut conn = Connection {
            reader: ResponseReader {
                stream: stream.try_clone()?,
            },
            writer: RequestWriter {
                stream,
                next_correlation_id: 0,
                frame: BytesMut::new(),
            },
        };
        conn.check_versions()?;
        Ok(conn)
    }

    fn check_versions(&mut self) -> Result<(), BenchError> {
        let mut req = ApiVersionsRequest::default();
        req.client_software_name = StrBytes::from_static_str(CLIENT_ID);
        req.client_software_version = StrBytes::from_static_str(env!("CARGO_PKG_VERSION"));
        let resp = self.call(&req)?;
        if resp.error_code != 0 {
            return Err(BenchError::Broker {
                what: "ApiVersions".into(),
                code: resp.error_code,
            });
        }
        for &(key, version) in VERSIONS {
            let offered = resp.api_keys.iter().any(|k| {
                k.api_key == key as i16 && (k.min_version..=k.max_version).contains(&version)
            });
            if !offered {
                return Err(BenchError::Unsupported { api: key, version });
            }
        }
        Ok(())
    }

    /// One request, one answer.
    pub fn call<R: Request>(&mut self, req: &R) -> Result<R::Response, BenchError> {
        let id = self.writer.send(req)?;
        self.reader.receive::<R>(id)
    }

    pub fn split(self) -> (RequestWriter, ResponseReader) {
        (self.writer, self.reader)
    }
}

pub struct RequestWriter {
    stream: TcpStream,
    next_correlation_id: i32,
    /// Reused between requests: a produce request is encoded here whole, then written with one call.
    frame: BytesMut,
}

impl RequestWriter {
    /// Writes one request; returns its correlation id, which the answer must carry.
    pub fn send<R: Request>(&mut self, req: &R) -> Result<i32, BenchError> {
        let key = api_key::<R>();
        let version = version_of(key);
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let mut header = RequestHeader::default();
        header.request_api_key = R::KEY;
        header.request_api_version = version;
        header.correlation_id = self.next_correlation_id;
        header.client_id = Some(StrBytes::from_static_str(CLIENT_ID));
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
) -> Result<(), BenchError> {
    frame.clear();
    frame.put_i32(0);
    header
        .encode(frame, header_version)
        .map_err(|e| BenchError::encode("a frame header", e))?;
    body.encode(frame, version)
        .map_err(|e| BenchError::encode("a frame body", e))?;
    let len =
        i32::try_from(frame.len() - 4).map_err(|e| BenchError::encode("a frame length", e))?;
    frame[..4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Reads one frame (without its length prefix).
pub fn read_frame(stream: &mut impl Read) -> Result<Bytes, BenchError> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let len = i32::from_be_bytes(len);
    if !(0..=MAX_FRAME_BYTES).contains(&len) {
        return Err(BenchError::FrameSize(len));
    }
    let mut body = vec![0u8; len as usize];
    stream.read_exact(&mut body)?;
    Ok(Bytes::from(body))
}

pub struct ResponseReader {
    stream: TcpStream,
}

impl ResponseReader {
    /// Reads the next answer, which must be the one to request `correlation_id` of type `R`.
    pub fn receive<R: Request>(&mut self, correlation_id: i32) -> Result<R::Response, BenchError> {
        let key = api_key::<R>();
        let version = version_of(key);
        let mut frame = read_frame(&mut self.stream)?;
        let header_version = <R::Response as HeaderVersion>::header_version(version);
        let header = ResponseHeader::decode(&mut frame, header_version)
            .map_err(|e| BenchError::decode("a response header", e))?;
        if header.correlation_id != correlation_id {
            return Err(BenchError::Correlation {
                got: header.correlation_id,
                expected: correlation_id,
            });
        }
        R::Response::decode(&mut frame, version)
            .map_err(|e| BenchError::decode(format!("{key:?} response"), e))
    }
}
