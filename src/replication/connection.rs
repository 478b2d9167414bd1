//! A follower shard's connection to a leader broker: one request at a time over a glommio socket,
//! framed and encoded like any Kafka client's (the codecs of `client::connection`).

use crate::client::connection::encode_frame;
use crate::client::ClientError;
use bytes::{Bytes, BytesMut};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use kafka_protocol::messages::{RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, HeaderVersion, Request, StrBytes};
use std::time::Duration;
use thiserror::Error;

/// Fetch answers are bounded by the request's max_bytes; anything far bigger is a broken stream.
const MAX_FRAME_BYTES: usize = 256 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Error)]
pub enum LinkError {
    #[error("cannot reach {address}: {source}")]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("frame of {0} bytes")]
    FrameSize(usize),
    #[error(transparent)]
    Codec(#[from] ClientError),
    #[error("answer for correlation id {got}, expected {expected}")]
    Correlation { got: i32, expected: i32 },
}

pub struct LeaderLink {
    stream: TcpStream,
    next_correlation_id: i32,
    frame: BytesMut,
}

impl LeaderLink {
    pub async fn connect(address: &str) -> Result<LeaderLink, LinkError> {
        let stream = TcpStream::connect_timeout(address, CONNECT_TIMEOUT)
            .await
            .map_err(|e| LinkError::Connect {
                address: address.to_string(),
                source: e.into(),
            })?;
        stream.set_nodelay(true).map_err(std::io::Error::from)?;
        Ok(LeaderLink {
            stream,
            next_correlation_id: 0,
            frame: BytesMut::new(),
        })
    }

    /// Sends `req` at `version` and waits up to `timeout` for its answer.
    pub async fn request<R: Request>(
        &mut self,
        req: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response, LinkError> {
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let mut header = RequestHeader::default();
        header.request_api_key = R::KEY;
        header.request_api_version = version;
        header.correlation_id = self.next_correlation_id;
        header.client_id = Some(StrBytes::from_static_str("shardlog-replica-fetcher"));
        encode_frame(
            &mut self.frame,
            (&header, R::header_version(version)),
            (req, version),
        )?;
        self.stream.write_all(&self.frame).await?;
        let mut frame = futures_lite::future::or(async { Some(self.read_frame().await) }, async {
            glommio::timer::sleep(timeout).await;
            None
        })
        .await
        .ok_or(LinkError::Timeout(timeout))??;
        let header_version = <R::Response as HeaderVersion>::header_version(version);
        let header = ResponseHeader::decode(&mut frame, header_version)
            .map_err(|e| ClientError::decode("a response header", e))?;
        if header.correlation_id != self.next_correlation_id {
            return Err(LinkError::Correlation {
                got: header.correlation_id,
                expected: self.next_correlation_id,
            });
        }
        Ok(R::Response::decode(&mut frame, version)
            .map_err(|e| ClientError::decode("a response body", e))?)
    }

    async fn read_frame(&mut self) -> Result<Bytes, LinkError> {
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).await?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_FRAME_BYTES {
            return Err(LinkError::FrameSize(len));
        }
        let mut buf = vec![0u8; len];
        self.stream.read_exact(&mut buf).await?;
        Ok(Bytes::from(buf))
    }
}
