//! `--null-broker`: an in-process sink on a loopback port that answers just enough of the protocol for
//! producers (ApiVersions, Metadata, CreateTopics, DeleteTopics, ListOffsets, Produce) and stores
//! nothing. Producing to it measures the load generator itself — making records, batching, encoding, the
//! socket — so a broker result can be read against the client's own ceiling. It decodes each produce
//! request (kafka-protocol, no record parsing) to answer it, about the least any broker must do.

use super::error::BenchError;
use crate::client::connection::{encode_frame, read_frame, VERSIONS};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, CreateTopicsResponse, DeleteTopicsResponse,
    ListOffsetsResponse, MetadataResponse, ProduceResponse, RequestHeader, RequestKind,
    ResponseHeader,
};
use kafka_protocol::protocol::{decode_request_header_from_buffer, Encodable, StrBytes};
use std::net::{SocketAddr, TcpListener, TcpStream};
use tracing::debug;

pub struct NullBroker {
    addr: SocketAddr,
}

impl NullBroker {
    /// Listens on an ephemeral loopback port; every topic asked about has `partitions` partitions.
    pub fn start(partitions: i32) -> Result<NullBroker, BenchError> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        // Detached: the sink lives as long as the bench process.
        std::thread::Builder::new()
            .name("null-broker".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    let sink = Sink {
                        addr,
                        partitions,
                        frame: BytesMut::new(),
                        request: BytesMut::new(),
                    };
                    let _ = std::thread::Builder::new()
                        .name("null-broker-conn".into())
                        .spawn(move || sink.serve(stream));
                }
            })?;
        Ok(NullBroker { addr })
    }

    pub fn addr(&self) -> String {
        self.addr.to_string()
    }
}

struct Sink {
    addr: SocketAddr,
    partitions: i32,
    frame: BytesMut,
    /// Where requests are read (reused, see `read_frame`).
    request: BytesMut,
}

impl Sink {
    fn serve(mut self, mut stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        loop {
            if let Err(e) = self.answer_one(&mut stream) {
                debug!("null broker connection ends: {e}");
                return;
            }
        }
    }

    fn answer_one(&mut self, stream: &mut TcpStream) -> Result<(), BenchError> {
        let mut frame: Bytes = read_frame(stream, &mut self.request)?;
        let header = decode_request_header_from_buffer(&mut frame)
            .map_err(|e| BenchError::decode("a request header", e))?;
        let key = ApiKey::try_from(header.request_api_key)
            .map_err(|_| BenchError::decode("a request header", "unknown API key"))?;
        let version = header.request_api_version;
        let request = RequestKind::decode(key, &mut frame, version)
            .map_err(|e| BenchError::decode(format!("a {key:?} request"), e))?;
        match request {
            RequestKind::ApiVersions(_) => self.reply(stream, &header, &api_versions()),
            RequestKind::Metadata(req) => {
                let names = req.topics.unwrap_or_default().into_iter();
                let resp = self.metadata(names.filter_map(|t| t.name).map(|n| n.0));
                self.reply(stream, &header, &resp)
            }
            RequestKind::CreateTopics(req) => {
                let mut resp = CreateTopicsResponse::default();
                resp.topics = req
                    .topics
                    .into_iter()
                    .map(|t| {
                        let mut r = CreatableTopicResult::default();
                        r.name = t.name;
                        r.num_partitions = self.partitions;
                        r.replication_factor = 1;
                        r
                    })
                    .collect();
                self.reply(stream, &header, &resp)
            }
            RequestKind::ListOffsets(req) => {
                let mut resp = ListOffsetsResponse::default();
                resp.topics = req.topics.into_iter().map(list_offsets_topic).collect();
                self.reply(stream, &header, &resp)
            }
            RequestKind::DeleteTopics(_) => {
                self.reply(stream, &header, &DeleteTopicsResponse::default())
            }
            RequestKind::Produce(req) if req.acks == 0 => Ok(()),
            RequestKind::Produce(req) => {
                let mut resp = ProduceResponse::default();
                resp.responses = req
                    .topic_data
                    .into_iter()
                    .map(|t| {
                        let mut r = TopicProduceResponse::default();
                        r.name = t.name;
                        r.partition_responses = t
                            .partition_data
                            .iter()
                            .map(|p| {
                                let mut pr = PartitionProduceResponse::default();
                                pr.index = p.index;
                                pr
                            })
                            .collect();
                        r
                    })
                    .collect();
                self.reply(stream, &header, &resp)
            }
            other => Err(BenchError::decode(
                "a request",
                format!("the null broker does not answer {other:?}"),
            )),
        }
    }

    fn reply<R: Encodable>(
        &mut self,
        stream: &mut TcpStream,
        request: &RequestHeader,
        body: &R,
    ) -> Result<(), BenchError> {
        let key = ApiKey::try_from(request.request_api_key)
            .map_err(|_| BenchError::decode("a request header", "unknown API key"))?;
        let version = request.request_api_version;
        let mut header = ResponseHeader::default();
        header.correlation_id = request.correlation_id;
        encode_frame(
            &mut self.frame,
            (&header, key.response_header_version(version)),
            (body, version),
        )?;
        std::io::Write::write_all(stream, &self.frame)?;
        Ok(())
    }

    fn metadata(&self, topics: impl Iterator<Item = StrBytes>) -> MetadataResponse {
        let mut broker = MetadataResponseBroker::default();
        broker.node_id = BrokerId(0);
        broker.host = StrBytes::from_string(self.addr.ip().to_string());
        broker.port = i32::from(self.addr.port());
        let mut resp = MetadataResponse::default();
        resp.brokers = vec![broker];
        resp.controller_id = BrokerId(0);
        resp.topics = topics
            .map(|name| {
                let mut t = MetadataResponseTopic::default();
                t.name = Some(kafka_protocol::messages::TopicName(name));
                t.partitions = (0..self.partitions)
                    .map(|i| {
                        let mut p = MetadataResponsePartition::default();
                        p.partition_index = i;
                        p.leader_id = BrokerId(0);
                        p.replica_nodes = vec![BrokerId(0)];
                        p.isr_nodes = vec![BrokerId(0)];
                        p
                    })
                    .collect();
                t
            })
            .collect();
        resp
    }
}

fn api_versions() -> ApiVersionsResponse {
    let mut resp = ApiVersionsResponse::default();
    resp.api_keys = VERSIONS
        .iter()
        .map(|&(key, version)| {
            let mut v = ApiVersion::default();
            v.api_key = key as i16;
            v.min_version = version;
            v.max_version = version;
            v
        })
        .collect();
    resp
}

fn list_offsets_topic(
    t: kafka_protocol::messages::list_offsets_request::ListOffsetsTopic,
) -> ListOffsetsTopicResponse {
    let mut r = ListOffsetsTopicResponse::default();
    r.name = t.name;
    r.partitions = t
        .partitions
        .iter()
        .map(|p| {
            let mut pr = ListOffsetsPartitionResponse::default();
            pr.partition_index = p.partition_index;
            pr.timestamp = -1;
            pr
        })
        .collect();
    r
}
