//! Arbitrary bytes as one request frame (length prefix already stripped, as the connection hands it
//! over), through exactly the broker's pre-dispatch decoding, plus the produce path's batch parser.
//! Nothing here may panic: bad input must become an error the broker turns into a closed connection.
#![no_main]

use bytes::Bytes;
use kafka_protocol::messages::RequestKind;
use libfuzzer_sys::fuzz_target;
use shardlog::kafka::decode_request;
use shardlog::storage::batch::validate_record_set;
use shardlog_fuzz::with_valid_crcs;

/// message.max.bytes default: what `produce` passes as the batch size limit.
const MAX_MESSAGE_BYTES: usize = 1_048_588;

fuzz_target!(|data: &[u8]| {
    let frame = Bytes::copy_from_slice(data);

    // The batch parser on the raw bytes as a record set, also with its CRCs fixed up to get past the
    // CRC check. First, so that an input the decoder aborts on still exercises it.
    let _ = validate_record_set(&frame, MAX_MESSAGE_BYTES);
    let _ = validate_record_set(&Bytes::from(with_valid_crcs(data)), MAX_MESSAGE_BYTES);

    // The produce path: every partition's record set of a decoded Produce request is validated.
    if let Ok((_ctx, RequestKind::Produce(request))) = decode_request(frame) {
        for topic in request.topic_data {
            for partition in topic.partition_data {
                if let Some(records) = partition.records {
                    let _ = validate_record_set(&records, MAX_MESSAGE_BYTES);
                }
            }
        }
    }
});
